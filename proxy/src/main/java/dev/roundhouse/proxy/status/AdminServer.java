package dev.roundhouse.proxy.status;

import dev.roundhouse.proxy.codec.Responses;
import dev.roundhouse.proxy.metrics.ProxyMetrics;
import io.undertow.Undertow;
import io.undertow.server.HttpServerExchange;
import io.undertow.util.Headers;
import io.undertow.util.HttpString;
import io.undertow.util.SameThreadExecutor;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.Deque;
import java.util.Map;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * The operations port: {@code /metrics} (Prometheus text format), {@code /healthz} (the process
 * serves: 503 when an I/O thread is stuck), {@code /readyz} (a pool is loaded and the proxy is not draining),
 * {@code /status} (the pool's state as JSON, docs/status.md) and {@code /} (the status page). Kept apart from the
 * traffic port so scrapes and probes never queue behind client requests, and the pool's state is not shown to
 * clients.
 */
public final class AdminServer implements AutoCloseable {

    private static final HttpString CONTENT_SECURITY_POLICY = new HttpString("Content-Security-Policy");
    private static final String PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8";

    private static final String JSON = "application/json";
    /** The status page loads its script and style from this port and nothing else. */
    static final String PAGE_POLICY = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self';"
            + " img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
    /** The longest a {@code /status?wait=} request is held open. */
    static final int MAX_WAIT_SECONDS = 60;

    private final Undertow server;
    private final String host;
    private final int requestedPort;

    private final ProxyMetrics metrics;

    private final ProxyStatus status;
    private final BooleanSupplier ready;
    private final Supplier<String> unhealthy;
    private final Map<String, Page> pages;

    private record Page(String contentType, byte[] body) {}

    /**
     * @param ready whether the proxy takes traffic
     * @param unhealthy why the proxy cannot serve (a stuck I/O thread), or null while it can
     */
    public AdminServer(
            String host,
            int port,
            ProxyMetrics metrics,
            ProxyStatus status,
            BooleanSupplier ready,
            Supplier<String> unhealthy) {
        this.host = host;
        this.requestedPort = port;
        this.metrics = metrics;
        this.status = status;
        this.ready = ready;
        this.unhealthy = unhealthy;
        this.pages = Map.of(
                "/", page("index.html", "text/html; charset=utf-8"),
                "/status.js", page("status.js", "text/javascript; charset=utf-8"),
                "/status.css", page("status.css", "text/css; charset=utf-8"));
        server = Undertow.builder()
                .addHttpListener(port, host)
                .setIoThreads(1)
                .setWorkerThreads(2)
                .setHandler(this::route)
                .build();
    }

    private static Page page(String name, String contentType) {
        try (InputStream in = ProxyStatus.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IllegalStateException("status page file " + name + " is missing from the build");
            }
            return new Page(contentType, in.readAllBytes());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private void route(HttpServerExchange exchange) {
        Page page = pages.get(exchange.getRequestPath());
        if (page != null) {
            exchange.getResponseHeaders()
                    .put(Headers.CONTENT_TYPE, page.contentType())
                    .put(CONTENT_SECURITY_POLICY, PAGE_POLICY)
                    .put(Headers.X_CONTENT_TYPE_OPTIONS, "nosniff")
                    .put(Headers.CACHE_CONTROL, "no-cache");
            exchange.getResponseSender().send(ByteBuffer.wrap(page.body()));
            return;
        }
        switch (exchange.getRequestPath()) {
            case "/status" -> status(exchange);
            case "/metrics" -> {
                if (exchange.isInIoThread()) {
                    // scraping is work: off the I/O thread
                    exchange.dispatch(() -> route(exchange));
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
            default -> Responses.plain(exchange, 404, "not found: try /, /status, /metrics, /healthz or /readyz");
        }
    }

    /**
     * {@code /status}, or with {@code ?after=N&wait=S} once a state change newer than N is recorded, or S seconds
     * passed (at once when N is not the newest change): the operator waits on each proxy this way, so a change
     * reaches it at once and an idle pool costs one request per wait. The exchange is held without a thread.
     */
    private void status(HttpServerExchange exchange) {
        long after;
        int wait;
        try {
            after = longParameter(exchange, "after", -1);
            wait = (int) Math.min(MAX_WAIT_SECONDS, Math.max(0, longParameter(exchange, "wait", 0)));
        } catch (NumberFormatException e) {
            Responses.plain(exchange, 400, "after and wait must be whole numbers");
            return;
        }
        // An `after` beyond the newest change comes from before this process started: answer at once, too.
        if (wait == 0 || after < 0 || status.changes().last() != after) {
            exchange.dispatch(() -> sendStatus(exchange));
            return;
        }
        exchange.dispatch(SameThreadExecutor.INSTANCE, () -> {
            Executor worker = exchange.getConnection().getWorker();
            StateChanges.Waiter waiter =
                    status.changes().onChangeAfter(after, () -> worker.execute(() -> sendStatus(exchange)));
            exchange.getIoThread()
                    .executeAfter(
                            () -> {
                                if (waiter.withdraw()) {
                                    worker.execute(() -> sendStatus(exchange));
                                }
                            },
                            wait,
                            TimeUnit.SECONDS);
        });
    }

    private void sendStatus(HttpServerExchange exchange) {
        exchange.getResponseHeaders().put(Headers.CONTENT_TYPE, JSON).put(Headers.CACHE_CONTROL, "no-store");
        exchange.getResponseSender().send(ByteBuffer.wrap(status.json()));
    }

    private static long longParameter(HttpServerExchange exchange, String name, long absent) {
        Deque<String> values = exchange.getQueryParameters().get(name);
        return values == null || values.isEmpty() ? absent : Long.parseLong(values.getFirst());
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
