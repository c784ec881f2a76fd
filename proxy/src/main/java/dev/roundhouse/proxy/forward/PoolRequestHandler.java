package dev.roundhouse.proxy.forward;

import dev.roundhouse.poolformat.PoolDocument;
import dev.roundhouse.proxy.codec.Responses;
import dev.roundhouse.proxy.metrics.MetricNames;
import dev.roundhouse.proxy.metrics.ProxyMetrics;
import dev.roundhouse.proxy.pool.BackendPool;
import dev.roundhouse.proxy.pool.PoolSnapshot;
import dev.roundhouse.proxy.tls.BackendTrusts;
import io.undertow.server.HttpHandler;
import io.undertow.server.HttpServerExchange;

/**
 * Sends each request to a backend of the pool ({@link Forwarder}), or answers 503 while no pool is loaded. What
 * can go wrong on the way is answered by the exchange itself: 503 when no backend is available, 504 when the backend
 * timed out, 502 for other upstream failures.
 */
public final class PoolRequestHandler implements HttpHandler {

    private final BackendPool pool;
    private final ProxyMetrics metrics;
    private final Forwarder forwarder;

    /** @param trusts how https backends are trusted: the proxy's one, which the health checker shares */
    public PoolRequestHandler(
            BackendPool pool,
            ProxyMetrics metrics,
            int connectRetries,
            int maxConnectionsPerThread,
            BackendTrusts trusts,
            int forwardedPort,
            int tlsForwardedPort) {
        this.pool = pool;
        this.metrics = metrics;
        this.forwarder = new Forwarder(
                pool, metrics, connectRetries, maxConnectionsPerThread, trusts, forwardedPort, tlsForwardedPort);
        // The document's timeouts arrive just after its backends (configure): until then, the defaults.
        PoolDocument.Timeouts defaults = PoolDocument.Timeouts.DEFAULTS;
        timeouts(defaults.connect().toMillis(), defaults.request().toMillis());
    }

    /**
     * A health check of an HTTP/2 backend on {@code io}'s own connections to it, as its requests go: null when it
     * passed, else the reason it failed.
     */
    public java.util.concurrent.CompletableFuture<String> probe(
            org.xnio.XnioIoThread io,
            dev.roundhouse.proxy.pool.Backend backend,
            PoolDocument.HealthCheck settings,
            io.undertow.connector.ByteBufferPool buffers) {
        return forwarder.probe(io, backend, settings, buffers);
    }

    /** Called as the server closes, before its worker shuts down. */
    public void close() {
        forwarder.stopSweeps();
    }

    /** Takes the timeouts of a newly applied document; requests in flight keep those they began with. */
    public void configure(PoolSnapshot snapshot) {
        if (snapshot.document() != null) {
            timeouts(
                    snapshot.document().timeouts().connect().toMillis(),
                    snapshot.document().timeouts().request().toMillis());
        }
    }

    private void timeouts(long connectMillis, long requestMillis) {
        forwarder.timeouts(connectMillis, requestMillis);
    }

    @Override
    public void handleRequest(HttpServerExchange exchange) {
        if (!pool.loaded()) {
            long start = System.nanoTime();
            metrics.error(MetricNames.ERROR_NO_BACKEND, MetricNames.NO_BACKEND);
            Responses.plain(exchange, 503, "service unavailable: no pool loaded yet");
            metrics.request(
                    exchange.getRequestMethod().toString(), 503, MetricNames.NO_BACKEND, System.nanoTime() - start);
            return;
        }
        forwarder.forward(exchange);
    }
}
