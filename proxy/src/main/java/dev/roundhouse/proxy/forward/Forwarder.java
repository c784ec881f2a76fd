package dev.roundhouse.proxy.forward;

import dev.roundhouse.poolformat.GrpcStatuses;
import dev.roundhouse.poolformat.PoolDocument;
import dev.roundhouse.proxy.breaker.Breakers;
import dev.roundhouse.proxy.codec.Grpc;
import dev.roundhouse.proxy.codec.HopByHop;
import dev.roundhouse.proxy.metrics.ProxyMetrics;
import dev.roundhouse.proxy.pool.Backend;
import dev.roundhouse.proxy.pool.BackendPool;
import dev.roundhouse.proxy.server.LogThrottle;
import dev.roundhouse.proxy.server.PerIoThread;
import dev.roundhouse.proxy.server.RequestGuard;
import dev.roundhouse.proxy.tls.BackendTrusts;
import dev.roundhouse.proxy.upstream.StreamProbe;
import dev.roundhouse.proxy.upstream.UpstreamThread;
import io.undertow.connector.ByteBufferPool;
import io.undertow.server.AbstractServerConnection;
import io.undertow.server.HttpServerExchange;
import io.undertow.util.HeaderMap;
import io.undertow.util.HeaderValues;
import io.undertow.util.Headers;
import io.undertow.util.HttpString;
import io.undertow.util.Methods;
import io.undertow.util.Protocols;
import io.undertow.util.SameThreadExecutor;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.xnio.XnioIoThread;

/**
 * Sends every request to a backend of the pool over this proxy's own HTTP/1.1 client ({@link ProxyExchange},
 * {@link UpstreamThread}): plain or TLS, with or without a body, and protocol upgrades. It owns what all exchanges
 * share: the pool, the timeouts, each I/O thread's connections, and how a request head is written for a backend.
 */
final class Forwarder {

    private static final Logger log = LogManager.getLogger(Forwarder.class);

    /** Retried after a broken connection only when repeating them is harmless (RFC 9110 9.2.2). */
    static final Set<HttpString> IDEMPOTENT =
            Set.of(Methods.GET, Methods.HEAD, Methods.OPTIONS, Methods.TRACE, Methods.PUT, Methods.DELETE);

    private record PortText(int port, String text) {}

    /** The port text of each listener, plain and HTTPS: made once each, not on every switch between them. */
    private volatile PortText plainPort = new PortText(-1, "");

    private volatile PortText httpsPort = new PortText(-1, "");

    /** The port clients reach each listener on, when set: behind a Service, not the container's (null: unset). */
    private final String plainForwarded;

    private final String httpsForwarded;

    /** The X-Forwarded fields this hop sets itself: what the client sent in them is dropped. */
    static final HttpString[] SET_BY_THIS_HOP = {
        Headers.X_FORWARDED_PROTO, Headers.X_FORWARDED_HOST, Headers.X_FORWARDED_PORT, Headers.X_FORWARDED_SERVER
    };
    // (X-Forwarded-Server is not written, but a client's is still dropped: nothing may pass for this hop's.)
    private static final byte[] HTTP_1_1 = " HTTP/1.1\r\n".getBytes(StandardCharsets.US_ASCII);

    private final BackendPool pool;
    private final ProxyMetrics metrics;
    private final int connectRetries;
    private final int maxConnections;
    private volatile long connectTimeoutNanos; // both set before the first request (PoolRequestHandler)
    private volatile long requestTimeoutNanos;
    private final PerIoThread<UpstreamThread> threads;
    private final LogThrottle invalidResponses = new LogThrottle(TimeUnit.SECONDS.toNanos(10), System::nanoTime);
    private final LogThrottle unexpectedFaults = new LogThrottle(TimeUnit.SECONDS.toNanos(10), System::nanoTime);

