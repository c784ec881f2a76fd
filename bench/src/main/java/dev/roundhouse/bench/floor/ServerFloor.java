package dev.roundhouse.bench.floor;

import dev.roundhouse.proxy.config.ProxySettings;
import dev.roundhouse.proxy.server.ProxyServer;
import io.undertow.server.HttpHandler;
import io.undertow.util.Headers;
import io.undertow.util.HttpString;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CountDownLatch;

/**
 * Roundhouse's client-facing server with nothing behind it: the same {@link ProxyServer} (Undertow's listener,
 * options, buffer pool, I/O threads, drain accounting) answering every request itself with the benchmark
 * backends' response (100-byte body, the same header fields). Its CPU per request is Undertow's share of a
 * proxied request, the floor that no forwarding code behind this server can go under; {@code
 * bench/proxy-vs-peers.sh} runs it as the target {@code undertow-floor}, beside nginx answering by itself
 * ({@code nginx-static}).
 *
 * <p>Settings come from the environment as for the proxy ({@code PORT}, {@code BIND_ADDRESS}, timeouts); a pool
 * source must be set for them to validate but is not used.
 */
public final class ServerFloor {

    private static final HttpString SERVER = new HttpString("Server");

    private ServerFloor() {}

    public static void main(String[] argv) throws Exception {
        String body = System.getenv().getOrDefault("FLOOR_BODY", "x".repeat(100));
        ByteBuffer bytes = ByteBuffer.allocateDirect(body.length())
                .put(body.getBytes(StandardCharsets.US_ASCII))
                .flip();
        HttpHandler answer = exchange -> {
            exchange.getResponseHeaders()
                    .put(SERVER, "nginx")
                    .put(Headers.CONTENT_TYPE, "text/plain")
                    .put(Headers.CONTENT_LENGTH, bytes.remaining());
            exchange.getResponseSender().send(bytes.duplicate());
        };
        ProxyServer server = new ProxyServer(ProxySettings.fromEnvironment(System.getenv()), answer);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            server.close();
            stopped.countDown();
        }));
        server.start();
        System.out.println("READY " + server.port());
        System.out.flush();
        stopped.await();
    }
}
