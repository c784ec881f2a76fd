package dev.roundhouse.operator.testing;

import com.sun.net.httpserver.HttpServer;
import dev.roundhouse.poolformat.status.BackendState;
import dev.roundhouse.poolformat.status.ProxyStatusCodec;
import dev.roundhouse.poolformat.status.ProxyStatusDocument;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A proxy's admin port as far as {@code GET /status} goes (docs/status.md, version 1, with the {@code after} and
 * {@code wait} long poll), its backends' states set by the test and written by the proxy's own codec. The operator tests cannot run the proxy itself (it
 * is another module); the end-to-end tests run the operator against real proxies.
 */
public final class StatusServer implements AutoCloseable {

    private final HttpServer server;
    private final ExecutorService threads = Executors.newCachedThreadPool();
    private final Map<String, String> states = new LinkedHashMap<>();
    private long lastChange;
    public final AtomicInteger requests = new AtomicInteger();
    /** False: every request answered at once, as a proxy without the long poll would; then a watcher asks each 1 s. */
    private volatile boolean holding = true;
    /** Requests still to refuse with 503, as a proxy too busy to answer would. */
    private final AtomicInteger refusing = new AtomicInteger();

    public StatusServer() {
        try {
            server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        server.setExecutor(threads);
        server.createContext("/status", exchange -> {
            requests.incrementAndGet();
            if (refusing.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
                exchange.sendResponseHeaders(503, -1);
                exchange.close();
                return;
            }
            long after = -1;
            long wait = 0;
            String query = exchange.getRequestURI().getQuery();
            if (query != null) {
                for (String pair : query.split("&")) {
                    String[] kv = pair.split("=", 2);
                    if (kv[0].equals("after")) {
                        after = Long.parseLong(kv[1]);
                    } else if (kv[0].equals("wait")) {
                        wait = Long.parseLong(kv[1]);
                    }
                }
            }
            byte[] body;
            synchronized (this) {
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(wait);
                while (holding && after == lastChange && System.nanoTime() < deadline) {
                    try {
                        TimeUnit.NANOSECONDS.timedWait(this, deadline - System.nanoTime());
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        break;
                    }
                }
                body = json();
            }
            exchange.getResponseHeaders().set("Content-Type", "application/json");
            exchange.sendResponseHeaders(200, body.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        });
        server.start();
    }

    public int port() {
        return server.getAddress().getPort();
    }

    /** Sets a backend's state ({@code in-rotation}, {@code out-of-rotation}, ...): one state change. */
    public synchronized void set(String url, String state) {
        states.put(url, state);
        lastChange++;
        notifyAll();
    }

    /** Refuses the next {@code count} requests with 503. */
    public void refuse(int count) {
        refusing.set(count);
    }

    /** Answers every request at once from now on, the held ones too. */
    public synchronized void answerAtOnce() {
        holding = false;
        notifyAll();
    }

    /** The document a proxy would write for these states, through the proxy's own writer. */
    private byte[] json() {
        List<ProxyStatusDocument.Backend> backends = new ArrayList<>();
        String since = "2026-12-07T10:00:0" + (lastChange % 10) + "Z";
        for (Map.Entry<String, String> e : states.entrySet()) {
            BackendState state = BackendState.of(e.getValue());
            backends.add(new ProxyStatusDocument.Backend(
                    e.getKey(),
                    1,
                    "http/1.1",
                    e.getValue(),
                    state.inRotation(),
                    since,
                    new ProxyStatusDocument.Health(state != BackendState.OUT_OF_ROTATION, since, 0, 0, 2, 3, null),
                    new ProxyStatusDocument.Breaker(
                            state == BackendState.BREAKER_OPEN || state == BackendState.EJECTED
                                    ? "open"
                                    : state == BackendState.BREAKER_HALF_OPEN ? "half-open" : "closed",
                            since,
                            null),
                    0,
                    new ProxyStatusDocument.LastMinute(0, null, null, null, List.of())));
        }
        return ProxyStatusCodec.write(
                new ProxyStatusDocument(ProxyStatusDocument.VERSION, null, lastChange, backends, List.of()));
    }

    @Override
    public void close() {
        server.stop(0);
        threads.shutdownNow();
    }
}