    /**
     * @param forwardedPort what X-Forwarded-Port says of requests on the plain port ({@code FORWARDED_PORT}), or 0 for
     *     the port the client connected to
     * @param tlsForwardedPort the same for the HTTPS port ({@code TLS_FORWARDED_PORT})
     */
    Forwarder(
            BackendPool pool,
            ProxyMetrics metrics,
            int connectRetries,
            int maxConnections,
            BackendTrusts trusts,
            int forwardedPort,
            int tlsForwardedPort) {
        this.plainForwarded = forwardedPort > 0 ? Integer.toString(forwardedPort) : null;
        this.httpsForwarded = tlsForwardedPort > 0 ? Integer.toString(tlsForwardedPort) : null;
        this.pool = pool;
        this.metrics = metrics;
        this.connectRetries = connectRetries;
        this.maxConnections = maxConnections;
        this.threads = new PerIoThread<>(io -> new UpstreamThread(io, trusts));
    }

    /** Stops every I/O thread's sweep; called as the server closes, before its worker shuts down. */
    void stopSweeps() {
        threads.forEach(UpstreamThread::stopSweep);
    }

    void timeouts(long connectMillis, long requestMillis) {
        connectTimeoutNanos = TimeUnit.MILLISECONDS.toNanos(connectMillis);
        requestTimeoutNanos = TimeUnit.MILLISECONDS.toNanos(requestMillis);
    }

    void forward(HttpServerExchange exchange) {
        boolean body = exchange.getRequestContentLength() > 0
                || exchange.getRequestHeaders().contains(Headers.TRANSFER_ENCODING);
        if (!body
                && exchange.getRequestContentLength() < 0
                && !exchange.isRequestComplete()
                && exchange.getProtocol().equals(Protocols.HTTP_2_0)) {
            // An HTTP/2 stream with DATA to come and no length (a gRPC call): its body is framed by HTTP/2, and on an
            // HTTP/1.1 hop it goes chunked, as if the client had sent it so.
            exchange.getRequestHeaders().put(Headers.TRANSFER_ENCODING, "chunked");
            body = true;
        }
        // Undertow suspended the client's reads just before calling the handler and resumes them when the exchange
        // completes. A byte arriving while no body is being read (a pipelined request, the client closing) reaches
        // Undertow's read listener, which suspends reads itself while a request runs; while a body is read, the
        // exchange's own listener takes them (ProxyExchange.pumpBody).
        keepReading(exchange);
        UpstreamThread thread = thread(exchange.getIoThread());
        exchange.dispatch(SameThreadExecutor.INSTANCE, new ProxyExchange(this, exchange, thread, body));
    }

    /**
     * Turns the client connection's read interest back on at once, where Undertow has just turned it off and would
     * turn it on again later: done before the event loop's next select, the interest never changes in the kernel,
     * which saves two epoll_ctl calls per request.
     */
    static void keepReading(HttpServerExchange exchange) {
        if (exchange.getConnection() instanceof AbstractServerConnection connection) {
            connection.getOriginalSourceConduit().resumeReads();
        }
    }

    /** The I/O thread's state; created on its first request, which starts the thread's sweep. */
    private UpstreamThread thread(XnioIoThread io) {
        UpstreamThread t = threads.get(io);
        if (t == null) {
            // a server's connections all run on its own worker's threads
            throw new IllegalStateException("I/O thread " + io + " is not one of this server's worker's threads");
        }
        return t;
    }

    /**
     * A health check of an HTTP/2 backend, made on {@code io}'s connections to it ({@link StreamProbe}); completes
     * with null when it passed, else with the reason.
     */
    CompletableFuture<String> probe(
            XnioIoThread io, Backend backend, PoolDocument.HealthCheck settings, ByteBufferPool buffers) {
        CompletableFuture<String> result = new CompletableFuture<>();
        io.execute(() -> {
            try {
                StreamProbe.start(thread(io), backend, settings, buffers, result);
            } catch (RuntimeException e) {
                result.complete("the check failed inside the proxy: " + e);
            }
        });
        return result;
    }

    /** Logs a backend's invalid response, at most once per 10 s (each one is counted as upstream_reset). */
    void invalidResponse(Backend backend, String why) {
        long leftOut = invalidResponses.tryAcquire();
        if (leftOut >= 0) {
            log.warn(
                    "Invalid response from backend {}: {}{}",
                    backend,
                    why,
                    leftOut == 0 ? "" : " (and " + leftOut + " more invalid responses since the last such message)");
        }
    }

