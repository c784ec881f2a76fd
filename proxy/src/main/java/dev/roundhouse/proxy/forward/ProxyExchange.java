package dev.roundhouse.proxy.forward;

import dev.roundhouse.proxy.breaker.UpstreamFailure;
import dev.roundhouse.proxy.codec.ChunkedDecoder;
import dev.roundhouse.proxy.codec.HopByHop;
import dev.roundhouse.proxy.codec.ResponseHead;
import dev.roundhouse.proxy.codec.Responses;
import dev.roundhouse.proxy.metrics.MetricNames;
import dev.roundhouse.proxy.pool.Backend;
import dev.roundhouse.proxy.server.MalformedRequestBodyException;
import dev.roundhouse.proxy.upstream.UpstreamConnection;
import dev.roundhouse.proxy.upstream.UpstreamExchange;
import dev.roundhouse.proxy.upstream.UpstreamThread;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.undertow.connector.PooledByteBuffer;
import io.undertow.server.AbstractServerConnection;
import io.undertow.server.Connectors;
import io.undertow.server.ExchangeCompletionListener;
import io.undertow.server.HttpServerExchange;
import io.undertow.server.RequestTooBigException;
import io.undertow.server.protocol.http.HttpContinue;
import io.undertow.server.protocol.http.HttpServerConnection;
import io.undertow.util.HeaderMap;
import io.undertow.util.HeaderValues;
import io.undertow.util.Headers;
import io.undertow.util.Methods;
import io.undertow.util.Protocols;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.xnio.ChannelListener;
import org.xnio.ChannelListeners;
import org.xnio.IoFuture;
import org.xnio.IoUtils;
import org.xnio.StreamConnection;
import org.xnio.channels.StreamSinkChannel;
import org.xnio.channels.StreamSourceChannel;
import org.xnio.conduits.ConduitStreamSinkChannel;
import org.xnio.conduits.StreamSinkConduit;

/**
 * One client request on its way through the pool, from picking a backend to the last byte of the response. The
 * request head goes out as bytes serialised straight from the exchange; a request body is streamed to the backend
 * as it arrives (re-framed in canonical chunks when it came chunked) while the response may already come back;
 * the response head is parsed straight into the exchange's response headers, interim responses are passed on, and
 * the body is relayed through one pooled buffer; a protocol switch becomes a {@link Tunnel}. It keeps the request's
 * promises: untried backends after connect failures, a retry after a broken connection only for idempotent methods
 * and only while none of the client's body was consumed, breaker verdicts that never blame a backend for the
 * client's own broken or slow body, connect and request timeouts, and one request metric. Everything runs on the
 * client connection's I/O thread, which also owns the backend connection.
 */
final class ProxyExchange extends UpstreamExchange implements Runnable, ExchangeCompletionListener {

    /** Where the response side is. */
    private enum Phase {
        PICK,
        WAITING,
        CONNECTING,
        SENDING,
        HEAD,
        BODY,
        BLOCKED,
        TUNNEL,
        DONE
    }

    /** Where the request body is. */
    private enum Body {
        NONE,
        PENDING,
        CONTINUE,
        READING,
        WRITING,
        DONE,
        FAILED
    }

    /** Interim responses passed on per request, at most: a backend sending them without end is cut off. */
    private static final int MAX_INTERIM = 16;
    /** Room kept in front of body data for a chunk-size line, and after it for its CRLF. */
    private static final int CHUNK_HEAD_ROOM = 10;

    private static final int CHUNK_TAIL_ROOM = 2;
    private static final byte[] LAST_CHUNK = "0\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] CONTINUE = "HTTP/1.1 100 Continue\r\n\r\n".getBytes(StandardCharsets.US_ASCII);

    private final Forwarder forwarder;
    private final HttpServerExchange exchange;
    private final RequestState state;
    private final UpstreamThread thread;
    private final long requestDeadline;
    /** The protocol the client asked to switch to, when this is an upgrade request; else null. */
    private final String upgrade;

    private long connectDeadline;

    private Phase phase = Phase.PICK;
    private UpstreamConnection upstream;
    private IoFuture<? extends StreamConnection> pendingConnect;
    /** A place among a crowded-able backend's connects under way, taken while picking it, until the connect starts. */
    private Backend connectReserved;
    /** Response side: the relay buffer. */
    private PooledByteBuffer pooled;

