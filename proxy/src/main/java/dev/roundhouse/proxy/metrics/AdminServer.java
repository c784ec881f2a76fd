package dev.roundhouse.proxy.metrics;

import dev.roundhouse.proxy.codec.Responses;
import io.undertow.Undertow;
import io.undertow.server.HttpServerExchange;
import io.undertow.util.Headers;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * The operations port: {@code /metrics} (Prometheus text format), {@code /healthz} (the process
 * serves: 503 when an I/O thread is stuck) and {@code /readyz} (a pool is loaded and the proxy is not draining). Kept apart from the
 * traffic port so scrapes and probes never queue behind client requests.
 */
public final class AdminServer implements AutoCloseable {

    private static final String PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8";

    private final Undertow server;
    private final String host;
    private final int requestedPort;

    /**
     * @param ready whether the proxy takes traffic
     * @param unhealthy why the proxy cannot serve (a stuck I/O thread), or null while it can
     */
    public AdminServer(String host, int port, ProxyMetrics metrics, BooleanSupplier ready, Supplier<String> unhealthy) {
        this.host = host;
        this.requestedPort = port;
        server = Undertow.builder()
                .addHttpListener(port, host)
                .setIoThreads(1)
                .setWorkerThreads(2)
                .setHandler(exchange -> route(exchange, metrics, ready, unhealthy))
                .build();
    }

    private static void route(
            HttpServerExchange exchange, ProxyMetrics metrics, BooleanSupplier ready, Supplier<String> unhealthy) {
        switch (exchange.getRequestPath()) {
            case "/metrics" -> {
                if (exchange.isInIoThread()) {
                    // scraping is work: off the I/O thread
                    exchange.dispatch(() -> route(exchange, metrics, ready, unhealthy));
                    return;
                }
                exchange.getResponseHeaders().put(Headers.CONTENT_TYPE, PROMETHEUS_TEXT);
                exchange.getResponseSender().send(metrics.scrape());
            }
            case "/healthz" -> {
                String why = unhealthy.get();
                if (why == null) {
                    Responses.plain(exchange, 200, "ok");
                } else {
                    Responses.plain(exchange, 503, "unhealthy: " + why);
                }
            }
            case "/readyz" -> {
                if (ready.getAsBoolean()) {
                    Responses.plain(exchange, 200, "ready");
                } else {
                    Responses.plain(exchange, 503, "not ready");
                }
            }
            default -> Responses.plain(exchange, 404, "not found: try /metrics, /healthz or /readyz");
        }
    }

    public void start() {
        try {
            server.start();
        } catch (RuntimeException e) {
            Throwable cause = e.getCause() == null ? e : e.getCause();
            throw new UncheckedIOException(
                    "METRICS_PORT " + requestedPort + ": cannot listen on " + host + ":" + requestedPort + " ("
                            + cause.getMessage() + ")",
                    cause instanceof IOException io ? io : new IOException(cause));
        }
    }

    public int port() {
        return ((InetSocketAddress) server.getListenerInfo().get(0).getAddress()).getPort();
    }

    @Override
    public void close() {
        server.stop();
    }
}