    /** Logs a fault of the proxy's own on an exchange's path, at most once per 10 s. */
    void unexpected(RuntimeException e) {
        long leftOut = unexpectedFaults.tryAcquire();
        if (leftOut >= 0) {
            log.error(
                    "A request failed inside the proxy{}",
                    leftOut == 0 ? "" : " (and " + leftOut + " more since the last such message)",
                    e);
        }
    }

    /**
     * A connect to {@code backend} failed. {@code circuitBreaker.consecutiveConnectFailures} of them in a row open
     * its breaker at once: a backend whose connects hang would otherwise cost one request in N the whole connect
     * timeout until its failure rate or its health checks caught up (10 calls, or 3 checks 30 s apart, by default).
     * It returns when a health check gets through or, after the breaker's wait, a half-open probe does.
     */
    void connectFailed(Backend backend) {
        int limit = consecutiveConnectFailures();
        int inARow = backend.connectFailed();
        if (limit > 0 && inARow >= limit && backend.eject()) {
            Breakers.open(backend.breaker(), inARow + " connects in a row failed");
            log.warn(
                    "Backend {} out of rotation: {} connects in a row failed; it returns when a health check or a "
                            + "half-open probe gets through",
                    backend,
                    inARow);
        }
    }

    /**
     * Whether a request for the HTTP/2 {@code backend} on {@code thread} would wait for a connect that may hang: it
     * has no usable connection there, and a connect to it is under way there or none may start (its connects under
     * way and failures in a row make {@code consecutiveConnectFailures}). While another backend will do the request
     * goes there, so that a backend whose connects hang costs at most that many requests, as on HTTP/1.1
     * ({@link ProxyExchange}). Never with the limit off, nor while the backend's breaker is half open (its permits
     * then say who may try it).
     */
    boolean crowded(UpstreamThread thread, Backend backend) {
        int limit = consecutiveConnectFailures();
        return !backend.connectsUnlimited(limit) && thread.multiplexed().crowded(backend, limit);
    }

    /**
     * The pool document's {@code circuitBreaker.consecutiveConnectFailures} (0: off): the failures in a row that
     * eject a backend, and the connects under way to one backend beyond which requests go elsewhere while they can.
     */
    int consecutiveConnectFailures() {
        PoolDocument document = pool.snapshot().document();
        return document == null ? 0 : document.circuitBreaker().consecutiveConnectFailures();
    }

    BackendPool pool() {
        return pool;
    }

    ProxyMetrics metrics() {
        return metrics;
    }

    int connectRetries() {
        return connectRetries;
    }

    int maxConnections() {
        return maxConnections;
    }

    long connectTimeoutNanos() {
        return connectTimeoutNanos;
    }

    long requestTimeoutNanos() {
        return requestTimeoutNanos;
    }

    private record GrpcFailures(List<String> names, boolean[] codes) {}

    /** The last document's {@code circuitBreaker.grpcFailureStatuses} as a table by code, made once per list. */
    private volatile GrpcFailures grpcFailures =
            new GrpcFailures(GrpcStatuses.DEFAULT_FAILURES, Grpc.codes(GrpcStatuses.DEFAULT_FAILURES));

    /** The gRPC statuses that count against a backend's breaker, by code: the applied document's. */
    boolean[] grpcFailures() {
        PoolDocument document = pool.snapshot().document();
        List<String> names = document == null
                ? GrpcStatuses.DEFAULT_FAILURES
                : document.circuitBreaker().grpcFailureStatuses();
        GrpcFailures known = grpcFailures;
        if (known.names() != names) {
            known = new GrpcFailures(names, Grpc.codes(names));
            grpcFailures = known;
        }
        return known.codes();
    }

    boolean retryable(HttpServerExchange exchange) {
        return IDEMPOTENT.contains(exchange.getRequestMethod());
    }