    private ByteBuffer buf;
    private ByteBuffer headOut;
    private int headScanned;
    private ResponseHead.Framing framing;
    private long remaining;
    private ChunkedDecoder chunks;
    private boolean reusable;
    private boolean responseStarted;
    /** The response has been relayed whole (the request body may still be on its way). */
    private boolean responseDone;
    /** The last read of the response filled the relay buffer: more may wait in the socket. */
    private boolean lastReadFull;

    private int interimCount;
    private ByteBuffer interimOut;
    /** This attempt's connection carried an earlier request (it came from the idle pool or a previous user). */
    private boolean reusedConnection;
    /** Some byte of a response arrived on this attempt's connection. */
    private boolean heardBack;

    private StreamSinkChannel out;
    private final ChannelListener<ConduitStreamSinkChannel> backendWritable = channel -> {
        channel.suspendWrites();
        guarded(this::backendWritable);
    };
    private final ChannelListener<StreamSinkChannel> clientWritable = channel -> {
        channel.suspendWrites();
        guarded(this::clientWritable);
    };
    private final ChannelListener<StreamSourceChannel> clientReadable = channel -> {
        waitingForClient = false;
        guarded(this::pumpBody);
        if (!this.waitingForClient) {
            // The body ended, failed, or waits for the backend to take more: no reading until then. While it still
            // waits for the client, read interest stays on, with no epoll_ctl between one part and the next.
            channel.suspendReads();
        }
    };

    /** Request side. */
    private Body body;

    private final boolean chunkedBody;
    private StreamSourceChannel requestChannel;
    private PooledByteBuffer bodyPooled;
    private ByteBuffer bodyOut;
    /** Some of the client's body was read: the request can no longer be sent again. */
    private boolean bodyConsumed;
    /** The last read of the client's body found nothing: the exchange waits for the client. */
    private boolean waitingForClient;

    private boolean lastChunkQueued;

    ProxyExchange(Forwarder forwarder, HttpServerExchange exchange, UpstreamThread thread, boolean hasBody) {
        this.forwarder = forwarder;
        this.exchange = exchange;
        this.thread = thread;
        this.state = new RequestState(exchange);
        long timeout = forwarder.requestTimeoutNanos();
        this.requestDeadline = timeout > 0 ? state.startNanos + timeout : Long.MAX_VALUE;
        this.body = hasBody ? Body.PENDING : Body.NONE;
        this.chunkedBody = hasBody && exchange.getRequestHeaders().contains(Headers.TRANSFER_ENCODING);
        HeaderMap headers = exchange.getRequestHeaders();
        String asked = headers.getFirst(Headers.UPGRADE);
        boolean upgradeRequest = asked != null
                && HopByHop.isUpgrade(headers)
                && !hasBody
                && exchange.getProtocol().equals(Protocols.HTTP_1_1);
        this.upgrade = upgradeRequest ? asked : null;
        if (asked != null && !upgradeRequest) {
            // Not switched, so the connection goes on as HTTP, but its later heads would not be checked
            // (RequestHeadGate stops at an Upgrade field): it ends with this response.
            exchange.setPersistent(false);
        }
    }

    /** Runs once the handler has returned (the exchange is dispatched to this on its own thread). */
    @Override
    public void run() {
        exchange.addExchangeCompleteListener(this);
        thread.watch(this);
        guarded(this::attempt);
    }

    /** Runs a step of the exchange from an event; a fault in it ends the exchange ({@link #unexpected}). */
    void guarded(Runnable step) {
        try {
            step.run();
        } catch (RuntimeException e) {
            unexpected(e);
        }
    }

    /**
     * A fault of this proxy's own on the exchange's path (a bug, or input it failed to foresee): logged (at most
     * once per 10 s), and the exchange ends at once, answered 502 or cut, rather than left hanging. No verdict on
     * the backend.
     */
    void unexpected(RuntimeException e) {
        forwarder.unexpected(e);
        releaseConnectPlace();
        try {
            state.abandon();
            if (responseStarted || phase == Phase.TUNNEL) {
                abortBoth();
                return;
            }
            dropUpstream(true);
            exchange.getResponseHeaders().clear();
            state.served = null;
            answer(502, "bad gateway: the proxy failed to forward this request");
        } catch (RuntimeException again) {
            IoUtils.safeClose(exchange.getConnection());
        }
    }

