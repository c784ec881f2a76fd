package dev.roundhouse.proxy.http;

import dev.roundhouse.proxy.breaker.UpstreamFailure;
import dev.roundhouse.proxy.metrics.MetricNames;
import dev.roundhouse.proxy.pool.Backend;
import io.undertow.connector.PooledByteBuffer;
import io.undertow.server.ExchangeCompletionListener;
import io.undertow.server.HttpServerExchange;
import io.undertow.util.HeaderMap;
import io.undertow.util.Methods;
import org.xnio.ChannelListener;
import org.xnio.IoFuture;
import org.xnio.IoUtils;
import org.xnio.StreamConnection;
import org.xnio.channels.StreamSinkChannel;
import org.xnio.conduits.ConduitStreamSinkChannel;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * One bodiless request on the direct path, from picking a backend to the last byte of the response:
 * the request head goes out as bytes serialised straight from the exchange, the response head is parsed
 * straight into the exchange's response headers, and the body is relayed through one pooled buffer. It
 * keeps the promises of the Undertow path: untried backends after connect failures, a retry after a
 * broken connection for idempotent methods, breaker verdicts, connect and request timeouts, and one
 * request metric. Everything runs on the client connection's I/O thread, which also owns the backend
 * connection.
 */
final class DirectExchange implements Runnable, ExchangeCompletionListener, ChannelListener<StreamSinkChannel> {

    private enum Phase { PICK, WAITING, CONNECTING, SENDING, HEAD, BODY, BLOCKED, DONE }

    // chunked body decoder states (RFC 9112 section 7.1)
    private static final int SIZE = 0;
    private static final int EXTENSION = 1;
    private static final int SIZE_LF = 2;
    private static final int DATA = 3;
    private static final int DATA_CR = 4;
    private static final int DATA_LF = 5;
    private static final int TRAILER_START = 6;
    private static final int TRAILER = 7;
    private static final int END_LF = 8;
    private static final int END = 9;
    private static final int MAX_CHUNK_SIZE_DIGITS = 16;

    private final DirectForwarder forwarder;
    private final HttpServerExchange exchange;
    private final RequestState state;
    private final UpstreamThread thread;
    private final long requestDeadline;
    private long connectDeadline;
    DirectExchange prevDeadline;
    DirectExchange nextDeadline;
    boolean watched;

    private Phase phase = Phase.PICK;
    private UpstreamConnection upstream;
    private IoFuture<StreamConnection> pendingConnect;
    private PooledByteBuffer pooled;
    private ByteBuffer buf;
    private ByteBuffer headOut;
    private int headScanned;
    private ResponseHead.Framing framing;
    private long remaining;
    private int chunkState;
    private int chunkDigits;
    private boolean reusable;
    private boolean responseStarted;
    /** This attempt's connection carried an earlier request (it came from the idle pool or a previous user). */
    private boolean reusedConnection;
    /** Some byte of a response arrived on this attempt's connection. */
    private boolean heardBack;
    private StreamSinkChannel out;
    private ChannelListener<ConduitStreamSinkChannel> backendWritable;

    DirectExchange(DirectForwarder forwarder, HttpServerExchange exchange, UpstreamThread thread) {
        this.forwarder = forwarder;
        this.exchange = exchange;
        this.thread = thread;
        this.state = new RequestState(exchange);
        long timeout = forwarder.requestTimeoutNanos();
        this.requestDeadline = timeout > 0 ? state.startNanos + timeout : Long.MAX_VALUE;
    }

    /** Runs once the handler has returned (the exchange is dispatched to this on its own thread). */
    @Override
    public void run() {
        exchange.addExchangeCompleteListener(this);
        thread.watch(this);
        attempt();
    }

    private void attempt() {
        Backend backend = state.pickNext(forwarder.pool());
        if (backend == null) {
            noBackend();
            return;
        }
        phase = Phase.WAITING;
        if (!thread.acquire(backend, this, forwarder.maxConnections())) {
            queueFull();
        }
    }

    private void queueFull() {
        state.abandon(); // the proxy's queue is full: the proxy is saturated, not the backend broken
        forwarder.metrics().error(MetricNames.ERROR_NO_BACKEND, MetricNames.NO_BACKEND);
        state.served = null;
        answer(503, "service unavailable: too many requests waiting for a backend connection");
    }

