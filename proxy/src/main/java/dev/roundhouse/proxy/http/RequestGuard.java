package dev.roundhouse.proxy.http;

import dev.roundhouse.proxy.metrics.MetricNames;
import dev.roundhouse.proxy.metrics.ProxyMetrics;
import io.undertow.client.ClientCallback;
import io.undertow.client.ClientConnection;
import io.undertow.client.ClientExchange;
import io.undertow.client.ClientRequest;
import io.undertow.client.ClientStatistics;
import io.undertow.connector.ByteBufferPool;
import io.undertow.server.ConduitWrapper;
import io.undertow.server.DefaultResponseListener;
import io.undertow.server.ExchangeCompletionListener;
import io.undertow.server.HttpHandler;
import io.undertow.server.HttpServerExchange;
import io.undertow.server.RequestTooBigException;
import io.undertow.server.handlers.proxy.ProxyConnection;
import io.undertow.util.AttachmentKey;
import io.undertow.util.ConduitFactory;
import io.undertow.util.HeaderValues;
import io.undertow.util.Headers;
import io.undertow.util.Methods;
import org.xnio.ChannelListener;
import org.xnio.IoUtils;
import org.xnio.Option;
import org.xnio.Options;
import org.xnio.StreamConnection;
import org.xnio.XnioIoThread;
import org.xnio.XnioWorker;
import org.xnio.channels.StreamSinkChannel;
import org.xnio.conduits.AbstractStreamSourceConduit;
import org.xnio.conduits.ConduitReadableByteChannel;
import org.xnio.conduits.StreamSourceConduit;

import java.io.IOException;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.util.Objects;
import java.util.concurrent.TimeUnit;

/**
 * Refuses requests the proxy must not forward, and keeps a client's broken body from reaching a
 * backend as a complete request:
 * <ul>
 *   <li>body framing two parsers could read differently, the root of request smuggling (RFC 9112
 *       section 6.3): Content-Length together with Transfer-Encoding, several or malformed
 *       Content-Length values, and any transfer coding but a single "chunked". These get 400 and their
 *       connection is closed, since where their body ends is unknown. Connections that carried a
 *       chunked body are closed after the response.</li>
 *   <li>bodies over {@code MAX_REQUEST_BODY}: a Content-Length over the limit gets 413 at once, before
 *       anything is forwarded (also with {@code Expect: 100-continue}, so no 100 is sent); a chunked
 *       body that grows past it is cut there, and the client gets 413 if no response has started.
 *       Either way the connection is closed.</li>
 *   <li>bodies that end badly (a malformed or missing chunk, the client gone or cut at the limit) must
 *       not look complete to the backend: Undertow's proxy closes the backend connection cleanly then,
 *       which for a chunked request writes the last chunk (or rewrites a request with nothing forwarded
 *       yet to {@code Content-Length: 0}), so the backend would act on a truncated body.
 *       {@link #backendConnection} wraps the backend connection so that it is aborted instead.</li>
 * </ul>
 * CONNECT is refused with 405: it asks for a tunnel, which is a forward proxy's job. Framing headers
 * are forwarded in canonical form. Refusals are counted in {@code roundhouse_requests_total} with
 * {@code backend="none"}.
 */
final class RequestGuard implements HttpHandler {

    private static final AttachmentKey<Body> BODY = AttachmentKey.create(Body.class);
    /** The Allow header of the 405 answer to CONNECT: the methods a reverse proxy forwards. */
    private static final String ALLOWED_METHODS = "GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS, TRACE";

    private final HttpHandler next;
    private final long maxBodyBytes;
    private final ProxyMetrics metrics;
    private final ConduitWrapper<StreamSourceConduit> bodyWatch;
    private final DefaultResponseListener tooLargeAnswer = RequestGuard::answerTooLarge;

    /**
     * @param maxBodyBytes the largest request body forwarded, in bytes; 0 for no limit
     * @param metrics where refusals are counted
     */
    RequestGuard(HttpHandler next, long maxBodyBytes, ProxyMetrics metrics) {
        if (maxBodyBytes < 0) {
            throw new IllegalArgumentException("maxBodyBytes must be 0 (no limit) or more: " + maxBodyBytes);
        }
        this.next = next;
        this.maxBodyBytes = maxBodyBytes;
        this.metrics = Objects.requireNonNull(metrics, "metrics");
        this.bodyWatch = (ConduitFactory<StreamSourceConduit> factory, HttpServerExchange exchange) ->
                new BodyConduit(factory.create(), exchange.getAttachment(BODY));
    }