    private void attempt() {
        Backend backend = pickNext();
        if (backend == null) {
            noBackend();
            return;
        }
        acquire(backend);
    }

    /** The backend for this request's next attempt, if any, passing over crowded ones while another will do. */
    private Backend pickNext() {
        Backend backend = state.pickNext(forwarder.pool(), this::crowded);
        if (connectReserved != backend) {
            releaseConnectPlace(); // reserved for a backend its breaker then passed over
        }
        return backend;
    }

    /** A connection to {@code backend} for this attempt: an idle one, a new one, or a place in its queue. */
    private void acquire(Backend backend) {
        phase = Phase.WAITING;
        boolean accepted = thread.acquire(backend, this, forwarder.maxConnections());
        releaseConnectPlace(); // an idle connection or a place in the queue: no connect started with it
        if (!accepted) {
            queueFull();
        }
    }

    /**
     * A backend whose connects under way and failures in a row make {@code consecutiveConnectFailures}, with no idle
     * connection here: this request would wait for one more connect. While another backend will do it goes there,
     * so that a backend whose connects hang costs at most that many requests before its failures take it out, not
     * every request that picks it meanwhile. The place is taken here, atomically, so that two I/O threads cannot
     * both take the last one.
     */
    private boolean crowded(Backend backend) {
        releaseConnectPlace(); // a candidate looked at before was not picked
        int limit = forwarder.consecutiveConnectFailures();
        // Half open, the breaker's own permits say how many requests may try it: one of them is its way back.
        if (limit <= 0 || thread.hasIdle(backend) || backend.breaker().getState() == CircuitBreaker.State.HALF_OPEN) {
            return false;
        }
        if (!backend.tryStartConnect(limit)) {
            return true;
        }
        connectReserved = backend;
        return false;
    }

    /** Whether this exchange holds a connect place on {@code backend}, which the connect it starts now takes over. */
    @Override
    protected boolean takeConnectPlace(Backend backend) {
        if (connectReserved != backend) {
            return false;
        }
        connectReserved = null;
        return true;
    }

    private void releaseConnectPlace() {
        if (connectReserved != null) {
            connectReserved.connectEnded();
            connectReserved = null;
        }
    }

    private void queueFull() {
        state.abandon(); // the proxy's queue is full: the proxy is saturated, not the backend broken
        forwarder.metrics().error(MetricNames.ERROR_NO_BACKEND, MetricNames.NO_BACKEND);
        state.served = null;
        answer(503, "service unavailable: too many requests waiting for a backend connection");
    }

    /** A new connection is being opened for this exchange. */
    @Override
    protected void connecting(IoFuture<? extends StreamConnection> future) {
        phase = Phase.CONNECTING;
        pendingConnect = future;
        connectDeadline = System.nanoTime() + forwarder.connectTimeoutNanos();
    }

    /**
     * A connection for this exchange's attempt: idle, new or released by another exchange.
     *
     * @return false when the exchange no longer wants one
     */
    @Override
    protected boolean connected(UpstreamConnection connection, boolean reused) {
        if ((phase != Phase.CONNECTING && phase != Phase.WAITING) || connection.backend != state.attempt) {
            return false; // (a connection to a backend this exchange moved on from goes to someone else)
        }
        pendingConnect = null;
        upstream = connection;
        connection.user = this;
        reusedConnection = reused;
        heardBack = false;
        state.served = state.attempt;
        guarded(this::send);
        return true;
    }

    /** The connect attempt failed (or was cancelled by this exchange, which then already moved on). */
    @Override
    protected void connectFailed(boolean cancelled) {
        if (phase != Phase.CONNECTING || cancelled) {
            return;
        }
        pendingConnect = null;
        guarded(this::connectionFailed);
    }

    /** Nothing was sent: moving on to the next untried backend is safe. */
    private void connectionFailed() {
        Backend charged = state.fail(UpstreamFailure.CONNECT, forwarder.metrics());
        if (charged != null) {
            forwarder.connectFailed(charged);
        }
        if (state.attempts() <= forwarder.connectRetries()) {
            attempt();
        } else {
            state.served = null;
            noBackend();
        }
    }

    // ---- The request: head, then body ------------------------------------------------------------------

