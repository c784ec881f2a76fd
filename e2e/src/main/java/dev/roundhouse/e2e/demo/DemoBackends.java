package dev.roundhouse.e2e.demo;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * Demo backends for trying Roundhouse on one machine: each answers with its own name, so round-robin shows in
 * {@code curl}, and each can be stopped and started again on its port ({@link DemoControl} does it over HTTP), so a
 * backend going down shows too. Usage: {@code DemoBackends PORT [PORT...]}; loopback only.
 */
public final class DemoBackends implements AutoCloseable {

    /** One backend, {@code demo-backend-N}: listening on its port while started, refusing connections while stopped. */
    public static final class Backend {
        private final String name;
        private int port;
        private HttpServer server;
        private ExecutorService executor;

        private Backend(String name, int port) {
            this.name = name;
            this.port = port;
        }

        public String name() {
            return name;
        }

        /** Its port: the one it was given, or the one it was bound to first when given 0. */
        public synchronized int port() {
            return port;
        }

        public synchronized boolean running() {
            return server != null;
        }

        /** Listens on its port again; does nothing while it runs. */
        public synchronized void start() throws IOException {
            if (server != null) {
                return;
            }
            HttpServer created = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 128);
            port = created.getAddress().getPort();
            String hello = "Hello from " + name + " (port " + port + ")\n";
            created.createContext("/", exchange -> answer(exchange, 200, hello));
            created.createContext("/healthz", exchange -> answer(exchange, 200, "ok\n"));
            executor = Executors.newFixedThreadPool(4);
            created.setExecutor(executor);
            created.start();
            server = created;
        }

        /** Closes its listening socket and its connections: what a crashed backend looks like to the proxy. */
        public synchronized void stop() {
            if (server == null) {
                return;
            }
            server.stop(0);
            executor.shutdownNow();
            server = null;
            executor = null;
        }
    }

    private final List<Backend> backends;

    private DemoBackends(List<Backend> backends) {
        this.backends = backends;
    }

    /** Starts the backends; call before anything else in this JVM starts a JDK HTTP server (see below). */
    public static DemoBackends start(List<Integer> ports) throws IOException {
        // The JDK's server writes a response's head and body apart; without TCP_NODELAY the body waits for the
        // proxy's delayed ACK, about 40 ms a response. Read once, when the JVM's first JDK HTTP server starts.
        System.setProperty("sun.net.httpserver.nodelay", "true");
        List<Backend> backends = new ArrayList<>();
        DemoBackends all = new DemoBackends(backends);
        try {
            for (int i = 0; i < ports.size(); i++) {
                Backend backend = new Backend("demo-backend-" + (i + 1), ports.get(i));
                backends.add(backend);
                backend.start();
            }
        } catch (IOException | RuntimeException e) {
            all.close();
            throw e;
        }
        return all;
    }

    public List<Backend> backends() {
        return List.copyOf(backends);
    }

    public Optional<Backend> backend(String name) {
        return backends.stream().filter(b -> b.name().equals(name)).findFirst();
    }

    public List<String> names() {
        return backends.stream().map(Backend::name).toList();
    }

    static void answer(HttpExchange exchange, int status, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", "text/plain; charset=utf-8");
        exchange.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }

    @Override
    public void close() {
        backends.forEach(Backend::stop);
    }

    public static void main(String[] args) throws Exception {
        if (args.length == 0) {
            System.err.println("usage: DemoBackends PORT [PORT...]");
            System.exit(2);
        }
        List<Integer> ports = new ArrayList<>();
        for (String arg : args) {
            ports.add(Integer.parseInt(arg));
        }
        DemoBackends backends = start(ports);
        backends.backends().forEach(b -> System.out.println("demo backend listening on http://localhost:" + b.port()));
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            backends.close();
            stopped.countDown();
        }));
        stopped.await();
    }
}
