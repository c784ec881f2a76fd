package dev.roundhouse.proxy.codec;

import io.undertow.server.HttpServerExchange;
import io.undertow.util.Headers;

/** Short plain-text answers the proxy gives itself: errors, health, readiness. */
public final class Responses {

    private Responses() {}

    /**
     * An answer of the proxy's own to a gRPC call, in gRPC's trailers-only form: HTTP 200 with {@code grpc-status}
     * {@code code} and {@code text} as {@code grpc-message}, which is what a gRPC client reads.
     */
    public static void grpc(HttpServerExchange exchange, int code, String text) {
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
