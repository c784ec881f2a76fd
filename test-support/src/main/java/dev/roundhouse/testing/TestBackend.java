package dev.roundhouse.testing;

import io.undertow.Undertow;
import io.undertow.server.HttpServerExchange;
import io.undertow.util.HeaderMap;
import io.undertow.util.HeaderValues;
import io.undertow.util.Headers;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.SSLContext;

/**
 * A real HTTP backend on an ephemeral loopback port, for tests. It answers with its own name,
 * records what it received, and can be told to fail, be slow, or stop and start on the same port.
 * <ul>
 *   <li>{@code /health}: 200 while {@link #healthy} is true, else 503</li>
 *   <li>{@code /slow?ms=N}: answers after N ms</li>
 *   <li>{@code /upload}: reads the body streaming, answers "bytes sha256"</li>
 *   <li>{@code /download?bytes=N}: streams N bytes</li>
 *   <li>{@code /trickle?bytes=N&chunk=C&ms=M}: N bytes of {@link #trickleByte(long)}, with Content-Length, written
 *       C at a time with a pause of M ms after each, so a response takes a known while</li>
 *   <li>anything else: {@link #status} with the backend's name as body</li>
 * </ul>
 */
public final class TestBackend implements AutoCloseable {

    /**
     * A request as the backend saw it; {@code peer} is the address of the connection it came on (streams of one
     * HTTP/2 connection share it).
     */
    public record Seen(
            String method, String uri, String query, Map<String, List<String>> headers, String protocol, String peer) {
        public String header(String name) {
            for (Map.Entry<String, List<String>> e : headers.entrySet()) {
                if (e.getKey().equalsIgnoreCase(name)) {
                    return String.join(",", e.getValue());
                }
            }
            return null;
        }
    }

    /** Paths whose handling blocks (sleeps, streams), run on a worker thread; every other path is answered at once. */
    private static final java.util.Set<String> BLOCKING_PATHS =
            java.util.Set.of("/slow", "/sni", "/upload", "/download", "/trickle", "/trailers");

    public final String name;
    public final AtomicInteger hits = new AtomicInteger();
    public final AtomicInteger healthChecks = new AtomicInteger();
    public final ConcurrentLinkedQueue<Seen> seen = new ConcurrentLinkedQueue<>();
    public volatile int status = 200;
    public volatile boolean healthy = true;
    /** The names of the trailer fields the last request to {@code /trailers} came with (lower case), if any. */
    public volatile java.util.Set<String> lastRequestTrailerNames = java.util.Set.of();

    private final SSLContext tls;
    private int port;
    private Undertow server;

    /** Speaks HTTP/2 too: h2c with prior knowledge in clear text, h2 by ALPN over TLS. */
    private boolean http2;

    private TestBackend(String name, SSLContext tls) {
        this.name = name;
        this.tls = tls;
    }

    /** A backend that speaks HTTP/2 as well: h2c (prior knowledge) without {@code tls}, h2 by ALPN with it. */
    public static TestBackend startHttp2(String name, SSLContext tls) {
        TestBackend backend = new TestBackend(name, tls);
        backend.http2 = true;
        backend.listen(0);
        return backend;
    }

    public static TestBackend start(String name) {
        TestBackend backend = new TestBackend(name, null);
        backend.listen(0);
        return backend;
    }

    /** The same backend speaking HTTPS with the given server context (see {@link TestTls}). */
    public static TestBackend startTls(String name, SSLContext tls) {
        TestBackend backend = new TestBackend(name, tls);
        backend.listen(0);
        return backend;
    }

    private void listen(int onPort) {
        Undertow.Builder builder = Undertow.builder();
        if (tls == null) {
            builder.addHttpListener(onPort, "127.0.0.1");
        } else {
            builder.addHttpsListener(onPort, "127.0.0.1", tls);
        }
        server = builder.setIoThreads(1)
                .setWorkerThreads(16)
                .setServerOption(io.undertow.UndertowOptions.MAX_ENTITY_SIZE, 0L) // any body size
                .setServerOption(io.undertow.UndertowOptions.ENABLE_HTTP2, http2)
                .setHandler(this::handle)
                .build();
        server.start();
        port = ((InetSocketAddress) server.getListenerInfo().get(0).getAddress()).getPort();
    }