    /** A new connection is being opened for this exchange. */
    void connecting(IoFuture<StreamConnection> future) {
        phase = Phase.CONNECTING;
        pendingConnect = future;
        connectDeadline = System.nanoTime() + forwarder.connectTimeoutNanos();
    }

    /**
     * A connection for this exchange's attempt: idle, new or released by another exchange.
     *
     * @return false when the exchange no longer wants one
     */
    boolean connected(UpstreamConnection connection, boolean reused) {
        if ((phase != Phase.CONNECTING && phase != Phase.WAITING) || connection.backend != state.attempt) {
            return false; // (a connection to a backend this exchange moved on from goes to someone else)
        }
        pendingConnect = null;
        upstream = connection;
        connection.user = this;
        reusedConnection = reused;
        heardBack = false;
        state.served = state.attempt;
        send();
        return true;
    }

    /** The connect attempt failed (or was cancelled by this exchange, which then already moved on). */
    void connectFailed(boolean cancelled) {
        if (phase != Phase.CONNECTING || cancelled) {
            return;
        }
        pendingConnect = null;
        connectionFailed();
    }

    /** Nothing was sent: moving on to the next untried backend is safe. */
    private void connectionFailed() {
        state.fail(UpstreamFailure.CONNECT, forwarder.metrics());
        if (state.attempts() <= forwarder.connectRetries()) {
            attempt();
        } else {
            state.served = null;
            noBackend();
        }
    }

    private void send() {
        phase = Phase.SENDING;
        byte[] scratch = thread.scratch;
        int length = forwarder.serializeHead(exchange, state.attempt, scratch);
        // Written from the scratch array; the relay buffer is taken only once the response arrives, so requests
        // waiting on their backend hold none.
        headOut = ByteBuffer.wrap(scratch, 0, length);
        writeHead();
    }

    private void writeHead() {
        try {
            while (headOut.hasRemaining()) {
                if (upstream.sink.write(headOut) == 0) {
                    if (headOut.hasArray() && headOut.array() == thread.scratch) {
                        // the rest must survive other exchanges' use of the thread's scratch array
                        headOut = ByteBuffer.wrap(Arrays.copyOfRange(thread.scratch, headOut.position(), headOut.limit()));
                    }
                    awaitBackendWritable();
                    return;
                }
            }
        } catch (IOException e) {
            brokenBeforeResponse();
            return;
        }
        headOut = null;
        headScanned = 0;
        if (buf != null) {
            buf.clear(); // left from an earlier attempt whose connection broke mid-head
        }
        phase = Phase.HEAD;
    }

    /** Goes on writing the request head once the backend connection can take more. */
    private void awaitBackendWritable() {
        if (backendWritable == null) {
            backendWritable = channel -> {
                channel.suspendWrites();
                if (phase == Phase.SENDING) {
                    upstream.source.resumeReads(); // suspended when the backend spoke before the head was out
                    writeHead();
                }
            };
        }
        upstream.sink.getWriteSetter().set(backendWritable);
        upstream.sink.resumeWrites();
    }

    /** The backend connection is readable (its read interest stays set; see {@link UpstreamConnection}). */
    void backendReadable() {
        switch (phase) {
            case HEAD -> readHead();
            case BODY -> relay();
            case SENDING -> {
                // An answer before the request is out (or the connection closing): read it once the head is sent.
                upstream.source.suspendReads();
                awaitBackendWritable();
            }
            default -> {
                if (upstream != null) {
                    upstream.source.suspendReads();
                }
            }
        }
    }

