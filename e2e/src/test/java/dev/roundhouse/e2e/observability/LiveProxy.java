package dev.roundhouse.e2e.observability;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.roundhouse.proxy.RoundhouseProxy;
import dev.roundhouse.proxy.config.ProxySettings;
import dev.roundhouse.testing.ServerPem;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * The real proxy, in-process, in front of two real backends on 127.0.0.1: one that answers (200 on {@code /},
 * 500 on {@code /fail}) and one that was stopped (connections refused). With no connect retries, requests the
 * round-robin sends to the stopped one get the proxy's own 503: so the scrape holds request, duration, error
 * and breaker series for success, a backend's 5xx and a refusal.
 */
final class LiveProxy implements AutoCloseable {

    private final ExecutorService executor = Executors.newFixedThreadPool(4);
    private final HttpServer live;
    private final String deadUrl;
    private final RoundhouseProxy proxy;
    private final HttpClient client =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    /** Status → how many requests got it, over all {@link #send} calls. */
    private final Map<Integer, Integer> statuses = new TreeMap<>();

    private final Path certificates;

    LiveProxy() throws Exception {
        live = backend();
        live.createContext("/", exchange -> answer(exchange, 200, "live"));
        live.createContext("/fail", exchange -> answer(exchange, 500, "failing"));
        live.start();
        HttpServer stopped = backend();
        stopped.start();
        deadUrl = url(stopped);
        stopped.stop(0);
        // HTTPS on too, so that its series (certificate expiry, reloads) are in the scrape.
        certificates = Files.createTempDirectory("live-proxy-tls");
        ServerPem pem = ServerPem.make(certificates, "site", ServerPem.Spec.ec("dns:shop.example"));
        try {
            proxy = RoundhouseProxy.start(ProxySettings.fromEnvironment(Map.of(
                    "PORT", "0",
                    "METRICS_PORT", "0",
                    "BIND_ADDRESS", "127.0.0.1",
                    "LOG_LEVEL", "warn",
                    "BACKENDS", url(live) + "," + deadUrl,
                    "CONNECT_RETRIES", "0",
                    "SHUTDOWN_TIMEOUT", "1s",
                    "TLS_CERT_FILE", pem.cert().toString(),
                    "TLS_KEY_FILE", pem.key().toString(),
                    "TLS_PORT", "0")));
        } catch (Exception e) {
            close();
            throw e;
        }
    }

    private HttpServer backend() throws IOException {
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 64);
        server.setExecutor(executor);
        return server;
    }

    private static String url(HttpServer server) {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    private static void answer(HttpExchange exchange, int status, String body) throws IOException {
        exchange.getRequestBody().readAllBytes();
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }

    String liveUrl() {
        return url(live);
    }

    String deadUrl() {
        return deadUrl;
    }

    int metricsPort() {
        return proxy.metricsPort();
    }

    /** Sends {@code count} GETs of {@code path} through the proxy; returns the status of the last. */
    int send(String path, int count) throws IOException, InterruptedException {
        int status = 0;
        for (int i = 0; i < count; i++) {
            HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + proxy.port() + path))
                    .timeout(Duration.ofSeconds(10))
                    .build();
            status =
                    client.send(request, HttpResponse.BodyHandlers.discarding()).statusCode();
            statuses.merge(status, 1, Integer::sum);
        }
        return status;
    }

    /**
     * The typical mix: successes, a backend's 500s and the proxy's 503s for the stopped backend; and gRPC calls, so
     * that the gRPC series exist (the live backend answers them without a gRPC status, UNKNOWN; the stopped one gets
     * the proxy's own UNAVAILABLE).
     */
    LiveProxy withTraffic() throws IOException, InterruptedException {
        send("/", 6);
        send("/fail", 4);
        grpcCalls(4);
        return this;
    }

    /** Makes {@code count} gRPC calls through the proxy (h2c), whatever they end with. */
    void grpcCalls(int count) throws InterruptedException {
        io.grpc.ManagedChannel channel = io.grpc.Grpc.newChannelBuilderForAddress(
                        "127.0.0.1", proxy.port(), io.grpc.InsecureChannelCredentials.create())
                .build();
        try {
            for (int i = 0; i < count; i++) {
                try {
                    io.grpc.stub.ClientCalls.blockingUnaryCall(
                            channel,
                            dev.roundhouse.testing.GrpcBackend.HELLO,
                            io.grpc.CallOptions.DEFAULT.withDeadlineAfter(10, java.util.concurrent.TimeUnit.SECONDS),
                            "observability");
                } catch (io.grpc.StatusRuntimeException expected) {
                    // neither backend is a gRPC server: the calls end UNKNOWN or UNAVAILABLE, which is the point
                }
            }
        } finally {
            channel.shutdownNow();
            channel.awaitTermination(5, java.util.concurrent.TimeUnit.SECONDS);
        }
    }

    Map<Integer, Integer> statuses() {
        return statuses;
    }

    String scrape() throws IOException, InterruptedException {
        HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + proxy.metricsPort() + "/metrics"))
                .timeout(Duration.ofSeconds(10))
                .build();
        HttpResponse<String> response = client.send(request, HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() != 200) {
            throw new AssertionError("GET /metrics answered " + response.statusCode() + ": " + response.body());
        }
        return response.body();
    }

    @Override
    public void close() {
        if (proxy != null) {
            proxy.close();
        }
        live.stop(0);
        executor.shutdownNow();
        try (var files = Files.walk(certificates)) {
            files.sorted(java.util.Comparator.reverseOrder())
                    .forEach(f -> f.toFile().delete());
        } catch (IOException e) {
            // a temporary directory: left to the OS
        }
    }
}