    private void handle(HttpServerExchange exchange) throws Exception {
        String path = exchange.getRequestPath();
        if (path.equals("/health") || path.equals("/healthz")) {
            healthChecks.incrementAndGet();
            exchange.setStatusCode(healthy ? 200 : 503);
            exchange.getResponseSender().send(healthy ? "ok" : "sick");
            return;
        }
        boolean blocking = BLOCKING_PATHS.contains(path);
        if (blocking && exchange.isInIoThread()) {
            exchange.dispatch(this::handle);
            return;
        }
        hits.incrementAndGet();
        seen.add(new Seen(
                exchange.getRequestMethod().toString(),
                exchange.getRequestURI(),
                exchange.getQueryString(),
                copy(exchange.getRequestHeaders()),
                exchange.getProtocol().toString(),
                String.valueOf(exchange.getSourceAddress())));
        if (!blocking) {
            // Answered on the I/O thread: a backend being stopped then drops the request, as a crashed one does,
            // where a dispatch its stopping worker refused would be answered 503 by Undertow itself.
            exchange.setStatusCode(status);
            exchange.getResponseHeaders().put(Headers.CONTENT_TYPE, "text/plain");
            exchange.getResponseSender().send(name);
            return;
        }
        exchange.startBlocking();
        switch (path) {
            case "/slow" -> {
                Thread.sleep(Long.parseLong(param(exchange, "ms", "1000"))); // the backend is slow on purpose
                exchange.getResponseSender().send(name);
            }
            case "/sni" -> { // the server name the client sent in its TLS hello
                var session = (javax.net.ssl.ExtendedSSLSession)
                        exchange.getConnection().getSslSessionInfo().getSSLSession();
                exchange.getResponseSender()
                        .send(session.getRequestedServerNames().stream()
                                .map(n -> ((javax.net.ssl.SNIHostName) n).getAsciiName())
                                .toList()
                                .toString());
            }
            case "/upload" -> {
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
                long bytes = Long.parseLong(param(exchange, "bytes", "0"));
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
            case "/trailers" -> { // the body read whole, then answered with trailers: as a gRPC server ends a call
                // (the body says what arrived: the name, the request's x-checksum trailer or "none", the body's size)
                long total = 0;
                byte[] buffer = new byte[16384];
                try (InputStream in = exchange.getInputStream()) {
                    for (int n; (n = in.read(buffer)) > 0; ) {
                        total += n;
                    }
                }
                HeaderMap received =
                        exchange.getAttachment(io.undertow.server.protocol.http.HttpAttachments.REQUEST_TRAILERS);
                java.util.Set<String> names = new java.util.TreeSet<>();
                if (received != null) {
                    received.getHeaderNames()
                            .forEach(n -> names.add(n.toString().toLowerCase(java.util.Locale.ROOT)));
                }
                lastRequestTrailerNames = java.util.Set.copyOf(names);
                HeaderMap trailers = new HeaderMap();
                trailers.put(io.undertow.util.HttpString.tryFromString("x-body-bytes"), total);
                trailers.put(
                        io.undertow.util.HttpString.tryFromString("x-request-trailer"),
                        received == null ? "none" : String.valueOf(received.getFirst("x-checksum")));
                trailers.put(io.undertow.util.HttpString.tryFromString("grpc-status"), param(exchange, "status", "0"));
                exchange.putAttachment(io.undertow.server.protocol.http.HttpAttachments.RESPONSE_TRAILERS, trailers);
                exchange.getResponseHeaders().put(Headers.CONTENT_TYPE, "application/grpc");
                String echoed = name + " " + trailers.getFirst("x-request-trailer") + " " + total;
                try (OutputStream out = exchange.getOutputStream()) {
                    // Flushed before the end, so the response has no Content-Length: Undertow sends trailers only
                    // after a body of unknown length.
                    out.write(echoed.getBytes(java.nio.charset.StandardCharsets.UTF_8));
                    out.flush();
                }
            }
            case "/trickle" -> {
                long bytes = Long.parseLong(param(exchange, "bytes", "0"));
                int chunk = Integer.parseInt(param(exchange, "chunk", "16384"));
                long pause = Long.parseLong(param(exchange, "ms", "10"));
                exchange.getResponseHeaders().put(Headers.CONTENT_LENGTH, bytes);
                exchange.getResponseHeaders().put(Headers.CONTENT_TYPE, "application/octet-stream");
                byte[] buffer = new byte[chunk];
                try (OutputStream out = exchange.getOutputStream()) {
                    for (long position = 0; position < bytes; ) {
                        int n = (int) Math.min(chunk, bytes - position);
                        for (int i = 0; i < n; i++) {
                            buffer[i] = trickleByte(position + i);
                        }
                        out.write(buffer, 0, n);
                        out.flush();
                        position += n;
                        Thread.sleep(pause); // the backend is slow on purpose
                    }
                }
            }
            default -> throw new IllegalStateException("not a blocking path: " + path);
        }
    }

    /** The byte at {@code position} of a {@code /trickle} body: a pattern with a prime period, so a gap shows. */
    public static byte trickleByte(long position) {
        return (byte) (position % 251);
    }

    private static String param(HttpServerExchange exchange, String name, String fallback) {
        var values = exchange.getQueryParameters().get(name);
        return values == null || values.isEmpty() ? fallback : values.getFirst();
    }

    private static Map<String, List<String>> copy(HeaderMap headers) {
        Map<String, List<String>> out = new LinkedHashMap<>();
        for (HeaderValues values : headers) {
            out.put(values.getHeaderName().toString(), List.copyOf(values));
        }
        return out;
    }

    public String name() {
        return name;
    }

    /** Requests served, health checks aside. */
    public int requests() {
        return hits.get();
    }

    public int port() {
        return port;
    }

    public String url() {
        return (tls == null ? "http" : "https") + "://127.0.0.1:" + port;
    }

    public Seen lastSeen() {
        Seen last = null;
        for (Seen s : seen) {
            last = s;
        }
        return last;
    }

    /** Stops listening; connections are refused until {@link #restart()}. */
    public synchronized void stop() {
        if (server != null) {
            server.stop();
            server = null;
        }
    }

    /** Listens again on the same port. */
    public synchronized void restart() {
        if (server == null) {
            listen(port);
        }
    }

    @Override
    public void close() {
        stop();
    }
}