    private void send() {
        phase = Phase.SENDING;
        if (buf != null) {
            buf.clear(); // left from an earlier attempt whose connection broke
        }
        heardBack = false;
        lastReadFull = false;
        byte[] scratch = thread.scratch;
        int length = forwarder.serializeHead(exchange, state.attempt, upgrade, scratch);
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
                        headOut = ByteBuffer.wrap(
                                Arrays.copyOfRange(thread.scratch, headOut.position(), headOut.limit()));
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
        phase = Phase.HEAD;
        upstream.source.resumeReads(); // suspended when the backend spoke a bufferful before the head was out
        UpstreamConnection sentOn = upstream;
        if (body == Body.PENDING) {
            startBody();
        }
        if (phase == Phase.HEAD && upstream == sentOn && buf != null && buf.position() > 0) {
            parseHeads(); // what the backend said while the head went out
        }
    }

    /** The head is out: the client may send its body now (told so, if it asked), and it is streamed on. */
    private void startBody() {
        if (requestChannel == null) {
            requestChannel = exchange.getRequestChannel(); // Undertow hands it out once
        }
        if (bodyPooled == null) {
            bodyPooled = exchange.getConnection().getByteBufferPool().allocate();
        }
        if (HttpContinue.requiresContinueResponse(exchange)) {
            HttpContinue.markContinueResponseSent(exchange); // this proxy answers it: the backend never saw Expect
            body = Body.CONTINUE;
            interimOut = ByteBuffer.wrap(CONTINUE);
            if (!writeInterim()) {
                return; // clientWritable goes on
            }
        }
        body = Body.READING;
        pumpBody();
    }

    /** Moves the client's body to the backend until one side has to wait, the body ends, or something fails. */
    private void pumpBody() {
        while (body == Body.READING || body == Body.WRITING) {
            if (bodyOut != null) {
                try {
                    while (bodyOut.hasRemaining()) {
                        if (upstream.sink.write(bodyOut) == 0) {
                            body = Body.WRITING;
                            awaitBackendWritable();
                            return;
                        }
                    }
                } catch (IOException e) {
                    backendStoppedReading();
                    return;
                }
                bodyOut = null;
                if (lastChunkQueued) {
                    bodyDone();
                    return;
                }
            }
            body = Body.READING;
            ByteBuffer data = bodyPooled.getBuffer();
            data.clear();
            if (chunkedBody) {
                data.position(CHUNK_HEAD_ROOM).limit(data.capacity() - CHUNK_TAIL_ROOM);
            }
            int start = data.position();
            int n;
            try {
                n = requestChannel.read(data);
            } catch (IOException e) {
                clientBodyFailed(e);
                return;
            }
            if (n == 0) {
                waitingForClient = true;
                requestChannel.getReadSetter().set(clientReadable);
                requestChannel.resumeReads();
                return;
            }
            waitingForClient = false;
            if (n == -1) {
                if (chunkedBody) {
                    bodyOut = ByteBuffer.wrap(LAST_CHUNK);
                    lastChunkQueued = true;
                    continue;
                }
                bodyDone();
                return;
            }
            bodyConsumed = true;
            if (chunkedBody) {
                // data sits at [start, start + n): its size line goes in front of it, CRLF after
                byte[] size = (Integer.toHexString(n) + "\r\n").getBytes(StandardCharsets.US_ASCII);
                int from = start - size.length;
                data.limit(start + n + 2); // into the room kept for the CRLF
                data.put(from, size);
                data.put(start + n, (byte) '\r').put(start + n + 1, (byte) '\n');
                data.position(from);
            } else {
                data.flip().position(start);
            }
            bodyOut = data;
        }
    }

    /** The whole body went to the backend. */
    private void bodyDone() {
        body = Body.DONE;
        bodyOut = null;
        freeBodyBuffer();
        // The body's end suspended the client's reads, and the exchange's end resumes them. What arrives next is
        // Undertow's again, as for a request without a body.
        Forwarder.keepReading(exchange);
        if (responseDone) {
            complete();
        }
    }

    /**
     * Writing the body to the backend failed: it closed the connection, perhaps right after answering early (a 413,
     * a 401). What it answered is still read; with no answer, the request fails as a broken connection would.
     */
    private void backendStoppedReading() {
        body = Body.FAILED;
        bodyOut = null;
        freeBodyBuffer();
        reusable = false;
        exchange.setPersistent(false); // the rest of the client's body is not read as a request
        if (responseDone) {
            Connectors.terminateRequest(exchange); // its rest is drained as the connection closes
            complete();
        } else if (phase == Phase.SENDING) {
            brokenBeforeResponse();
        }
        // else: the response side reads on and ends the exchange
    }

