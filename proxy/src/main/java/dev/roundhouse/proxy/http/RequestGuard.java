package dev.roundhouse.proxy.http;

import io.undertow.server.HttpHandler;
import io.undertow.server.HttpServerExchange;
import io.undertow.util.HeaderValues;
import io.undertow.util.Headers;

/**
 * Refuses requests whose body framing two parsers could read differently, the root of request
 * smuggling (RFC 9112 section 6.3): Content-Length together with Transfer-Encoding, several or
 * malformed Content-Length values, and any transfer coding but a single "chunked". Refused requests
 * get 400 and their connection is closed, since where their body ends is unknown. Connections that
 * carried a chunked body are closed after the response.
 */
final class RequestGuard implements HttpHandler {

    private final HttpHandler next;

    RequestGuard(HttpHandler next) {
        this.next = next;
    }

    @Override
    public void handleRequest(HttpServerExchange exchange) throws Exception {
        String problem = framingProblem(exchange);
        if (problem != null) {
            exchange.setPersistent(false);
            Responses.plain(exchange, 400, "bad request: " + problem);
            return;
        }
        if (exchange.getRequestHeaders().contains(Headers.TRANSFER_ENCODING)) {
            // Undertow's chunk parser is lenient (a size line without digits reads as the last
            // chunk); closing after a chunked request means bytes a stricter parser would count as
            // body can never be read here as a second, smuggled request.
            exchange.setPersistent(false);
        }
        next.handleRequest(exchange);
    }

    static String framingProblem(HttpServerExchange exchange) {
        HeaderValues contentLength = exchange.getRequestHeaders().get(Headers.CONTENT_LENGTH);
        HeaderValues transferEncoding = exchange.getRequestHeaders().get(Headers.TRANSFER_ENCODING);
        if (contentLength != null && transferEncoding != null) {
            return "both Content-Length and Transfer-Encoding";
        }
        if (contentLength != null) {
            if (contentLength.size() != 1) {
                return "more than one Content-Length";
            }
            String value = contentLength.getFirst();
            if (value.isEmpty() || value.length() > 18 || !value.chars().allMatch(c -> c >= '0' && c <= '9')) {
                return "invalid Content-Length";
            }
        }
        if (transferEncoding != null
                && (transferEncoding.size() != 1 || !transferEncoding.getFirst().equalsIgnoreCase("chunked"))) {
            return "unsupported Transfer-Encoding (only a single 'chunked' is accepted)";
        }
        return null;
    }
}