    @Override
    public void handleRequest(HttpServerExchange exchange) throws Exception {
        if (exchange.getRequestMethod().equals(Methods.CONNECT)) {
            // A tunnel request is for forward proxies; forwarded, a backend answering 2xx would turn
            // the client connection into a raw tunnel to it.
            exchange.getResponseHeaders().put(Headers.ALLOW, ALLOWED_METHODS);
            refuse(exchange, 405, "method not allowed: CONNECT is not supported by this reverse proxy");
            return;
        }
        String problem = framingProblem(exchange);
        if (problem != null) {
            refuse(exchange, 400, "bad request: " + problem);
            return;
        }
        normaliseFraming(exchange);
        if (exchange.isHostIncludedInRequestURI()) {
            // Absolute form ("GET http://host/path"): the backend gets the origin form. Undertow's proxy
            // strips the scheme and authority only when a path follows them, so "GET http://host"
            // would otherwise reach the backend naming a host outside the pool.
            exchange.setRequestURI(originForm(exchange.getRequestURI()), false);
        }
        long length = exchange.getRequestContentLength(); // -1 when absent
        boolean chunked = exchange.getRequestHeaders().contains(Headers.TRANSFER_ENCODING);
        if (maxBodyBytes > 0 && length > maxBodyBytes) {
            refuse(exchange, 413, "payload too large: the body of " + length
                    + " bytes is over this proxy's limit of " + maxBodyBytes + " bytes");
            return;
        }
        if (chunked || length > 0) {
            exchange.putAttachment(BODY, new Body(maxBodyBytes));
            exchange.addRequestWrapper(bodyWatch);
        }
        if (chunked) {
            // Undertow's chunk parser is lenient (a size line without digits reads as the last
            // chunk); closing after a chunked request means bytes a stricter parser would count as
            // body can never be read here as a second, smuggled request.
            exchange.setPersistent(false);
        }
        next.handleRequest(exchange);
        if (chunked && maxBodyBytes > 0) {
            // Added after the proxy's own listener, so it runs first (Undertow calls the last added
            // first). The proxy reads the body only once the handlers have returned.
            exchange.addDefaultResponseListener(tooLargeAnswer);
        }
    }

    /** Answers 413 for an exchange whose body went past the limit, unless a response has started. */
    private static boolean answerTooLarge(HttpServerExchange exchange) {
        Body body = exchange.getAttachment(BODY);
        if (body == null || !body.overLimit || exchange.isResponseStarted() || !exchange.getConnection().isOpen()) {
            return false;
        }
        exchange.setPersistent(false);
        exchange.getResponseHeaders().clear();
        Responses.plain(exchange, 413, "payload too large: the body is over this proxy's limit of "
                + body.limit + " bytes");
        return true;
    }

    private void refuse(HttpServerExchange exchange, int status, String reason) {
        exchange.setPersistent(false);
        long start = System.nanoTime();
        exchange.addExchangeCompleteListener((HttpServerExchange ex, ExchangeCompletionListener.NextListener nl) -> {
            try {
                metrics.request(ex.getRequestMethod().toString(), ex.getStatusCode(), MetricNames.NO_BACKEND,
                        System.nanoTime() - start);
            } finally {
                nl.proceed();
            }
        });
        Responses.plain(exchange, status, reason);
    }

    /** True when the exchange's chunked body went past the body limit (the client is then answered 413). */
    static boolean bodyOverLimit(HttpServerExchange exchange) {
        Body body = exchange.getAttachment(BODY);
        return body != null && body.overLimit;
    }

    /**
     * True when reading the client's body failed: malformed chunks, the connection closed before the
     * end, or the body over the limit. A backend request that fails then failed because of the
     * client, not the backend.
     */
    static boolean clientBodyFailed(HttpServerExchange exchange) {
        Body body = exchange.getAttachment(BODY);
        return body != null && body.failed;
    }

    /**
     * True when the proxy is waiting for more of the client's body: its end not read, nothing failed,
     * and the last read found no data (rather than data the backend has yet to take). A request timeout
     * then is the client's slowness, not the backend's.
     */
    static boolean awaitingClientBody(HttpServerExchange exchange) {
        Body body = exchange.getAttachment(BODY);
        return body != null && !body.ended && !body.failed && body.waitingForClient;
    }

    /** True when the request has a body whose end has not been read (still arriving, or failed). */
    static boolean bodyUnfinished(HttpServerExchange exchange) {
        Body body = exchange.getAttachment(BODY);
        return body != null && !body.ended;
    }