    /**
     * Reading the client's body failed: malformed, over the limit, or cut short. Not the backend's doing: its
     * connection is reset (it never sees a complete request), no verdict, and the client is told why if it can be.
     */
    private void clientBodyFailed(IOException e) {
        if (e instanceof RequestTooBigException) {
            clientFault(413, "payload too large: " + e.getMessage());
        } else if (e instanceof MalformedRequestBodyException) {
            clientFault(400, "bad request: " + e.getMessage());
        } else {
            clientFault(400, "bad request: the request body ended early");
        }
    }

    /**
     * The client's own doing ends the request (its body broke, or came too slowly): no verdict on the backend,
     * whose connection is reset, nothing more read of the client's, and an answer when none has started.
     */
    private void clientFault(int status, String reason) {
        state.abandon();
        body = Body.FAILED;
        freeBodyBuffer();
        Connectors.terminateRequest(exchange); // nothing more is read of it: the connection closes after the answer
        exchange.setPersistent(false);
        if (responseStarted) {
            abortBoth();
            return;
        }
        dropUpstream(true);
        exchange.getResponseHeaders().clear();
        state.served = null;
        answer(status, reason);
    }

    /** The backend connection can take more: the head, the body, or a read that waited for the head to go out. */
    private void backendWritable() {
        if (phase == Phase.SENDING) {
            writeHead();
        } else if (body == Body.WRITING) {
            pumpBody();
        }
    }

    private void awaitBackendWritable() {
        upstream.sink.getWriteSetter().set(backendWritable);
        upstream.sink.resumeWrites();
    }

    // ---- The response ---------------------------------------------------------------------------------

    /** The backend connection is readable (its read interest stays set; see {@link UpstreamConnection}). */
    @Override
    protected void backendReadable() {
        guarded(this::readBackend);
    }

    private void readBackend() {
        switch (phase) {
            case HEAD -> readHead();
            case BODY -> relay();
            case SENDING -> readEarly();
            default -> {
                // While the client is slow to take the body: read once it can. After the response's end (while the
                // request body still goes out), bytes or a close from the backend mean the connection cannot carry
                // another.
                if (phase == Phase.DONE) {
                    reusable = false;
                }
                if (upstream != null) {
                    upstream.source.suspendReads();
                }
            }
        }
    }

    /**
     * Readable before the request head is all out: a TLS handshake in progress (which this read drives), an early
     * answer, or the connection closing. Early bytes are kept and parsed once the head is out.
     */
    private void readEarly() {
        if (pooled == null) {
            pooled = exchange.getConnection().getByteBufferPool().allocate();
            buf = pooled.getBuffer();
        }
        if (!buf.hasRemaining()) {
            upstream.source.suspendReads(); // resumed once the head is out
            return;
        }
        int n;
        try {
            n = upstream.source.read(buf);
        } catch (IOException e) {
            n = -1;
        }
        if (n < 0) {
            brokenBeforeResponse();
        } else if (n > 0) {
            heardBack = true;
            lastReadFull = !buf.hasRemaining();
        }
    }

    private void readHead() {
        if (interimOut != null) {
            upstream.source.suspendReads(); // an interim response is still going out to the client
            return;
        }
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
        lastReadFull = !buf.hasRemaining();
        parseHeads();
    }

