package dev.roundhouse.proxy.http;

import dev.roundhouse.proxy.metrics.ProxyMetrics;
import dev.roundhouse.proxy.pool.BackendPool;
import dev.roundhouse.proxy.pool.PoolSnapshot;
import io.undertow.Undertow;
import io.undertow.UndertowOptions;
import org.xnio.Options;

import java.net.InetSocketAddress;
import java.time.Duration;

/** The client-facing HTTP server: guard, drain accounting, then the pool-backed proxy. */
public final class ProxyServer implements AutoCloseable {

    /** Request line plus headers; larger requests are refused (nginx allows 4 x 8 KiB by default). */
    static final int MAX_HEADER_BYTES = 32 * 1024;
    static final int MAX_HEADERS = 100;
    /** Time a client may take to send its request headers (slow-header clients are closed). */
    static final int HEADER_TIMEOUT_MILLIS = 20_000;
    /** Idle time allowed on a keep-alive connection between requests. */
    static final int IDLE_KEEP_ALIVE_MILLIS = 75_000;

    private final Undertow server;
    private final DrainHandler drain;
    private final PoolRequestHandler proxy;

    public ProxyServer(String host, int port, BackendPool pool, ProxyMetrics metrics, int connectRetries) {
        proxy = new PoolRequestHandler(pool, metrics, connectRetries);
        drain = new DrainHandler(new RequestGuard(proxy));
        server = Undertow.builder()
                .addHttpListener(port, host)
                .setIoThreads(Math.max(1, Runtime.getRuntime().availableProcessors()))
                .setWorkerThreads(4) // nothing blocks on the proxy path; workers are only a fallback
                .setServerOption(UndertowOptions.MAX_HEADER_SIZE, MAX_HEADER_BYTES)
                .setServerOption(UndertowOptions.MAX_HEADERS, MAX_HEADERS)
                .setServerOption(UndertowOptions.REQUEST_PARSE_TIMEOUT, HEADER_TIMEOUT_MILLIS)
                .setServerOption(UndertowOptions.NO_REQUEST_TIMEOUT, IDLE_KEEP_ALIVE_MILLIS)
                .setServerOption(UndertowOptions.DECODE_URL, false) // forward the path exactly as received
                .setServerOption(UndertowOptions.ALLOW_UNESCAPED_CHARACTERS_IN_URL, false)
                .setServerOption(UndertowOptions.ENABLE_HTTP2, false)
                .setServerOption(UndertowOptions.ALWAYS_SET_DATE, true)
                .setSocketOption(Options.BACKLOG, 1024)
                .setHandler(drain)
                .build();
    }

    /** Applies the timeouts of the pool's current document. */
    public void configure(PoolSnapshot snapshot) {
        if (snapshot.document() != null) {
            proxy.timeouts(snapshot.document().timeouts().connect().toMillis(),
                    snapshot.document().timeouts().request().toMillis());
        }
    }

    public void start() {
        server.start();
    }

    /** The bound port (useful when started on port 0). */
    public int port() {
        return ((InetSocketAddress) server.getListenerInfo().get(0).getAddress()).getPort();
    }

    public int inFlight() {
        return drain.inFlight();
    }

    /**
     * Stops accepting connections and waits up to {@code timeout} for requests in flight.
     *
     * @return true when every request finished in time
     */
    public boolean drain(Duration timeout) throws InterruptedException {
        drain.startDraining();
        server.getListenerInfo().forEach(Undertow.ListenerInfo::suspend);
        return drain.awaitDrained(timeout);
    }

    @Override
    public void close() {
        server.stop();
    }
}
