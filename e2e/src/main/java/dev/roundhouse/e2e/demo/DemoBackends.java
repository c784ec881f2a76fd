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
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;

/**
 * Demo backends for trying Roundhouse on one machine: each answers with its own name, so
 * round-robin shows in {@code curl}. Usage: {@code DemoBackends PORT [PORT...]}; loopback only.
 */
public final class DemoBackends {

    private DemoBackends() {}

    /** Starts the backends; call before anything else in this JVM starts a JDK HTTP server (see below). */
    public static List<HttpServer> start(List<Integer> ports) throws IOException {
        // The JDK's server writes a response's head and body apart; without TCP_NODELAY the body waits for the
        // proxy's delayed ACK, about 40 ms a response. Read once, when the JVM's first JDK HTTP server starts.
        System.setProperty("sun.net.httpserver.nodelay", "true");
        List<HttpServer> servers = new ArrayList<>();
        for (int i = 0; i < ports.size(); i++) {
            String name = "demo-backend-" + (i + 1);
            HttpServer server =
                    HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), ports.get(i)), 128);
            server.createContext(
                    "/",
                    exchange -> answer(
                            exchange,
                            200,
                            "Hello from " + name + " (port "
                                    + server.getAddress().getPort() + ")\n"));
            server.createContext("/healthz", exchange -> answer(exchange, 200, "ok\n"));
            server.setExecutor(Executors.newFixedThreadPool(4));
            server.start();
            servers.add(server);
        }
        return servers;
    }

    private static void answer(HttpExchange exchange, int status, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", "text/plain; charset=utf-8");
        exchange.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
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
        List<HttpServer> servers = start(ports);
        servers.forEach(s -> System.out.println(
                "demo backend listening on http://localhost:" + s.getAddress().getPort()));
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            servers.forEach(s -> s.stop(0));
            stopped.countDown();
        }));
        stopped.await();
    }
}