    /** Parses what the relay buffer holds: interim responses are passed on, the final one starts the relay. */
    private void parseHeads() {
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
            // "HTTP/1.x 1yz", but not 101: interim responses are parsed apart (the parse below checks the line)
            boolean interim = scratch[9] == '1' && !(scratch[10] == '0' && scratch[11] == '1');
            HeaderMap headers = interim ? thread.interimHeaders() : exchange.getResponseHeaders();
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
                if (upgrade == null) {
                    badResponse("a protocol switch the request did not ask for");
                } else {
                    switchProtocols(head);
                }
                return;
            }
            if (++interimCount > MAX_INTERIM) {
                badResponse("more than " + MAX_INTERIM + " interim responses");
                return;
            }
            // An interim response: the connection is not reused after this exchange (a backend that sends them
            // may send more than asked), and it is passed on unless it is a 100 this proxy did not ask for or the
            // client speaks HTTP/1.0 (RFC 9110 section 15.2).
            buf.compact();
            headScanned = 0;
            if (head.status != 100 && exchange.getProtocol().equals(Protocols.HTTP_1_1)) {
                interimOut = ByteBuffer.wrap(interimHead(head.status, headers));
                headers.clear();
                if (!writeInterim()) {
                    upstream.source.suspendReads();
                    return; // clientWritable goes on
                }
            }
            headers.clear();
        }
    }

    /** An interim response head as the client gets it: this hop's status line, the backend's end-to-end fields. */
    private static byte[] interimHead(int status, HeaderMap headers) {
        StringBuilder head = new StringBuilder(64)
                .append("HTTP/1.1 ")
                .append(status)
                .append(' ')
                .append(
                        switch (status) {
                            case 102 -> "Processing";
                            case 103 -> "Early Hints";
                            default -> "Informational";
                        })
                .append("\r\n");
        for (HeaderValues values : headers) {
            for (String value : values) {
                head.append(values.getHeaderName()).append(": ").append(value).append("\r\n");
            }
        }
        return head.append("\r\n").toString().getBytes(StandardCharsets.ISO_8859_1);
    }

    /**
     * Writes {@link #interimOut} to the client, below Undertow's response (which has not started), so it goes out
     * before the final response.
     *
     * @return true when all of it went; false when the client must be waited for ({@link #clientWritable} goes on)
     */
    private boolean writeInterim() {
        StreamSinkConduit raw = ((AbstractServerConnection) exchange.getConnection()).getOriginalSinkConduit();
        try {
            while (interimOut.hasRemaining()) {
                if (raw.write(interimOut) == 0) {
                    ConduitStreamSinkChannel client = clientSink();
                    client.getWriteSetter().set(clientWritable);
                    client.resumeWrites();
                    return false;
                }
            }
        } catch (IOException e) {
            interimOut = null;
            clientGone();
            return false;
        }
        interimOut = null;
        return true;
    }

    /** The client connection's own write side (not the response's): to wait until it can take an interim response. */
    private ConduitStreamSinkChannel clientSink() {
        return ((HttpServerConnection) exchange.getConnection()).getChannel().getSinkChannel();
    }

    /** The client can take more: the rest of an interim response, or of the body. */
    private void clientWritable() {
        if (interimOut != null) {
            if (!writeInterim()) {
                return;
            }
            clientSink().getWriteSetter().set(null);
            if (body == Body.CONTINUE) {
                body = Body.READING;
                pumpBody();
            }
            if (phase == Phase.HEAD && upstream != null) {
                upstream.source.resumeReads();
                parseHeads();
            }
            return;
        }
        if (phase == Phase.BLOCKED) {
            phase = Phase.BODY;
            upstream.source.resumeReads();
            relay();
        }
    }

    private void startResponse(ResponseHead head) {
        exchange.setStatusCode(head.status);
        reusable = !head.close && interimCount == 0;
        boolean headRequest = exchange.getRequestMethod().equals(Methods.HEAD);
        framing = head.framing(headRequest);
        if (framing == ResponseHead.Framing.NONE
                && (headRequest || head.status == 204 || head.status == 304)
                && head.contentLength != 0) {
            // No body by rule (RFC 9112 section 6.3). A backend that sends one anyway would have it read as the
            // next request's response; only one that declared Content-Length: 0 is known to be clean.
            reusable = false;
        }
        if (upgrade != null) {
            exchange.setPersistent(false); // asked to switch and did not: the connection's later heads go unchecked
        }
        remaining = head.contentLength;
        chunks = framing == ResponseHead.Framing.CHUNKED ? ChunkedDecoder.forResponses() : null;
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
            lastReadFull = !buf.hasRemaining();
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
        while (true) {
            int n = chunks.next(buf);
            if (n > 0) {
                int before = buf.position();
                if (!write(n)) {
                    if (phase == Phase.BLOCKED) {
                        chunks.taken(buf.position() - before);
                    }
                    return false;
                }
                chunks.taken(n);
            } else if (n == ChunkedDecoder.NEED_MORE) {
                return true;
            } else if (n == ChunkedDecoder.END) {
                if (buf.hasRemaining()) {
                    reusable = false;
                    buf.position(buf.limit());
                }
                finishResponse();
                return false;
            } else {
                forwarder.invalidResponse(state.served, "malformed chunked body: " + chunks.problem());
                return cutByBackend();
            }
        }
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
        if (framing != ResponseHead.Framing.CHUNKED) {
            remaining -= written;
        }
        if (written < n) {
            phase = Phase.BLOCKED;
            upstream.source.suspendReads();
            out.getWriteSetter().set(clientWritable);
            out.resumeWrites();
            return false;
        }
        return true;
    }

    /** The response reached its end; the exchange completes once the request body has gone too. */
    private void finishResponse() {
        phase = Phase.DONE;
        responseDone = true;
        if ((buf != null && buf.hasRemaining()) || lastReadFull) {
            // Bytes after the response, or maybe more in the socket: read as the next request's response, they would
            // shift every later one. Such a connection is never reused.
            reusable = false;
        }
        if (!bodyInFlight()) {
            complete();
            return;
        }
        // The backend answered before the client's body was all sent: it goes on to the backend, which may still
        // read it, and the client gets the end of its response now rather than after its last body byte.
        freeBuffer();
        if (out == null) {
            out = exchange.getResponseChannel();
        }
        try {
            out.shutdownWrites();
            if (!out.flush()) {
                out.getWriteSetter().set(ChannelListeners.flushingChannelListener(null, (channel, e) -> clientGone()));
                out.resumeWrites();
            }
        } catch (IOException e) {
            clientGone();
        }
    }

    private boolean bodyInFlight() {
        return body == Body.PENDING || body == Body.CONTINUE || body == Body.READING || body == Body.WRITING;
    }

    /** Both the response and the request body are through: the connection goes back, the exchange ends. */
    private void complete() {
        phase = Phase.DONE;
        UpstreamConnection connection = upstream;
        upstream = null;
        if (connection != null) {
            thread.release(connection, reusable && body != Body.FAILED);
        }
        freeBuffer();
        exchange.endExchange();
    }

    /** The backend switched protocols as asked: the 101 goes to the client, then both connections become a tunnel. */
    private void switchProtocols(ResponseHead head) {
        exchange.setStatusCode(101);
        state.succeed();
        responseStarted = true;
        phase = Phase.TUNNEL;
        thread.unwatch(this); // a tunnel lives as long as its ends want: no request timeout
        UpstreamConnection connection = upstream;
        upstream = null;
        StreamConnection backend = connection.detach();
        buf.compact().flip(); // what the backend sent after its 101, for the client first
        PooledByteBuffer early = pooled;
        pooled = null;
        buf = null;
        exchange.upgradeChannel((client, ex) ->
                Tunnel.start(client, backend, early, ex.getConnection().getByteBufferPool()));
        exchange.getResponseHeaders().put(Headers.UPGRADE, head.upgrade == null ? upgrade : head.upgrade);
        exchange.endExchange();
    }

    /** The connection broke before a whole response head arrived: retry if that is harmless, else 502. */
    private void brokenBeforeResponse() {
        dropUpstream(false);
        exchange.getResponseHeaders().clear();
        boolean retryable = forwarder.retryable(exchange)
                && !bodyConsumed
                && interimCount == 0
                && interimOut == null
                && body != Body.FAILED;
        if (retryable && body != Body.NONE) {
            // None of the body was read: the next attempt sends the head again, then the body as before.
            if (requestChannel != null) {
                requestChannel.suspendReads();
            }
            waitingForClient = false;
            body = Body.PENDING;
        }
        if (reusedConnection && !heardBack && retryable && !crowded(state.attempt)) {
            // A kept-alive connection the backend closed as this request went out on it (its idle timeout raced the
            // request): not the backend failing. Again on another connection to the same backend, same permit; each
            // such retry uses up one reused connection, and a failure on a new one is charged as usual. Unless that
            // needs a connect where enough are under way already: then the backend is likely gone (its connections
            // ended, its connects hang), and the request moves on as from any broken connection.
            acquire(state.attempt);
            return;
        }
        state.fail(UpstreamFailure.RESET, forwarder.metrics());
        if (retryable && state.attempts() <= forwarder.connectRetries()) {
            Backend next = pickNext();
            if (next != null) {
                acquire(next);
                return;
            }
        }
        answer(502, "bad gateway: the connection to the backend failed");
    }

    /** The backend's response head is malformed or too large: it is not forwarded. */
    private void badResponse(String why) {
        dropUpstream(false);
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
        abortBoth();
    }

    private void abortBoth() {
        phase = Phase.DONE;
        body = bodyInFlight() ? Body.FAILED : body;
        dropUpstream(true);
        freeBuffer();
        freeBodyBuffer();
        IoUtils.safeClose(exchange.getConnection());
    }

    /** The sweep found this exchange overdue: the connect timeout or the request timeout passed. */
    @Override
    protected boolean overdue(long now) {
        return now >= requestDeadline || (phase == Phase.CONNECTING && now >= connectDeadline);
    }

    @Override
    protected void deadlinePassed(long now) {
        if (phase == Phase.TUNNEL) {
            return;
        }
        if (phase == Phase.DONE) {
            if (responseDone && bodyInFlight()) {
                thread.unwatch(this);
                abortBoth(); // answered, but the client's body (or the backend's reading of it) never finished
            }
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
        if (waitingForClient && body == Body.READING) {
            clientFault(408, "request timeout: the request body did not arrive in time");
            return;
        }
        state.fail(UpstreamFailure.TIMEOUT, forwarder.metrics());
        if (responseStarted) {
            abortBoth(); // mid-body: the client sees the response cut
            return;
        }
        dropUpstream(true);
        exchange.getResponseHeaders().clear();
        exchange.setPersistent(false);
        answer(504, "gateway timeout: the backend did not answer in time");
    }

    private void cancelConnect() {
        IoFuture<? extends StreamConnection> future = pendingConnect;
        pendingConnect = null;
        if (phase == Phase.CONNECTING || phase == Phase.WAITING) {
            phase = Phase.PICK;
        }
        if (future != null) {
            future.cancel();
        }
    }

    /** Lets go of the backend connection: reset ({@code abort}) when it may carry part of a request, else closed. */
    private void dropUpstream(boolean abort) {
        UpstreamConnection connection = upstream;
        upstream = null;
        if (connection != null) {
            if (abort || bodyInFlight() || body == Body.FAILED) {
                connection.abort();
            } else {
                connection.close();
            }
        }
    }

    private void freeBuffer() {
        if (pooled != null) {
            pooled.close();
            pooled = null;
            buf = null;
        }
    }

    private void freeBodyBuffer() {
        if (bodyPooled != null) {
            bodyPooled.close();
            bodyPooled = null;
        }
    }

    private void noBackend() {
        String reason = state.noBackend(forwarder.metrics());
        state.served = null;
        answer(503, reason);
    }

    private void answer(int status, String reason) {
        phase = Phase.DONE;
        responseDone = true;
        freeBuffer();
        if (bodyInFlight() || body == Body.FAILED) {
            // The body was not read to its end: the answer goes now, not after the client has sent the rest (which
            // it may be waiting to do, after an Expect), and the connection ends after it.
            if (requestChannel != null) {
                requestChannel.suspendReads();
            }
            body = Body.FAILED;
            freeBodyBuffer();
            Connectors.terminateRequest(exchange);
            exchange.setPersistent(false);
        }
        Responses.plain(exchange, status, reason);
    }

    /** The exchange ended, however it ended: verdict, metric, and nothing left behind. */
    @Override
    public void exchangeEvent(HttpServerExchange ended, NextListener next) {
        try {
            thread.unwatch(this);
            if (phase != Phase.DONE && phase != Phase.TUNNEL) {
                // Ended from outside: the client connection closed while the request was in flight.
                Phase was = phase;
                cancelConnect();
                if (was == Phase.WAITING && state.attempt != null) {
                    thread.stopWaiting(state.attempt, this);
                }
                dropUpstream(true);
                phase = Phase.DONE;
                if (!responseStarted) {
                    state.abandon();
                }
            } else if (upstream != null && phase == Phase.DONE) {
                dropUpstream(true); // the response ended but the body never did (the client went away)
            }
            freeBuffer();
            freeBodyBuffer();
            int status = ended.getStatusCode();
            if (state.permitHeld()) {
                if (status >= 500) {
                    state.fail(UpstreamFailure.STATUS_5XX, forwarder.metrics());
                } else {
                    state.succeed();
                }
            }
            Backend served = state.served;
            forwarder
                    .metrics()
                    .request(
                            ended.getRequestMethod().toString(),
                            status,
                            served == null ? MetricNames.NO_BACKEND : served.key(),
                            System.nanoTime() - state.startNanos);
        } finally {
            next.proceed();
        }
    }
}
