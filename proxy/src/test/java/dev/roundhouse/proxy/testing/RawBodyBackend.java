package dev.roundhouse.proxy.testing;

import io.undertow.Undertow;
import io.undertow.UndertowOptions;
import io.undertow.server.HttpServerExchange;
import io.undertow.util.Headers;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A backend for bodies of any size on an ephemeral loopback port. Same contract as
 * {@link TestBackend}'s {@code /upload} ("bytes sha256hex") and {@code /download?bytes=N} (the
 * pattern {@code (byte) i} for i in 0..16383, repeating), but without Undertow's default 2 MiB
 * request entity limit, which makes {@link TestBackend} answer 413 to large uploads itself.
 */
public final class RawBodyBackend implements AutoCloseable {

    public final AtomicInteger uploads = new AtomicInteger();
    private final Undertow server;
    private final int port;

    private RawBodyBackend() {
        server = Undertow.builder()
                .addHttpListener(0, "127.0.0.1")
                .setIoThreads(1)
                .setWorkerThreads(8)
                .setServerOption(UndertowOptions.MAX_ENTITY_SIZE, 0L) // 0: unbounded
                .setHandler(this::handle)
                .build();
        server.start();
        port = ((InetSocketAddress) server.getListenerInfo().get(0).getAddress()).getPort();
    }

    public static RawBodyBackend start() {
        return new RawBodyBackend();
    }

    private void handle(HttpServerExchange exchange) throws Exception {
        if (exchange.isInIoThread()) {
            exchange.dispatch(this::handle);
            return;
        }
        exchange.startBlocking();
        switch (exchange.getRequestPath()) {
            case "/upload" -> {
                uploads.incrementAndGet();
                MessageDigest sha = MessageDigest.getInstance("SHA-256");
                long total = 0;
                byte[] buffer = new byte[16384];
                try (InputStream in = exchange.getInputStream()) {
                    for (int n; (n = in.read(buffer)) > 0; ) {
                        sha.update(buffer, 0, n);
                        total += n;
                    }
                }
                exchange.getResponseSender().send(total + " " + HexFormat.of().formatHex(sha.digest()));
            }
            case "/download" -> {
                var values = exchange.getQueryParameters().get("bytes");
                long bytes = values == null || values.isEmpty() ? 0 : Long.parseLong(values.getFirst());
                exchange.getResponseHeaders().put(Headers.CONTENT_LENGTH, bytes);
                byte[] chunk = new byte[16384];
                for (int i = 0; i < chunk.length; i++) {
                    chunk[i] = (byte) i;
                }
                try (OutputStream out = exchange.getOutputStream()) {
                    for (long left = bytes; left > 0; ) {
                        int n = (int) Math.min(chunk.length, left);
                        out.write(chunk, 0, n);
                        left -= n;
                    }
                }
            }
            case "/health" -> exchange.getResponseSender().send("ok");
            default -> {
                exchange.setStatusCode(404);
                exchange.getResponseSender().send("not found");
            }
        }
    }

    public String url() {
        return "http://127.0.0.1:" + port;
    }

    @Override
    public void close() {
        server.stop();
    }
}
