package dev.roundhouse.e2e.demo;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Stops and starts the {@link DemoBackends} over HTTP, on loopback only, so that a backend going down can be tried
 * from a shell:
 *
 * <pre>
 * curl -X POST http://127.0.0.1:3006/demo-backends/demo-backend-2/stop    # its port refuses connections
 * curl -X POST http://127.0.0.1:3006/demo-backends/demo-backend-2/start   # it listens on its port again
 * curl http://127.0.0.1:3006/demo-backends                                 # each one and whether it runs
 * </pre>
 *
 * An unknown backend is 404 (the answer lists the names), another method than POST on stop or start 405.
 */
public final class DemoControl implements AutoCloseable {

    private static final Pattern ACTION = Pattern.compile("/demo-backends/([^/]+)/(start|stop)");

    private final DemoBackends backends;
    private final HttpServer server;
    private final ExecutorService executor = Executors.newSingleThreadExecutor(r -> {
        Thread thread = new Thread(r, "demo-control");
        thread.setDaemon(true);
        return thread;
    });

    private DemoControl(DemoBackends backends, HttpServer server) {
        this.backends = backends;
        this.server = server;
    }

    /** Listens on {@code port} of 127.0.0.1 (0: an ephemeral one). */
    public static DemoControl start(DemoBackends backends, int port) throws IOException {
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 16);
        DemoControl control = new DemoControl(backends, server);
        server.createContext("/", control::handle);
        server.setExecutor(control.executor);
        server.start();
        return control;
    }

    public int port() {
        return server.getAddress().getPort();
    }

    /** The URL that stops ({@code action} "stop") or starts a backend. */
    public String url(String backend, String action) {
        return "http://127.0.0.1:" + port() + "/demo-backends/" + backend + "/" + action;
    }

    private void handle(HttpExchange exchange) throws IOException {
        try (exchange) {
            String path = exchange.getRequestURI().getPath();
            String method = exchange.getRequestMethod();
            if (path.equals("/demo-backends") || path.equals("/demo-backends/")) {
                if (!method.equals("GET")) {
                    notAllowed(exchange, "GET");
                    return;
                }
                StringBuilder list = new StringBuilder();
                backends.backends()
                        .forEach(b -> list.append(b.name())
                                .append(" 127.0.0.1:")
                                .append(b.port())
                                .append(b.running() ? " running\n" : " stopped\n"));
                DemoBackends.answer(exchange, 200, list.toString());
                return;
            }
            Matcher action = ACTION.matcher(path);
            if (!action.matches()) {
                DemoBackends.answer(
                        exchange,
                        404,
                        "not found: POST /demo-backends/<name>/stop or /start, GET /demo-backends; names: "
                                + String.join(", ", backends.names()) + "\n");
                return;
            }
            Optional<DemoBackends.Backend> backend = backends.backend(action.group(1));
            if (backend.isEmpty()) {
                DemoBackends.answer(
                        exchange,
                        404,
                        "no demo backend " + action.group(1) + "; there are: " + String.join(", ", backends.names())
                                + "\n");
                return;
            }
            if (!method.equals("POST")) {
                notAllowed(exchange, "POST");
                return;
            }
            DemoBackends.Backend b = backend.get();
            if (action.group(2).equals("stop")) {
                b.stop();
                DemoBackends.answer(
                        exchange, 200, b.name() + " stopped: 127.0.0.1:" + b.port() + " refuses connections\n");
                return;
            }
            try {
                b.start();
                DemoBackends.answer(exchange, 200, b.name() + " running on 127.0.0.1:" + b.port() + "\n");
            } catch (IOException e) {
                // Its port taken by another program meanwhile.
                DemoBackends.answer(
                        exchange, 409, "cannot start " + b.name() + " on 127.0.0.1:" + b.port() + ": " + e + "\n");
            }
        }
    }

    private static void notAllowed(HttpExchange exchange, String allowed) throws IOException {
        exchange.getResponseHeaders().set("Allow", allowed);
        DemoBackends.answer(exchange, 405, "method not allowed: " + allowed + " only\n");
    }

    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
    }
}