    /**
     * The backend connection for this exchange, wrapped so that closing it while the client's body is
     * unfinished aborts it (the backend sees a reset, never a complete request). Undertow's proxy closes
     * the backend connection when reading the client's body fails or the request times out, and its
     * clean close would end a chunked request with its last chunk. Requests without a body get the
     * connection as it is.
     */
    static ProxyConnection backendConnection(HttpServerExchange exchange, ProxyConnection connection) {
        Body body = exchange.getAttachment(BODY);
        if (body == null) {
            return connection;
        }
        return new ProxyConnection(new AbortUnfinished(connection.getConnection(), body), connection.getTargetPath());
    }

    static String framingProblem(HttpServerExchange exchange) {
        HeaderValues contentLength = exchange.getRequestHeaders().get(Headers.CONTENT_LENGTH);
        HeaderValues transferEncoding = exchange.getRequestHeaders().get(Headers.TRANSFER_ENCODING);
        if (contentLength != null && transferEncoding != null) {
            return "both Content-Length and Transfer-Encoding";
        }
        if (contentLength != null) {
            if (contentLength.size() != 1) {
                return "more than one Content-Length";
            }
            String value = contentLength.getFirst();
            if (value.isEmpty() || value.length() > 18 || !value.chars().allMatch(c -> c >= '0' && c <= '9')) {
                return "invalid Content-Length";
            }
        }
        if (transferEncoding != null
                && (transferEncoding.size() != 1 || !transferEncoding.getFirst().equalsIgnoreCase("chunked"))) {
            return "unsupported Transfer-Encoding (only a single 'chunked' is accepted)";
        }
        return null;
    }

    /**
     * Forwards the framing headers in their canonical form ("005" as "5", "CHUNKED" as "chunked"), so
     * a backend cannot read a value this proxy accepted differently. Runs after {@link #framingProblem}.
     */
    private static void normaliseFraming(HttpServerExchange exchange) {
        String contentLength = exchange.getRequestHeaders().getFirst(Headers.CONTENT_LENGTH);
        if (contentLength != null) {
            String canonical = Long.toString(Long.parseLong(contentLength));
            if (!canonical.equals(contentLength)) {
                exchange.getRequestHeaders().put(Headers.CONTENT_LENGTH, canonical);
            }
        }
        String transferEncoding = exchange.getRequestHeaders().getFirst(Headers.TRANSFER_ENCODING);
        if (transferEncoding != null && !transferEncoding.equals(Headers.CHUNKED.toString())) {
            exchange.getRequestHeaders().put(Headers.TRANSFER_ENCODING, Headers.CHUNKED.toString());
        }
    }

    /** The path of an absolute-form target ("http://user@host:81/p" gives "/p"), "/" when it has none. */
    static String originForm(String absolute) {
        int scheme = absolute.indexOf("://");
        int path = absolute.indexOf('/', scheme < 0 ? 0 : scheme + 3);
        return path < 0 ? "/" : absolute.substring(path);
    }

    /** What is known about one request's body; touched only from the exchange's I/O thread. */
    private static final class Body {
        /** Limit in bytes, 0 for none. */
        final long limit;
        long read;
        /** Its end was read: the last chunk, or the last byte of its Content-Length. */
        boolean ended;
        /** Reading it failed (malformed, cut short by the client) or it went over the limit. */
        boolean failed;
        boolean overLimit;
        /** The last read found no data: the proxy waits for the client. */
        boolean waitingForClient;

        Body(long limit) {
            this.limit = limit;
        }
    }

    /**
     * Watches the decoded bytes of a request body: notes when its end is read, and fails the read
     * that would go past the limit, so the bytes over it never reach the backend. One byte more than
     * the limit is read to tell "exactly at the limit" from "over".
     */
    private static final class BodyConduit extends AbstractStreamSourceConduit<StreamSourceConduit> {

        private final Body body;

        BodyConduit(StreamSourceConduit next, Body body) {
            super(next);
            this.body = body;
        }

        @Override
        public int read(ByteBuffer dst) throws IOException {
            if (body.overLimit) {
                throw overLimit();
            }
            int oldLimit = dst.limit();
            if (body.limit > 0) {
                long allowed = body.limit - body.read + 1; // at least 1: read never passes the limit unnoticed
                if (dst.remaining() > allowed) {
                    dst.limit(dst.position() + (int) allowed);
                }
            }
            int n;
            try {
                n = next.read(dst);
            } catch (IOException | RuntimeException e) {
                body.failed = true;
                throw e;
            } finally {
                dst.limit(oldLimit);
            }
            body.waitingForClient = n == 0;
            if (n > 0) {
                body.read += n;
                if (body.limit > 0 && body.read > body.limit) {
                    dst.position(dst.position() - n); // nothing of this read goes on
                    body.overLimit = true;
                    body.failed = true;
                    throw overLimit();
                }
            } else if (n == -1) {
                body.ended = true;
            }
            return n;
        }

