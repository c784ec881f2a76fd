package dev.roundhouse.proxy.server;

import dev.roundhouse.proxy.codec.Responses;
import dev.roundhouse.proxy.metrics.ProxyMetrics;
import io.undertow.server.HttpHandler;
import io.undertow.server.HttpServerExchange;
import io.undertow.util.Headers;
import java.util.function.IntSupplier;

/**
 * {@code TLS_REDIRECT}: every request on the plain port gets a 308 to the same host, path and query over HTTPS
 * (308, not 301, so that a POST stays a POST with its body); requests that came over TLS go on. Behind the request
 * guard, so a hostile request is refused as on any port; the answer is counted as a request the proxy answered
 * itself (backend {@code none}).
 */
public final class HttpsRedirect implements HttpHandler {

    private final HttpHandler next;
    private final IntSupplier httpsPort;
    private final ProxyMetrics metrics;

    /** @param httpsPort the port clients are sent to (443 is left out of the URL) */
    public HttpsRedirect(HttpHandler next, IntSupplier httpsPort, ProxyMetrics metrics) {
        this.next = next;
        this.httpsPort = httpsPort;
        this.metrics = metrics;
    }

    @Override
    public void handleRequest(HttpServerExchange exchange) throws Exception {
        if (exchange.getConnection().getSslSessionInfo() != null) {
            next.handleRequest(exchange);
            return;
        }
        RequestGuard.countAnsweredHere(exchange, metrics, null);
        if (exchange.getRequestContentLength() > 0
                || exchange.getRequestHeaders().contains(Headers.TRANSFER_ENCODING)) {
            exchange.setPersistent(false); // the body is not read: the client sends it again over HTTPS
        }
        String host = exchange.getRequestHeaders().getFirst(Headers.HOST);
        if (host == null || host.isBlank()) {
            Responses.plain(exchange, 400, "bad request: a redirect to HTTPS needs the Host header");
            return;
        }
        int port = httpsPort.getAsInt();
        StringBuilder location = new StringBuilder("https://").append(hostName(host.trim()));
        if (port != 443) {
            location.append(':').append(port);
        }
        location.append(exchange.getRequestURI());
        String query = exchange.getQueryString();
        if (query != null && !query.isEmpty()) {
            location.append('?').append(query);
        }
        exchange.getResponseHeaders().put(Headers.LOCATION, location.toString());
        Responses.plain(exchange, 308, "permanent redirect: this site is served over HTTPS");
    }

    /** The Host header without its port: {@code example.com:8080} and {@code [::1]:8080} lose the {@code :8080}. */
    static String hostName(String host) {
        int colon = host.lastIndexOf(':');
        if (colon < 0 || host.indexOf(']') > colon) {
            return host;
        }
        return host.substring(0, colon);
    }
}