    /**
     * Writes the request head for the backend into {@code s}: the client's request line (origin form, as
     * {@link RequestGuard} left it) and fields, minus hop-by-hop ones and those the Connection field names (never
     * {@link HopByHop#nominatable protected} ones), the body's framing in canonical form, an upgrade's Upgrade and
     * Connection fields, and this hop's X-Forwarded fields: For appended to; Proto and Port of the connection the
     * client came in on, and Host as the client sent it (none without one). The Host field passes through
     * unchanged. Expect is not forwarded: this proxy answers
     * {@code 100-continue} itself.
     *
     * @param upgrade the protocol the client asked to switch to (an upgrade request's Upgrade value), or null
     * @return the length written
     */
    int serializeHead(HttpServerExchange exchange, Backend backend, String upgrade, byte[] s) {
        int p = put(s, 0, exchange.getRequestMethod());
        s[p++] = ' ';
        p = put(s, p, exchange.getRequestURI());
        String query = exchange.getQueryString();
        if (!query.isEmpty()) {
            s[p++] = '?';
            p = put(s, p, query);
        }
        System.arraycopy(HTTP_1_1, 0, s, p, HTTP_1_1.length);
        p += HTTP_1_1.length;
        HeaderMap headers = exchange.getRequestHeaders();
        HeaderValues connection = headers.get(Headers.CONNECTION);
        boolean host = false;
        for (long c = headers.fastIterateNonEmpty(); c != -1L; c = headers.fiNextNonEmpty(c)) {
            HeaderValues values = headers.fiCurrent(c);
            HttpString name = values.getHeaderName();
            if (!endToEnd(name, connection)) {
                continue;
            }
            host |= HopByHop.same(name, Headers.HOST);
            for (int i = 0; i < values.size(); i++) {
                p = field(s, p, name, values.get(i));
            }
        }
        if (!host) {
            p = field(s, p, Headers.HOST, backend.uri().getAuthority()); // HTTP/1.0 clients may send none
        }
        if (headers.contains(Headers.TRANSFER_ENCODING)) {
            p = field(s, p, Headers.TRANSFER_ENCODING, "chunked");
        } else {
            String length = headers.getFirst(Headers.CONTENT_LENGTH);
            if (length != null) {
                p = field(s, p, Headers.CONTENT_LENGTH, length);
            }
        }
        if (upgrade != null) {
            p = field(s, p, Headers.UPGRADE, upgrade);
            p = field(s, p, Headers.CONNECTION, "upgrade");
        }
        String client = clientAddress(exchange);
        HeaderValues forwardedFor = headers.get(Headers.X_FORWARDED_FOR);
        if (forwardedFor == null || forwardedFor.getFirst().isEmpty()) {
            p = field(s, p, Headers.X_FORWARDED_FOR, client);
        } else {
            p = put(s, p, Headers.X_FORWARDED_FOR);
            s[p++] = ':';
            s[p++] = ' ';
            for (int i = 0; i < forwardedFor.size(); i++) {
                p = put(s, p, forwardedFor.get(i));
                s[p++] = ',';
            }
            p = put(s, p, client);
            s[p++] = '\r';
            s[p++] = '\n';
        }
        // This hop as the client met it: the scheme and port of the connection it came in on, and its Host as sent.
        boolean https = exchange.getConnection().getSslSessionInfo() != null;
        p = field(s, p, Headers.X_FORWARDED_PROTO, https ? "https" : "http");
        String hostHeader = headers.getFirst(Headers.HOST);
        if (hostHeader != null) {
            p = field(s, p, Headers.X_FORWARDED_HOST, hostHeader);
        }
        p = field(s, p, Headers.X_FORWARDED_PORT, listenerPort(exchange, https));
        s[p++] = '\r';
        s[p++] = '\n';
        return p;
    }

