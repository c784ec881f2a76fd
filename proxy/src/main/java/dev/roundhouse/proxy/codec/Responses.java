package dev.roundhouse.proxy.codec;

import io.undertow.server.HttpServerExchange;
import io.undertow.util.Headers;

/** Short plain-text answers the proxy gives itself: errors, health, readiness. */
public final class Responses {

    private Responses() {}

    /** The gRPC status {@link #error} answers a gRPC call with for {@code status}; -1 for any other request. */
    public static int grpcStatus(HttpServerExchange exchange, int status) {
        return Grpc.isCall(exchange.getRequestHeaders()) ? Grpc.forHttpStatus(status) : -1;
    }

    /**
     * An error answer of the proxy's own: to a gRPC call a trailers-only gRPC answer (HTTP 200 with
     * {@code grpc-status} ({@link #grpcStatus}) and {@code grpc-message}, which is what its client reads), else
     * {@link #plain}.
     */
    public static void error(HttpServerExchange exchange, int status, String text) {
        int code = grpcStatus(exchange, status);
        if (code < 0) {
            plain(exchange, status, text);
            return;
        }
        exchange.setStatusCode(200);
        exchange.getResponseHeaders().put(Headers.CONTENT_TYPE, "application/grpc");
        exchange.getResponseHeaders().put(Grpc.STATUS, Integer.toString(code));
        exchange.getResponseHeaders().put(Grpc.MESSAGE, Grpc.encodeMessage(text));
        exchange.getResponseHeaders().put(Headers.CONTENT_LENGTH, 0);
        exchange.endExchange();
    }

    public static void plain(HttpServerExchange exchange, int status, String text) {
        exchange.setStatusCode(status);
        exchange.getResponseHeaders().put(Headers.CONTENT_TYPE, "text/plain; charset=utf-8");
        exchange.getResponseSender().send(text + "\n");
    }
}