    private void readHead() {
        if (pooled == null) {
            pooled = exchange.getConnection().getByteBufferPool().allocate();
            buf = pooled.getBuffer();
        }
        int n;
        try {
            n = upstream.source.read(buf);
        } catch (IOException e) {
            n = -1;
        }
        if (n == 0) {
            return;
        }
        if (n < 0) {
            brokenBeforeResponse();
            return;
        }
        heardBack = true;
        byte[] scratch = thread.scratch;
        while (true) {
            // The head is scanned and parsed in the thread's scratch array, cheaper than reading a direct buffer
            // byte by byte. The array is shared by the thread's exchanges, so it is filled from the start each time,
            // 1 KiB first: a head is rarely longer, and body bytes that came with it need no copy.
            int have = buf.position();
            int copied = 0;
            int end = -1;
            while (end < 0 && copied < have) {
                int chunk = Math.min(have - copied, copied == 0 ? 1024 : have);
                buf.get(copied, scratch, copied, chunk);
                copied += chunk;
                end = ResponseHead.end(scratch, Math.max(0, headScanned - 3), copied);
            }
            headScanned = have;
            if (end < 0) {
                if (!buf.hasRemaining()) {
                    badResponse("the response head is larger than " + buf.capacity() + " bytes");
                }
                return;
            }
            ResponseHead head = thread.head;
            HeaderMap headers = exchange.getResponseHeaders();
            if (!head.parse(scratch, end, headers)) {
                badResponse(head.problem);
                return;
            }
            buf.flip().position(end);
            if (head.status >= 200) {
                startResponse(head);
                return;
            }
            if (head.status == 101) {
                badResponse("a protocol switch the request did not ask for");
                return;
            }
            // An interim response (100, 103): not forwarded; the final one follows.
            headers.clear();
            buf.compact();
            headScanned = 0;
        }
    }

    private void startResponse(ResponseHead head) {
        exchange.setStatusCode(head.status);
        reusable = !head.close;
        framing = head.framing(exchange.getRequestMethod().equals(Methods.HEAD));
        remaining = head.contentLength;
        chunkState = SIZE;
        chunkDigits = 0;
        responseStarted = true;
        phase = Phase.BODY;
        if (framing == ResponseHead.Framing.NONE) {
            finishResponse();
            return;
        }
        if (framing == ResponseHead.Framing.UNTIL_CLOSE) {
            reusable = false;
        }
        out = exchange.getResponseChannel();
        relay();
    }

    /** Moves body bytes from the backend to the client until either side has to wait, or the body ends. */
    private void relay() {
        while (true) {
            if (buf.hasRemaining()) {
                if (!consume()) {
                    return;
                }
                continue;
            }
            if (phase != Phase.BODY) {
                return;
            }
            buf.clear();
            int n;
            boolean reset = false;
            try {
                n = upstream.source.read(buf);
            } catch (IOException e) {
                n = -1;
                reset = true; // never the end of a body, not even of one delimited by the close
            }
            buf.flip();
            if (n == 0) {
                return;
            }
            if (n < 0) {
                if (framing == ResponseHead.Framing.UNTIL_CLOSE && !reset) {
                    finishResponse();
                } else {
                    cutByBackend();
                }
                return;
            }
        }
    }

    /**
     * Takes the buffered bytes: body bytes to the client, framing bytes through the decoder.
     *
     * @return false when the relay must stop: the client cannot take more now, the body ended, or it failed
     */
    private boolean consume() {
        if (framing == ResponseHead.Framing.CHUNKED) {
            return consumeChunked();
        }
        if (framing == ResponseHead.Framing.UNTIL_CLOSE) {
            return write(buf.remaining());
        }
        if (buf.remaining() > remaining) {
            reusable = false; // the backend sent more than it announced: this connection's framing is off
        }
        int n = (int) Math.min(remaining, buf.remaining());
        boolean more = write(n);
        if (phase != Phase.DONE && remaining == 0) {
            buf.position(buf.limit());
            finishResponse();
            return false;
        }
        return more;
    }

