package dev.roundhouse.proxy.codec;

import io.undertow.server.HttpServerExchange;
import io.undertow.util.Headers;

/** Short plain-text answers the proxy gives itself: errors, health, readiness. */
public final class Responses {

    private Responses() {}

    public static void plain(HttpServerExchange exchange, int status, String text) {
        exchange.setStatusCode(status);
        exchange.getResponseHeaders().put(Headers.CONTENT_TYPE, "text/plain; charset=utf-8");
        exchange.getResponseSender().send(text + "\n");
    }
}
