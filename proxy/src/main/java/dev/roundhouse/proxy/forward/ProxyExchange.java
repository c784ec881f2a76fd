package dev.roundhouse.proxy.forward;

import dev.roundhouse.proxy.breaker.UpstreamFailure;
import dev.roundhouse.proxy.codec.HopByHop;
import dev.roundhouse.proxy.codec.ResponseHead;
import dev.roundhouse.proxy.metrics.MetricNames;
import dev.roundhouse.proxy.pool.Backend;
import dev.roundhouse.proxy.upstream.RequestBodyPump;
import dev.roundhouse.proxy.upstream.ResponseRelay;
import dev.roundhouse.proxy.upstream.UpstreamConnection;
import dev.roundhouse.proxy.upstream.UpstreamExchange;
import dev.roundhouse.proxy.upstream.UpstreamThread;
import io.undertow.connector.ByteBufferPool;
import io.undertow.connector.PooledByteBuffer;
import io.undertow.server.AbstractServerConnection;
import io.undertow.server.Connectors;
import io.undertow.server.ExchangeCompletionListener;
import io.undertow.server.HttpServerExchange;
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
 * One client request on its way through the pool, from picking a backend to the last byte of the response: the
 * request's lifecycle. It picks and permits, acquires a connection, sends the head (serialised straight from the
 * exchange), and turns what the exchange's two sides report into what follows. The sides are {@code upstream/}'s:
 * {@link RequestBodyPump} streams a request body to the backend as it arrives while the response may already come
 * back, and {@link ResponseRelay} parses response heads and relays the body through one pooled buffer. Here, interim
 * responses are passed on, a protocol switch becomes a {@link Tunnel}, and the request's promises are kept: untried
 * backends after connect failures, a retry after a broken connection only for idempotent methods and only while none
 * of the client's body was consumed, breaker verdicts that never blame a backend for the client's own broken or slow
 * body, connect and request timeouts, and one request metric. Everything runs on the client connection's I/O thread,
 * which also owns the backend connection.
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
        DONE,
        /** The request went on as a {@link StreamExchange}: an attempt picked an HTTP/2 backend. */
        HANDED_OVER
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
    /** The response side of the exchange with the backend. */
    private final ResponseRelay relay;

    private ByteBuffer headOut;
    private boolean responseStarted;
    /** The response has been relayed whole (the request body may still be on its way). */
    private boolean responseDone;

    private ByteBuffer interimOut;
    /** This attempt's connection carried an earlier request (it came from the idle pool or a previous user). */
    private boolean reusedConnection;

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

    /** Request side: where the body is, and what moves it (null without one). */
    private Body body;

    /** The client's HTTP/2 stream (null for an HTTP/1.1 client): reset by the client, it closes. */
    private final StreamSinkChannel clientStream;

    private final RequestBodyPump bodyPump;
    private StreamSourceChannel requestChannel;
    /** The last read of the client's body found nothing: the exchange waits for the client. */
    private boolean waitingForClient;

    ProxyExchange(Forwarder forwarder, HttpServerExchange exchange, UpstreamThread thread, boolean hasBody) {
        this(forwarder, exchange, thread, new RequestState(exchange), hasBody, null);
    }

    /**
     * A request going on from a {@link StreamExchange}, whose attempt picked {@code state.attempt}, an HTTP/1.1
     * backend: with the client's body channel if it took it (none of the body was read).
     */
    ProxyExchange(
            Forwarder forwarder,
            HttpServerExchange exchange,
            UpstreamThread thread,
            RequestState state,
            boolean hasBody,
            StreamSourceChannel requestChannel) {
        this.forwarder = forwarder;
        this.exchange = exchange;
        this.thread = thread;
        this.state = state;
        this.requestChannel = requestChannel;
        this.clientStream = dev.roundhouse.proxy.server.Http2Connections.clientStream(exchange);
        long timeout = forwarder.requestTimeoutNanos();
        this.requestDeadline = timeout > 0 ? state.startNanos + timeout : Long.MAX_VALUE;
        this.body = hasBody ? Body.PENDING : Body.NONE;
        ByteBufferPool buffers = exchange.getConnection().getByteBufferPool();
        this.relay = new ResponseRelay(buffers);
        this.bodyPump = hasBody
                ? new RequestBodyPump(buffers, exchange.getRequestHeaders().contains(Headers.TRANSFER_ENCODING))
                : null;
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

    /** Takes a request over from a {@link StreamExchange} at its attempt on {@code state.attempt}. */
    void resume() {
        exchange.addExchangeCompleteListener(this);
        thread.watch(this);
        guarded(() -> acquire(state.attempt));
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
        if (backend.protocol().multiplexed()) {
            handOver();
            return;
        }
        phase = Phase.WAITING;
        UpstreamThread.Acquired acquired = thread.acquire(backend, this, forwarder.maxConnections());
        releaseConnectPlace(); // an idle connection, a place in the queue, or none: no connect started with it
        switch (acquired) {
            case QUEUE_FULL -> queueFull();
            case NO_CONNECT_PLACE -> crowdedOut(backend, false);
            case STARTED, QUEUED -> {}
        }
    }

    /**
     * A connect to the attempt's {@code backend} found no place free (its idle connection turned out closed, or the
     * request waited in its queue): the backend is not charged, nothing was sent to it. The request goes to another
     * backend that has a place, if one will do. Else it waits in the backend's queue while the connects under way
     * may still succeed; once the backend is ejected it goes to any other backend, and with none left it fails.
     */
    private void crowdedOut(Backend backend, boolean queued) {
        boolean ejected = backend.ejected();
        Backend other = state.moveOn(forwarder.pool(), this::crowded, ejected);
        if (connectReserved != other) {
            releaseConnectPlace(); // reserved for a backend its breaker then passed over
        }
        if (other != null) {
            if (queued) {
                thread.stopWaiting(backend, this);
            }
            acquire(other);
        } else if (ejected) {
            if (queued) {
                thread.stopWaiting(backend, this);
            }
            state.abandon();
            noBackend();
        } else if (!queued && !thread.await(backend, this)) {
            queueFull();
        }
    }

    @Override
    protected void noConnectPlace(Backend backend) {
        if (phase == Phase.WAITING && state.attempt == backend) {
            guarded(() -> crowdedOut(backend, true));
        }
    }

    /** The attempt picked an HTTP/2 backend: the request goes on as a {@link StreamExchange} from here. */
    private void handOver() {
        releaseConnectPlace();
        if (upgrade != null) {
            state.abandon();
            state.served = null;
            answer(502, "bad gateway: a protocol switch cannot be forwarded to an HTTP/2 backend");
            return;
        }
        phase = Phase.HANDED_OVER;
        thread.unwatch(this);
        freeBuffer();
        freeBodyBuffer();
        new StreamExchange(forwarder, exchange, thread, state, body != Body.NONE, requestChannel).start();
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
        if (backend.protocol().multiplexed()) {
            return forwarder.crowded(thread, backend); // its StreamExchange takes a place if it connects
        }
        if (thread.hasIdle(backend)) {
            return false; // no connect needed (if the connection turns out closed, the connect asks for its place)
        }
        if (!takePlace(backend)) {
            return true;
        }
        connectReserved = backend;
        return false;
    }

    /**
     * Takes a place among {@code backend}'s connects under way: one of {@code consecutiveConnectFailures} less its
     * failures in a row; always, when the limit is off or the backend's breaker is half open (the breaker's own
     * permits then say how many requests may try it: one of them is its way back).
     */
    private boolean takePlace(Backend backend) {
        return backend.takeConnectPlace(forwarder.consecutiveConnectFailures());
    }

    /** The place reserved while picking {@code backend}, else a new one, for the connect starting now. */
    @Override
    protected boolean connectPlace(Backend backend) {
        if (connectReserved == backend) {
            connectReserved = null;
            return true;
        }
        return takePlace(backend);
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
        chargeConnectFailure();
        afterConnectFailure();
    }

    private void chargeConnectFailure() {
        Backend charged = state.fail(UpstreamFailure.CONNECT, forwarder.metrics());
        if (charged != null) {
            forwarder.connectFailed(charged);
        }
    }

    private void afterConnectFailure() {
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
        relay.restart(); // what an earlier attempt whose connection broke left behind goes
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
        phase = Phase.HEAD;
        upstream.source.resumeReads(); // suspended when the backend spoke a bufferful before the head was out
        UpstreamConnection sentOn = upstream;
        if (body == Body.PENDING) {
            startBody();
        }
        if (phase == Phase.HEAD && upstream == sentOn && relay.hasEarlyBytes()) {
            parseHeads(); // what the backend said while the head went out
        }
    }

    /** The head is out: the client may send its body now (told so, if it asked), and it is streamed on. */
    private void startBody() {
        if (requestChannel == null) {
            requestChannel = exchange.getRequestChannel(); // Undertow hands it out once
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
        if (body != Body.READING && body != Body.WRITING) {
            return;
        }
        RequestBodyPump.Stop stop = bodyPump.pump(requestChannel, upstream.sink);
        waitingForClient = stop == RequestBodyPump.Stop.WAIT_CLIENT;
        switch (stop) {
            case WAIT_CLIENT -> {
                body = Body.READING;
                requestChannel.getReadSetter().set(clientReadable);
                requestChannel.resumeReads();
            }
            case WAIT_BACKEND -> {
                body = Body.WRITING;
                awaitBackendWritable();
            }
            case DONE -> bodyDone();
            case CLIENT_FAILED -> clientBodyFailed(bodyPump.failure());
            case BACKEND_FAILED -> backendStoppedReading();
        }
    }

    /** The whole body went to the backend. */
    private void bodyDone() {
        body = Body.DONE;
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
        freeBodyBuffer();
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
        ClientBodyFault fault = ClientBodyFault.of(e);
        clientFault(fault.status(), fault.reason());
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
            case BODY -> relayBody();
            case SENDING -> readEarly();
            default -> {
                // While the client is slow to take the body: read once it can. After the response's end (while the
                // request body still goes out), bytes or a close from the backend mean the connection cannot carry
                // another.
                if (phase == Phase.DONE) {
                    relay.unexpectedBytes();
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
        switch (relay.readEarly(upstream.source)) {
            case FULL -> upstream.source.suspendReads(); // resumed once the head is out
            case BROKEN -> brokenBeforeResponse();
            default -> {}
        }
    }

    private void readHead() {
        if (interimOut != null) {
            upstream.source.suspendReads(); // an interim response is still going out to the client
            return;
        }
        switch (relay.readHead(upstream.source)) {
            case BYTES -> parseHeads();
            case BROKEN -> brokenBeforeResponse();
            default -> {}
        }
    }

    /** Parses what the relay buffer holds: interim responses are passed on, the final one starts the relay. */
    private void parseHeads() {
        while (true) {
            ResponseHead head = thread.head;
            switch (relay.parseHead(thread, exchange.getResponseHeaders())) {
                case NEED_MORE -> {
                    return;
                }
                case INVALID -> {
                    badResponse(relay.problem());
                    return;
                }
                case FINAL -> {
                    if (head.status != 101) {
                        startResponse(head);
                    } else if (upgrade == null) {
                        badResponse("a protocol switch the request did not ask for");
                    } else {
                        switchProtocols(head);
                    }
                    return;
                }
                case INTERIM -> {
                    HeaderMap interimFields = relay.interimFields();
                    // Passed on unless it is a 100 this proxy did not ask for, or the client speaks HTTP/1.0 (RFC 9110
                    // section 15.2).
                    if (head.status != 100 && exchange.getProtocol().equals(Protocols.HTTP_1_1)) {
                        interimOut = ByteBuffer.wrap(interimHead(head.status, interimFields));
                        interimFields.clear();
                        if (!writeInterim()) {
                            upstream.source.suspendReads();
                            return; // clientWritable goes on
                        }
                    }
                    interimFields.clear();
                }
            }
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
            relayBody();
        }
    }

    private void startResponse(ResponseHead head) {
        exchange.setStatusCode(head.status);
        boolean hasBody = relay.startBody(head, exchange.getRequestMethod().equals(Methods.HEAD));
        if (upgrade != null) {
            exchange.setPersistent(false); // asked to switch and did not: the connection's later heads go unchecked
        }
        responseStarted = true;
        phase = Phase.BODY;
        if (!hasBody) {
            finishResponse();
            return;
        }
        out = exchange.getResponseChannel();
        relayBody();
    }

    /** Moves body bytes from the backend to the client until either side has to wait, or the body ends. */
    private void relayBody() {
        switch (relay.relay(upstream.source, out)) {
            case WAIT_BACKEND -> {}
            case CLIENT_BLOCKED -> {
                phase = Phase.BLOCKED;
                upstream.source.suspendReads();
                out.getWriteSetter().set(clientWritable);
                out.resumeWrites();
            }
            case DONE -> finishResponse();
            case CUT -> cutByBackend();
            case MALFORMED -> {
                forwarder.invalidResponse(state.served, relay.problem());
                cutByBackend();
            }
            case CLIENT_GONE -> clientGone();
        }
    }

    /** The response reached its end; the exchange completes once the request body has gone too. */
    private void finishResponse() {
        phase = Phase.DONE;
        responseDone = true;
        relay.ended();
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
            thread.release(connection, relay.reusable() && body != Body.FAILED);
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
        PooledByteBuffer early = relay.handOver(); // what the backend sent after its 101, for the client first
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
                && (bodyPump == null || !bodyPump.consumed())
                && relay.interimCount() == 0
                && interimOut == null
                && body != Body.FAILED;
        if (retryable && body != Body.NONE) {
            // None of the body was read: the next attempt sends the head again, then the body as before.
            if (requestChannel != null) {
                requestChannel.suspendReads();
            }
            waitingForClient = false;
            body = Body.PENDING;
            bodyPump.restart();
        }
        if (reusedConnection && !relay.heardBack() && retryable && !crowded(state.attempt)) {
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

    /**
     * The sweep found this exchange overdue: the connect timeout or the request timeout passed, or an HTTP/2 client
     * reset its stream (Undertow tells an exchange so only when it next writes).
     */
    @Override
    protected boolean overdue(long now) {
        return now >= requestDeadline || (phase == Phase.CONNECTING && now >= connectDeadline) || clientReset();
    }

    /** The client's HTTP/2 stream closed while this exchange still had to answer on it: the client reset it. */
    private boolean clientReset() {
        return clientStream != null
                && phase != Phase.DONE
                && phase != Phase.TUNNEL
                && phase != Phase.HANDED_OVER
                && !clientStream.isOpen();
    }

    @Override
    protected void deadlinePassed(long now) {
        if (phase == Phase.TUNNEL) {
            return;
        }
        if (clientReset()) {
            // A cancelled request: its backend connection is reset (the backend stops), no verdict unless it answered.
            thread.unwatch(this);
            Phase was = phase;
            cancelConnect();
            if (was == Phase.WAITING) {
                thread.stopWaiting(state.attempt, this);
            }
            if (!responseStarted) {
                state.abandon();
                exchange.setStatusCode(499);
            }
            abortBoth();
            exchange.endExchange();
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
            // The failure is counted before the cancel gives the connect's place back: in between, another request
            // would find the place free while the failure it stands for is not yet counted, one connect too many.
            chargeConnectFailure();
            cancelConnect();
            afterConnectFailure();
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
        relay.free();
    }

    private void freeBodyBuffer() {
        if (bodyPump != null) {
            bodyPump.free();
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
        state.answer(status, reason);
    }

    /** The exchange ended, however it ended: verdict, metric, and nothing left behind. */
    @Override
    public void exchangeEvent(HttpServerExchange ended, NextListener next) {
        try {
            if (phase == Phase.HANDED_OVER) {
                return; // the StreamExchange that took the request over ends it
            }
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
            state.finish(forwarder.metrics(), ended.getStatusCode(), forwarder.grpcFailures());
        } finally {
            next.proceed();
        }
    }
}