    private boolean consumeChunked() {
        while (buf.hasRemaining()) {
            if (chunkState == DATA) {
                int n = (int) Math.min(remaining, buf.remaining());
                if (!write(n)) {
                    return false;
                }
                if (remaining == 0) {
                    chunkState = DATA_CR;
                }
                continue;
            }
            byte c = buf.get();
            switch (chunkState) {
                case SIZE -> {
                    int digit = Character.digit(c, 16);
                    if (digit >= 0) {
                        if (++chunkDigits > MAX_CHUNK_SIZE_DIGITS || remaining > (Long.MAX_VALUE >> 4)) {
                            return cutByBackend();
                        }
                        remaining = (chunkDigits == 1 ? 0 : remaining << 4) | digit;
                    } else if (chunkDigits > 0 && (c == ';' || c == ' ' || c == '\t')) {
                        chunkState = EXTENSION;
                    } else if (chunkDigits > 0 && c == '\r') {
                        chunkState = SIZE_LF;
                    } else if (chunkDigits > 0 && c == '\n') {
                        sizeLineEnded();
                    } else {
                        return cutByBackend();
                    }
                }
                case EXTENSION -> {
                    if (c == '\n') {
                        sizeLineEnded();
                    }
                }
                case SIZE_LF -> {
                    if (c != '\n') {
                        return cutByBackend();
                    }
                    sizeLineEnded();
                }
                case DATA_CR -> {
                    if (c == '\r') {
                        chunkState = DATA_LF;
                    } else if (c == '\n') {
                        nextChunk();
                    } else {
                        return cutByBackend();
                    }
                }
                case DATA_LF -> {
                    if (c != '\n') {
                        return cutByBackend();
                    }
                    nextChunk();
                }
                case TRAILER_START -> {
                    if (c == '\r') {
                        chunkState = END_LF;
                    } else if (c == '\n') {
                        chunkState = END;
                    } else {
                        chunkState = TRAILER; // trailer fields are not forwarded
                    }
                }
                case TRAILER -> {
                    if (c == '\n') {
                        chunkState = TRAILER_START;
                    }
                }
                case END_LF -> {
                    if (c != '\n') {
                        return cutByBackend();
                    }
                    chunkState = END;
                }
                default -> throw new IllegalStateException("chunk state " + chunkState);
            }
            if (chunkState == END) {
                if (buf.hasRemaining()) {
                    reusable = false;
                    buf.position(buf.limit());
                }
                finishResponse();
                return false;
            }
        }
        return true;
    }

    private void sizeLineEnded() {
        chunkState = remaining == 0 ? TRAILER_START : DATA;
    }

    private void nextChunk() {
        chunkState = SIZE;
        chunkDigits = 0;
        remaining = 0;
    }

    /**
     * Writes the next {@code n} buffered bytes to the client.
     *
     * @return false when the client could not take them all (the relay resumes when it can) or went away
     */
    private boolean write(int n) {
        int limit = buf.limit();
        buf.limit(buf.position() + n);
        int written;
        try {
            written = out.write(buf);
        } catch (IOException e) {
            // Not buf.limit(limit): the failed write may already have closed the exchange, which released the
            // buffer (seen as a NullPointerException in BackendResetMidResponseTest). It is not used again anyway.
            clientGone();
            return false;
        }
        buf.limit(limit);
        remaining -= written;
        if (written < n) {
            phase = Phase.BLOCKED;
            upstream.source.suspendReads();
            out.getWriteSetter().set(this);
            out.resumeWrites();
            return false;
        }
        return true;
    }

    /** The client can take more of the body. */
    @Override
    public void handleEvent(StreamSinkChannel channel) {
        channel.suspendWrites();
        if (phase == Phase.BLOCKED) {
            phase = Phase.BODY;
            upstream.source.resumeReads();
            relay();
        }
    }

    private void finishResponse() {
        phase = Phase.DONE;
        UpstreamConnection connection = upstream;
        upstream = null;
        if (connection != null) {
            thread.release(connection, reusable && !buf.hasRemaining());
        }
        freeBuffer();
        exchange.endExchange();
    }

    /** The connection broke before a whole response head arrived: retry if that is harmless, else 502. */
    private void brokenBeforeResponse() {
        dropUpstream();
        exchange.getResponseHeaders().clear();
        if (reusedConnection && !heardBack && forwarder.retryable(exchange)) {
            // A kept-alive connection the backend closed as this request went out on it (its idle timeout raced the
            // request): not the backend failing. Again on another connection to the same backend, same permit; each
            // such retry uses up one reused connection, and a failure on a new one is charged as usual.
            phase = Phase.WAITING;
            if (!thread.acquire(state.attempt, this, forwarder.maxConnections())) {
                queueFull();
            }
            return;
        }
        state.fail(UpstreamFailure.RESET, forwarder.metrics());
        if (forwarder.retryable(exchange) && state.attempts() <= forwarder.connectRetries()) {
            attempt();
        } else {
            answer(502, "bad gateway: the connection to the backend failed");
        }
    }