    /**
     * The request's fields for an HTTP/2 backend, by the rules of {@link #serializeHead}: the same fields dropped and
     * added, with two differences HTTP/2 makes. {@code TE: trailers} passes (the one TE value HTTP/2 allows, which
     * gRPC requires), and a body without a length is marked {@code Transfer-Encoding: chunked} for Undertow's client,
     * which sends it as DATA frames and drops the field itself.
     */
    void copyHead(HttpServerExchange exchange, boolean hasBody, HeaderMap out) {
        HeaderMap headers = exchange.getRequestHeaders();
        HeaderValues connection = headers.get(Headers.CONNECTION);
        for (long c = headers.fastIterateNonEmpty(); c != -1L; c = headers.fiNextNonEmpty(c)) {
            HeaderValues values = headers.fiCurrent(c);
            if (endToEnd(values.getHeaderName(), connection)) {
                out.addAll(values.getHeaderName(), values);
            }
        }
        if (HopByHop.asksForTrailers(headers)) {
            out.put(Headers.TE, "trailers");
        }
        String length = headers.getFirst(Headers.CONTENT_LENGTH);
        if (length != null && !headers.contains(Headers.TRANSFER_ENCODING)) {
            out.put(Headers.CONTENT_LENGTH, length);
        } else if (hasBody) {
            out.put(Headers.TRANSFER_ENCODING, "chunked");
        }
        String client = clientAddress(exchange);
        HeaderValues forwardedFor = headers.get(Headers.X_FORWARDED_FOR);
        if (forwardedFor == null || forwardedFor.getFirst().isEmpty()) {
            out.put(Headers.X_FORWARDED_FOR, client);
        } else {
            out.put(Headers.X_FORWARDED_FOR, String.join(",", forwardedFor) + "," + client);
        }
        boolean https = exchange.getConnection().getSslSessionInfo() != null;
        out.put(Headers.X_FORWARDED_PROTO, https ? "https" : "http");
        String hostHeader = headers.getFirst(Headers.HOST);
        if (hostHeader != null) {
            out.put(Headers.X_FORWARDED_HOST, hostHeader);
        }
        out.put(Headers.X_FORWARDED_PORT, listenerPort(exchange, https));
    }

    /**
     * The port the client connected to, as text: the one set for its listener (the port in front of this one), else
     * the listener's own, from its cache.
     */
    private String listenerPort(HttpServerExchange exchange, boolean https) {
        String set = https ? httpsForwarded : plainForwarded;
        if (set != null) {
            return set;
        }
        InetSocketAddress local = exchange.getConnection().getLocalAddress(InetSocketAddress.class);
        int port = local == null ? 0 : local.getPort();
        PortText known = https ? httpsPort : plainPort;
        if (known.port() != port) {
            known = new PortText(port, Integer.toString(port));
            if (https) {
                httpsPort = known;
            } else {
                plainPort = known;
            }
        }
        return known.text();
    }

    private static String clientAddress(HttpServerExchange exchange) {
        InetSocketAddress source = exchange.getSourceAddress();
        if (source == null || source.getAddress() == null) {
            return "unknown";
        }
        return source.getAddress().getHostAddress();
    }

    /**
     * Whether the client's field {@code name} goes on as it came: neither {@link #notForwarded} nor named by the
     * request's {@code connection} field (where naming it may remove it).
     */
    private static boolean endToEnd(HttpString name, HeaderValues connection) {
        return !notForwarded(name)
                && !(connection != null && HopByHop.namedBy(connection, name) && HopByHop.nominatable(name));
    }

    /**
     * Hop-by-hop fields, the fields written after the loop (framing, X-Forwarded-For appended to, this hop's
     * X-Forwarded fields), and Expect.
     */
    private static boolean notForwarded(HttpString name) {
        if (HopByHop.isFixed(name)
                || HopByHop.same(name, Headers.X_FORWARDED_FOR)
                || HopByHop.same(name, Headers.CONTENT_LENGTH)
                || HopByHop.same(name, Headers.TRANSFER_ENCODING)
                || HopByHop.same(name, Headers.EXPECT)) {
            return true;
        }
        for (HttpString set : SET_BY_THIS_HOP) {
            if (HopByHop.same(set, name)) {
                return true;
            }
        }
        return false;
    }

    private static int field(byte[] s, int p, HttpString name, String value) {
        return field(s, p, name, value, 0, value.length());
    }

    /** Writes {@code name: value[from, to)} and the line end. */
    private static int field(byte[] s, int p, HttpString name, String value, int from, int to) {
        p = put(s, p, name);
        s[p++] = ':';
        s[p++] = ' ';
        p = put(s, p, value, from, to);
        s[p++] = '\r';
        s[p++] = '\n';
        return p;
    }

    private static int put(byte[] s, int p, HttpString value) {
        value.copyTo(s, p);
        return p + value.length();
    }

    private static int put(byte[] s, int p, String value) {
        return put(s, p, value, 0, value.length());
    }

    /** Header bytes were read as ISO-8859-1 chars, so each char goes back out as the byte it came from. */
    private static int put(byte[] s, int p, String value, int from, int to) {
        for (int i = from; i < to; i++) {
            s[p++] = (byte) value.charAt(i);
        }
        return p;
    }
}
