package dev.roundhouse.e2e.testing;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A real HTTP backend on 127.0.0.1 that answers with its name and counts what it serves; it can be stopped and
 * started again on the same port, as a backend that crashes and comes back.
 */
public final class TestBackend implements AutoCloseable {

    private final String name;
    private final AtomicInteger requests = new AtomicInteger();
    private final ExecutorService executor = Executors.newFixedThreadPool(8);
    private int port;
    private HttpServer server;

    private TestBackend(String name) {
        this.name = name;
    }

    /** Starts a backend on an ephemeral port. */
    public static TestBackend start(String name) {
        TestBackend backend = new TestBackend(name);
        backend.listen(0);
        return backend;
    }

    private synchronized void listen(int onPort) {
        try {
            server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), onPort), 256);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        server.createContext("/", exchange -> {
            requests.incrementAndGet();
            answer(exchange, name);
        });
        server.createContext("/healthz", exchange -> answer(exchange, "ok"));
        server.setExecutor(executor);
        server.start();
        port = server.getAddress().getPort();
    }

    private static void answer(HttpExchange exchange, String body) throws IOException {
        exchange.getRequestBody().readAllBytes();
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", "text/plain");
        exchange.sendResponseHeaders(200, bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }

    public String name() {
        return name;
    }

    public int port() {
        return port;
    }

    public String url() {
        return "http://127.0.0.1:" + port;
    }

    /** Requests served on {@code /} (health checks not counted). */
    public int requests() {
        return requests.get();
    }

    /** Stops listening: connections are refused, as from a crashed backend. */
    public synchronized void stop() {
        if (server != null) {
            server.stop(0);
            server = null;
        }
    }

    /** Listens again on the same port. */
    public synchronized void restart() {
        stop();
        listen(port);
    }

    @Override
    public void close() {
        stop();
        executor.shutdownNow();
    }
}