    /** The backend's response head is malformed or too large: it is not forwarded. */
    private void badResponse(String why) {
        dropUpstream();
        exchange.getResponseHeaders().clear();
        state.fail(UpstreamFailure.RESET, forwarder.metrics());
        forwarder.invalidResponse(state.served, why);
        answer(502, "bad gateway: the backend's response was invalid");
    }

    /**
     * The backend's body broke off (connection closed, reset or malformed chunking): the client connection is
     * closed too, so the client sees a cut response rather than a complete-looking one.
     */
    private boolean cutByBackend() {
        state.fail(UpstreamFailure.RESET, forwarder.metrics());
        abortBoth();
        return false;
    }

    private void clientGone() {
        state.clientWriteFailed = true;
        abortBoth();
    }

    private void abortBoth() {
        phase = Phase.DONE;
        dropUpstream();
        freeBuffer();
        IoUtils.safeClose(exchange.getConnection());
    }

    /** The sweep found this exchange overdue: the connect timeout or the request timeout passed. */
    boolean overdue(long now) {
        return now >= requestDeadline || (phase == Phase.CONNECTING && now >= connectDeadline);
    }

    void deadlinePassed(long now) {
        if (phase == Phase.DONE) {
            return;
        }
        if (now < requestDeadline) { // the connect timeout alone
            cancelConnect();
            connectionFailed();
            return;
        }
        thread.unwatch(this);
        Phase was = phase;
        cancelConnect();
        if (was == Phase.WAITING) {
            thread.stopWaiting(state.attempt, this);
            state.abandon(); // stuck in this proxy's queue: not the backend's doing
        }
        state.fail(UpstreamFailure.TIMEOUT, forwarder.metrics());
        if (responseStarted) {
            abortBoth(); // mid-body: the client sees the response cut
            return;
        }
        dropUpstream();
        exchange.getResponseHeaders().clear();
        exchange.setPersistent(false);
        answer(504, "gateway timeout: the backend did not answer in time");
    }

    private void cancelConnect() {
        IoFuture<StreamConnection> future = pendingConnect;
        pendingConnect = null;
        phase = Phase.PICK;
        if (future != null) {
            future.cancel();
        }
    }

    private void dropUpstream() {
        UpstreamConnection connection = upstream;
        upstream = null;
        if (connection != null) {
            connection.close();
        }
    }

    private void freeBuffer() {
        if (pooled != null) {
            pooled.close();
            pooled = null;
            buf = null;
        }
    }

    private void noBackend() {
        String reason = state.noBackend(forwarder.metrics());
        state.served = null;
        answer(503, reason);
    }

    private void answer(int status, String reason) {
        phase = Phase.DONE;
        freeBuffer();
        Responses.plain(exchange, status, reason);
    }

    /** The exchange ended, however it ended: verdict, metric, and nothing left behind. */
    @Override
    public void exchangeEvent(HttpServerExchange ended, NextListener next) {
        try {
            thread.unwatch(this);
            if (phase != Phase.DONE) {
                // Ended from outside: the client connection closed while the request was in flight.
                Phase was = phase;
                cancelConnect();
                if (was == Phase.WAITING && state.attempt != null) {
                    thread.stopWaiting(state.attempt, this);
                }
                dropUpstream();
                freeBuffer();
                phase = Phase.DONE;
                if (!responseStarted) {
                    state.abandon();
                }
            }
            int status = ended.getStatusCode();
            if (state.permitHeld()) {
                if (status >= 500) {
                    state.fail(UpstreamFailure.STATUS_5XX, forwarder.metrics());
                } else {
                    state.succeed();
                }
            }
            Backend served = state.served;
            forwarder.metrics().request(ended.getRequestMethod().toString(), status,
                    served == null ? MetricNames.NO_BACKEND : served.key(), System.nanoTime() - state.startNanos);
        } finally {
            next.proceed();
        }
    }
}