        @Override
        public long read(ByteBuffer[] dsts, int offs, int len) throws IOException {
            for (int i = offs; i < offs + len; i++) {
                if (dsts[i].hasRemaining()) {
                    return read(dsts[i]);
                }
            }
            return 0;
        }

        @Override
        public long transferTo(long position, long count, FileChannel target) throws IOException {
            return target.transferFrom(new ConduitReadableByteChannel(this), position, count);
        }

        @Override
        public long transferTo(long count, ByteBuffer throughBuffer, StreamSinkChannel target) throws IOException {
            return IoUtils.transfer(new ConduitReadableByteChannel(this), count, throughBuffer, target);
        }

        private IOException overLimit() {
            return new RequestTooBigException("request body over the limit of " + body.limit + " bytes");
        }
    }

    /** A backend connection that is aborted, not closed cleanly, while the client's body is unfinished. */
    private static final class AbortUnfinished implements ClientConnection {

        private final ClientConnection delegate;
        private final Body body;

        AbortUnfinished(ClientConnection delegate, Body body) {
            this.delegate = delegate;
            this.body = body;
        }

        @Override
        public void close() throws IOException {
            if (!body.ended && delegate.isOpen()) {
                try {
                    // The raw connection, without the request's framing conduits: closing it writes no
                    // last chunk; CLOSE_ABORT resets it, so the backend reads an error, not an end.
                    StreamConnection raw = delegate.performUpgrade();
                    raw.setOption(Options.CLOSE_ABORT, true);
                    IoUtils.safeClose(raw);
                } catch (IOException | RuntimeException e) {
                    // not an HTTP/1 connection in a state to be taken over: fall back to closing it
                }
            }
            delegate.close();
        }

        @Override
        public void sendRequest(ClientRequest request, ClientCallback<ClientExchange> callback) {
            delegate.sendRequest(request, callback);
        }

        @Override
        public StreamConnection performUpgrade() throws IOException {
            return delegate.performUpgrade();
        }

        @Override
        public ByteBufferPool getBufferPool() {
            return delegate.getBufferPool();
        }

        @Override
        public SocketAddress getPeerAddress() {
            return delegate.getPeerAddress();
        }

        @Override
        public <A extends SocketAddress> A getPeerAddress(Class<A> type) {
            return delegate.getPeerAddress(type);
        }

        @Override
        public ChannelListener.Setter<? extends ClientConnection> getCloseSetter() {
            return delegate.getCloseSetter();
        }

        @Override
        public SocketAddress getLocalAddress() {
            return delegate.getLocalAddress();
        }

        @Override
        public <A extends SocketAddress> A getLocalAddress(Class<A> type) {
            return delegate.getLocalAddress(type);
        }

        @Override
        public XnioWorker getWorker() {
            return delegate.getWorker();
        }

        @Override
        public XnioIoThread getIoThread() {
            return delegate.getIoThread();
        }

        @Override
        public boolean isOpen() {
            return delegate.isOpen();
        }

        @Override
        public boolean supportsOption(Option<?> option) {
            return delegate.supportsOption(option);
        }

        @Override
        public <T> T getOption(Option<T> option) throws IOException {
            return delegate.getOption(option);
        }

        @Override
        public <T> T setOption(Option<T> option, T value) throws IOException {
            return delegate.setOption(option, value);
        }

        @Override
        public boolean isUpgraded() {
            return delegate.isUpgraded();
        }

        @Override
        public boolean isPushSupported() {
            return delegate.isPushSupported();
        }

        @Override
        public boolean isMultiplexingSupported() {
            return delegate.isMultiplexingSupported();
        }

        @Override
        public ClientStatistics getStatistics() {
            return delegate.getStatistics();
        }

        @Override
        public boolean isUpgradeSupported() {
            return delegate.isUpgradeSupported();
        }

        @Override
        public void addCloseListener(ChannelListener<ClientConnection> listener) {
            delegate.addCloseListener(listener);
        }

        @Override
        public boolean isPingSupported() {
            return delegate.isPingSupported();
        }

        @Override
        public void sendPing(PingListener listener, long timeout, TimeUnit timeUnit) {
            delegate.sendPing(listener, timeout, timeUnit);
        }
    }
}
