package dev.roundhouse.proxy.forward;

import dev.roundhouse.proxy.breaker.UpstreamFailure;
import dev.roundhouse.proxy.codec.Grpc;
import dev.roundhouse.proxy.codec.HopByHop;
import dev.roundhouse.proxy.codec.RequestTrailers;
import dev.roundhouse.proxy.metrics.MetricNames;
import dev.roundhouse.proxy.pool.Backend;
import dev.roundhouse.proxy.upstream.ChannelPump;
import dev.roundhouse.proxy.upstream.MultiplexedConnection;
import dev.roundhouse.proxy.upstream.StreamWaiter;
import dev.roundhouse.proxy.upstream.TimedExchange;
import dev.roundhouse.proxy.upstream.UpstreamThread;
import io.undertow.client.ClientCallback;
import io.undertow.client.ClientExchange;
import io.undertow.client.ClientRequest;
import io.undertow.client.ClientResponse;
import io.undertow.connector.ByteBufferPool;
import io.undertow.io.IoCallback;
import io.undertow.io.Sender;
import io.undertow.protocols.http2.Http2StreamSourceChannel;
import io.undertow.server.Connectors;
import io.undertow.server.ExchangeCompletionListener;
import io.undertow.server.HttpServerExchange;
import io.undertow.server.protocol.http.HttpAttachments;
import io.undertow.server.protocol.http.HttpContinue;
import io.undertow.util.HeaderMap;
import io.undertow.util.HeaderValues;
import io.undertow.util.Headers;
import io.undertow.util.HttpString;
import java.io.IOException;
import org.xnio.ChannelListeners;
import org.xnio.IoUtils;
import org.xnio.channels.StreamSinkChannel;
import org.xnio.channels.StreamSourceChannel;

/**
 * One client request on an HTTP/2 backend ({@code h2c} or {@code h2}): the same lifecycle as {@link ProxyExchange}
 * (the request's {@link RequestState} picks, permits, retries and ends it, with one verdict and one metric), on a
 * stream of a shared connection ({@code upstream/}'s {@link MultiplexedConnection}) rather than a connection of its
 * own. Bodies stream both ways as they arrive, flushed at each pause, so gRPC's streaming calls pass message by
 * message; trailers pass both ways (the request's without fields that belong in a head); a {@code grpc-timeout}
 * bounds the call. A request whose next attempt picks an
 * HTTP/1.1 backend goes back to a {@link ProxyExchange}, which hands one to this class the same way. Everything runs
 * on the client connection's I/O thread, which owns the backend connection too.
 */
final class StreamExchange extends TimedExchange implements StreamWaiter, ExchangeCompletionListener {

    /** Where the response side is. */
    private enum Phase {
        /** Choosing a backend. */
        PICK,
        /** Waiting for a stream: a connect, or room on a full connection. */
        WAITING,
        /** The stream is open (or opening) and the request goes out; no response head yet. */
        SENDING,
        /** The response body is relayed. */
        BODY,
        /** The client cannot take more of it yet. */
        BLOCKED,
        /** The response ended, or the request went to another exchange. */
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

    private final Forwarder forwarder;
    private final HttpServerExchange exchange;
    private final RequestState state;
    private final UpstreamThread thread;
    private final ByteBufferPool buffers;
    private final boolean hasBody;
    private final long requestDeadline;
    /** When the call's {@code grpc-timeout} passes, or Long.MAX_VALUE; a deadline of the client's, not a failure. */
    private final long callDeadline;

    /** The client's HTTP/2 stream (null for an HTTP/1.1 client): reset by the client, it closes. */
    private final org.xnio.channels.StreamSinkChannel clientStream;

    private Phase phase = Phase.PICK;
    private Body body;
    private boolean handedOver;

    private MultiplexedConnection connection;
    private ClientExchange stream;
    private StreamSourceChannel requestIn;
    private StreamSinkChannel requestOut;
    /** The client's body on its way to the backend; some of it read means a retry would send less than was sent. */
    private final ChannelPump bodyPump;
    /** The last read of the client's body found nothing: the exchange waits for the client. */
    private boolean waitingForClient;

    private StreamSourceChannel responseIn;
    private StreamSinkChannel responseOut;
    /** The backend's body on its way to the client. */
    private final ChannelPump relay;

    private HeaderMap trailers;
    private boolean responseStarted;
    private boolean responseDone;

    StreamExchange(
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
        this.hasBody = hasBody;
        this.body = hasBody ? Body.PENDING : Body.NONE;
        this.requestIn = requestChannel;
        this.buffers = exchange.getConnection().getByteBufferPool();
        this.bodyPump = new ChannelPump(buffers);
        this.clientStream = dev.roundhouse.proxy.server.Http2Connections.clientStream(exchange);
        this.relay = new ChannelPump(buffers);
        long timeout = forwarder.requestTimeoutNanos();
        this.requestDeadline = timeout > 0 ? state.startNanos + timeout : Long.MAX_VALUE;
        long callTimeout =
                state.grpc ? Grpc.timeoutNanos(exchange.getRequestHeaders().getFirst(Grpc.TIMEOUT)) : -1;
        this.callDeadline = callTimeout >= 0 ? state.startNanos + callTimeout : Long.MAX_VALUE;
    }

    /** Takes the request over at its attempt on {@code state.attempt}, an HTTP/2 backend picked already. */
    void start() {
        exchange.addExchangeCompleteListener(this);
        thread.watch(this);
        guarded(() -> acquire(state.attempt));
    }

    private void guarded(Runnable step) {
        try {
            step.run();
        } catch (RuntimeException e) {
            unexpected(e);
        }
    }

    /** A fault of this proxy's own: logged, and the exchange ends at once (502, or cut), with no verdict. */
    private void unexpected(RuntimeException e) {
        forwarder.unexpected(e);
        try {
            state.abandon();
            if (responseStarted) {
                abortBoth();
                return;
            }
            dropStream(true);
            exchange.getResponseHeaders().clear();
            state.served = null;
            answer(502, "bad gateway: the proxy failed to forward this request");
        } catch (RuntimeException again) {
            IoUtils.safeClose(exchange.getConnection());
        }
    }

    private void attempt() {
        Backend backend = state.pickNext(forwarder.pool(), this::crowded);
        if (backend == null) {
            noBackend();
            return;
        }
        go(backend);
    }

    /**
     * A backend this request would wait on for a connect that may hang ({@link Forwarder#crowded} for an HTTP/2
     * one; for an HTTP/1.1 one, no idle connection and no connect place free): passed over while another will do.
     */
    private boolean crowded(Backend backend) {
        if (backend.protocol().multiplexed()) {
            return forwarder.crowded(thread, backend);
        }
        return !thread.hasIdle(backend) && !backend.connectPlaceFree(forwarder.consecutiveConnectFailures());
    }

    /** The attempt on {@code backend}, picked already: here, or as a {@link ProxyExchange} for an HTTP/1.1 one. */
    private void go(Backend backend) {
        if (!backend.protocol().multiplexed()) {
            // An HTTP/1.1 backend: the request goes on as a ProxyExchange, with what it has of the client's body.
            phase = Phase.DONE;
            handedOver = true;
            thread.unwatch(this);
            freeBuffers();
            new ProxyExchange(forwarder, exchange, thread, state, hasBody, requestIn).resume();
            return;
        }
        acquire(backend);
    }

    private void acquire(Backend backend) {
        phase = Phase.WAITING;
        switch (thread.multiplexed()
                .acquire(
                        backend,
                        this,
                        buffers,
                        forwarder.connectTimeoutNanos(),
                        forwarder.consecutiveConnectFailures())) {
            case QUEUE_FULL -> queueFull();
            case NO_CONNECT_PLACE -> crowdedOut(backend, false);
            case STARTED, QUEUED -> {}
        }
    }

    private void queueFull() {
        phase = Phase.PICK;
        state.abandon(); // the proxy's queue is full: the proxy is saturated, not the backend broken
        forwarder.metrics().error(MetricNames.ERROR_NO_BACKEND, MetricNames.NO_BACKEND);
        state.served = null;
        answer(503, "service unavailable: too many requests waiting for a backend stream");
    }

    /**
     * A connect to the attempt's {@code backend} found no connect place free, and the request has no connection
     * there to wait on: the backend is not charged, nothing was sent to it. As on HTTP/1.1
     * ({@link ProxyExchange}), the request goes to another backend that is not crowded, if one will do. Else it
     * waits in the backend's queue while the connects under way may still succeed; once the backend is ejected it
     * goes to any other backend, and with none left it fails.
     */
    private void crowdedOut(Backend backend, boolean queued) {
        boolean ejected = backend.ejected();
        Backend other = state.moveOn(forwarder.pool(), this::crowded, ejected);
        if (other != null) {
            if (queued) {
                thread.multiplexed().stopWaiting(backend, this);
            }
            phase = Phase.PICK;
            go(other);
        } else if (ejected) {
            if (queued) {
                thread.multiplexed().stopWaiting(backend, this);
            }
            phase = Phase.PICK;
            state.abandon();
            noBackend();
        } else if (!queued && !thread.multiplexed().await(backend, this)) {
            queueFull();
        }
    }

    @Override
    public void noConnectPlace(Backend backend) {
        if (phase == Phase.WAITING && state.attempt == backend) {
            guarded(() -> crowdedOut(backend, true));
        }
    }

    @Override
    public boolean streamReady(MultiplexedConnection ready) {
        if (phase != Phase.WAITING || ready.backend != state.attempt) {
            return false;
        }
        connection = ready;
        state.served = state.attempt;
        guarded(this::send);
        return true;
    }

    @Override
    public void streamConnectFailed(boolean counted) {
        if (phase != Phase.WAITING) {
            return;
        }
        guarded(() -> {
            phase = Phase.PICK;
            Backend charged = state.fail(UpstreamFailure.CONNECT, forwarder.metrics());
            if (counted && charged != null) {
                forwarder.connectFailed(charged);
            }
            if (state.attempts() <= forwarder.connectRetries()) {
                attempt();
            } else {
                state.served = null;
                noBackend();
            }
        });
    }

    // ---- The request ------------------------------------------------------------------------------------

    private void send() {
        phase = Phase.SENDING;
        String query = exchange.getQueryString();
        ClientRequest request = new ClientRequest()
                .setMethod(exchange.getRequestMethod())
                .setPath(query.isEmpty() ? exchange.getRequestURI() : exchange.getRequestURI() + "?" + query);
        forwarder.copyHead(exchange, hasBody, request.getRequestHeaders());
        MultiplexedConnection on = connection;
        on.send(request, new ClientCallback<>() {
            @Override
            public void completed(ClientExchange opened) {
                guarded(() -> opened(on, opened));
            }

            @Override
            public void failed(IOException e) {
                guarded(() -> {
                    if (connection == on && stream == null && phase == Phase.SENDING) {
                        brokenBeforeResponse(); // no stream: the connection closed as the request went out
                    }
                });
            }
        });
    }

    private void opened(MultiplexedConnection on, ClientExchange opened) {
        if (connection != on || phase != Phase.SENDING || stream != null) {
            on.cancel(opened); // this request moved on meanwhile
            return;
        }
        stream = opened;
        opened.setResponseListener(new ClientCallback<>() {
            @Override
            public void completed(ClientExchange answered) {
                guarded(() -> {
                    if (answered == stream && phase == Phase.SENDING) {
                        responseHead();
                    }
                });
            }

            @Override
            public void failed(IOException e) {
                guarded(() -> {
                    if (opened == stream && phase == Phase.SENDING) {
                        brokenBeforeResponse();
                    } else if (opened == stream && (phase == Phase.BODY || phase == Phase.BLOCKED)) {
                        cutByBackend();
                    }
                });
            }
        });
        if (body == Body.PENDING) {
            startBody();
        }
    }

    private void startBody() {
        if (requestIn == null) {
            requestIn = exchange.getRequestChannel(); // Undertow hands it out once
        }
        requestOut = stream.getRequestChannel();
        if (HttpContinue.requiresContinueResponse(exchange) && !HttpContinue.isContinueResponseSent(exchange)) {
            body = Body.CONTINUE; // this proxy answers it: the backend never saw Expect
            HttpContinue.sendContinueResponse(exchange, new IoCallback() {
                @Override
                public void onComplete(HttpServerExchange ex, Sender sender) {
                    guarded(() -> {
                        if (body == Body.CONTINUE) {
                            body = Body.READING;
                            pumpBody();
                        }
                    });
                }

                @Override
                public void onException(HttpServerExchange ex, Sender sender, IOException e) {
                    guarded(StreamExchange.this::abortBoth);
                }
            });
            return;
        }
        body = Body.READING;
        pumpBody();
    }

    /** Moves the client's body to the backend until one side has to wait, the body ends, or something fails. */
    private void pumpBody() {
        if (body != Body.READING && body != Body.WRITING) {
            return;
        }
        switch (bodyPump.pump(requestIn, requestOut)) {
            case WAIT_SOURCE -> {
                // A pause in the client's body (what came went out: a streaming call's messages); on when it sends.
                body = Body.READING;
                waitingForClient = true;
                requestIn.getReadSetter().set(channel -> {
                    waitingForClient = false;
                    guarded(this::pumpBody);
                });
                requestIn.resumeReads();
            }
            case WAIT_SINK -> awaitBackend();
            case DONE -> bodyDone();
            case SOURCE_FAILED -> clientBodyFailed(bodyPump.failure());
            case SINK_FAILED -> backendStoppedReading();
        }
    }

    /** The backend's stream cannot take more now (its flow-control window): the client waits. */
    private void awaitBackend() {
        body = Body.WRITING;
        requestIn.suspendReads();
        requestOut.getWriteSetter().set(channel -> {
            channel.suspendWrites();
            guarded(this::pumpBody);
        });
        requestOut.resumeWrites();
    }

    /**
     * The client's body ended: its trailers, if any, go after it (those a backend may take in trailers,
     * {@link RequestTrailers}), and the stream's request side ends.
     */
    private void bodyDone() {
        body = Body.DONE;
        freeBodyBuffer();
        requestIn.suspendReads();
        HeaderMap received = exchange.getAttachment(HttpAttachments.REQUEST_TRAILERS);
        HeaderMap clientTrailers = received == null ? null : RequestTrailers.forwardable(received);
        if (clientTrailers != null) {
            // Undertow's HTTP/2 client sends, after a request's body, the trailers attached to its exchange under
            // RESPONSE_TRAILERS: the key's name is the server's view (the trailers of what this side sends).
            stream.putAttachment(HttpAttachments.RESPONSE_TRAILERS, clientTrailers);
        }
        try {
            requestOut.shutdownWrites();
            if (!requestOut.flush()) {
                requestOut
                        .getWriteSetter()
                        .set(ChannelListeners.flushingChannelListener(
                                null, (channel, e) -> guarded(this::backendStoppedReading)));
                requestOut.resumeWrites();
            }
        } catch (IOException e) {
            backendStoppedReading();
            return;
        }
        Forwarder.keepReading(exchange);
        if (responseDone) {
            complete();
        }
    }

    /** Writing the body to the backend failed: its stream was reset or its connection closed. */
    private void backendStoppedReading() {
        body = Body.FAILED;
        freeBodyBuffer();
        exchange.setPersistent(false); // the rest of the client's body is not read as a request
        if (responseDone) {
            complete();
        } else if (phase == Phase.SENDING) {
            brokenBeforeResponse();
        }
        // else: the response side reads on and ends the exchange
    }

    private void clientBodyFailed(IOException e) {
        ClientBodyFault fault = ClientBodyFault.of(e);
        clientFault(fault.status(), fault.reason());
    }

    /** The client's own doing ends the request: no verdict, the backend's stream reset, an answer if none began. */
    private void clientFault(int status, String reason) {
        state.abandon();
        body = Body.FAILED;
        freeBodyBuffer();
        Connectors.terminateRequest(exchange);
        exchange.setPersistent(false);
        if (responseStarted) {
            abortBoth();
            return;
        }
        dropStream(true);
        exchange.getResponseHeaders().clear();
        state.served = null;
        answer(status, reason);
    }

    // ---- The response -----------------------------------------------------------------------------------

    private void responseHead() {
        ClientResponse response = stream.getResponse();
        HeaderMap from = response.getResponseHeaders();
        HeaderMap to = exchange.getResponseHeaders();
        copyEndToEnd(from, to);
        String status = from.getFirst(Grpc.STATUS);
        if (status != null) {
            state.grpcStatus = Grpc.status(status); // a trailers-only answer: its status comes with the head
        }
        exchange.setStatusCode(response.getResponseCode());
        responseStarted = true;
        phase = Phase.BODY;
        responseIn = stream.getResponseChannel();
        if (responseIn instanceof Http2StreamSourceChannel frames) {
            frames.setTrailersHandler(received -> trailers = received);
        }
        responseOut = exchange.getResponseChannel();
        relayBody();
    }

    /** Moves body bytes from the backend to the client until either side has to wait, or the body ends. */
    private void relayBody() {
        switch (relay.pump(responseIn, responseOut)) {
            case WAIT_SOURCE -> {
                // A pause in the backend's body (what came went to the client: streamed messages).
                responseIn.getReadSetter().set(channel -> guarded(this::relayBody));
                responseIn.resumeReads();
            }
            case WAIT_SINK -> awaitClient();
            case DONE -> responseEnded();
            case SOURCE_FAILED -> cutByBackend();
            case SINK_FAILED -> abortBoth(); // the client went away
        }
    }

    private void awaitClient() {
        phase = Phase.BLOCKED;
        responseIn.suspendReads();
        responseOut.getWriteSetter().set(channel -> {
            channel.suspendWrites();
            guarded(() -> {
                if (phase == Phase.BLOCKED) {
                    phase = Phase.BODY;
                    relayBody();
                }
            });
        });
        responseOut.resumeWrites();
    }

    /** The backend's body ended: its trailers go to the client after it, then the response ends. */
    private void responseEnded() {
        responseIn.suspendReads();
        if (trailers != null) {
            HeaderMap forwarded = new HeaderMap(); // (below, the response's end may end the exchange at once)
            copyEndToEnd(trailers, forwarded);
            String status = trailers.getFirst(Grpc.STATUS);
            if (status != null) {
                state.grpcStatus = Grpc.status(status);
            }
            exchange.putAttachment(HttpAttachments.RESPONSE_TRAILERS, forwarded);
        }
        phase = Phase.DONE;
        responseDone = true;
        try {
            responseOut.shutdownWrites();
            if (!responseOut.flush()) {
                responseOut
                        .getWriteSetter()
                        .set(ChannelListeners.flushingChannelListener(
                                channel -> guarded(this::responseFlushed), (channel, e) -> guarded(this::abortBoth)));
                responseOut.resumeWrites();
                return;
            }
        } catch (IOException e) {
            abortBoth();
            return;
        }
        responseFlushed();
    }

    private void responseFlushed() {
        if (bodyInFlight()) {
            // The backend answered before the client's body was all sent (a call it ended early): the rest is not
            // wanted, so the stream is reset and the rest of the client's body is not read.
            body = Body.FAILED;
            freeBodyBuffer();
            if (requestIn != null) {
                requestIn.suspendReads();
            }
            Connectors.terminateRequest(exchange);
            exchange.setPersistent(false);
            dropStream(true);
        }
        complete();
    }

    /** The response and the request body are both through: the stream's place goes back, the exchange ends. */
    private void complete() {
        phase = Phase.DONE;
        dropStream(false);
        freeBuffers();
        exchange.endExchange();
    }

    /**
     * The stream broke before a response head: retried elsewhere only when sending the request again is harmless
     * (an idempotent method, and none of its body read), else 502.
     */
    private void brokenBeforeResponse() {
        if (System.nanoTime() >= callDeadline) {
            callDeadlinePassed(); // the backend gave up on the call at its grpc-timeout, just before the proxy did
            return;
        }
        dropStream(true);
        exchange.getResponseHeaders().clear();
        boolean retryable = forwarder.retryable(exchange) && !bodyPump.moved() && body != Body.FAILED;
        state.fail(UpstreamFailure.RESET, forwarder.metrics());
        if (retryable && state.attempts() <= forwarder.connectRetries()) {
            if (hasBody) {
                if (requestIn != null) {
                    requestIn.suspendReads();
                }
                waitingForClient = false;
                body = Body.PENDING;
            }
            phase = Phase.PICK;
            attempt();
            return;
        }
        answer(502, "bad gateway: the backend reset the request's stream");
    }

    /** The backend's body broke off: the client's response is cut too, never made to look complete. */
    private void cutByBackend() {
        if (System.nanoTime() >= callDeadline) {
            state.abandon(); // its grpc-timeout passed: the backend ended the call as asked
        } else {
            state.fail(UpstreamFailure.RESET, forwarder.metrics());
        }
        abortBoth();
    }

    /** The call's grpc-timeout passed: no verdict (a short deadline says nothing of the backend), and the answer. */
    private void callDeadlinePassed() {
        stopWatching();
        state.abandon();
        timedOut("gateway timeout: the call's grpc-timeout passed");
    }

    /** Off the deadline sweep, and out of the backend's queue if it waited there. */
    private void stopWatching() {
        thread.unwatch(this);
        if (phase == Phase.WAITING) {
            thread.multiplexed().stopWaiting(state.attempt, this);
        }
    }

    /** A deadline passed, its verdict given: the response is cut if it began, else answered 504. */
    private void timedOut(String reason) {
        if (responseStarted) {
            abortBoth();
            return;
        }
        dropStream(true);
        exchange.getResponseHeaders().clear();
        exchange.setPersistent(false);
        answer(504, reason);
    }

    /** Ends both sides at once: the backend's stream reset, the client's stream (HTTP/2) or connection closed. */
    private void abortBoth() {
        phase = Phase.DONE;
        body = bodyInFlight() ? Body.FAILED : body;
        dropStream(true);
        freeBuffers();
        IoUtils.safeClose(exchange.getConnection()); // HTTP/2: resets this client stream only
    }

    /**
     * A deadline passed, or (checked at the same sweep, every 50 ms) the client reset its stream: Undertow tells an
     * exchange so only when it next writes, and a call waiting for its answer writes nothing until then.
     */
    @Override
    protected boolean overdue(long now) {
        return now >= requestDeadline || now >= callDeadline || clientReset();
    }

    /** The client's stream closed while this exchange still had to answer on it: the client reset it. */
    private boolean clientReset() {
        return clientStream != null && phase != Phase.DONE && !clientStream.isOpen();
    }

    /** The client reset its stream (a cancelled call): the backend's stream is reset too, and the exchange ends. */
    private void clientCancelled() {
        stopWatching();
        if (!responseStarted) {
            state.abandon(); // the client's decision, not the backend's failing
            exchange.setStatusCode(499); // counted as nginx logs it: the client closed the request
            if (state.grpc) {
                state.grpcStatus = Grpc.CANCELLED;
            }
        }
        abortBoth();
        exchange.endExchange();
    }

    @Override
    protected void deadlinePassed(long now) {
        if (clientReset()) {
            clientCancelled();
            return;
        }
        if (phase == Phase.DONE) {
            if (responseDone && bodyInFlight()) {
                thread.unwatch(this);
                abortBoth();
            }
            return;
        }
        if (now >= callDeadline && now < requestDeadline) {
            callDeadlinePassed();
            return;
        }
        stopWatching();
        if (waitingForClient && body == Body.READING) {
            clientFault(408, "request timeout: the request body did not arrive in time");
            return;
        }
        if (phase == Phase.WAITING) {
            state.abandon(); // stuck in this proxy's queue: not the backend's doing
        } else {
            state.fail(UpstreamFailure.TIMEOUT, forwarder.metrics());
        }
        timedOut("gateway timeout: the backend did not answer in time");
    }

    private boolean bodyInFlight() {
        return body == Body.PENDING || body == Body.CONTINUE || body == Body.READING || body == Body.WRITING;
    }

    /** Lets go of the stream: reset ({@code cancel}) when either side of it may still be open, and its place back. */
    private void dropStream(boolean cancel) {
        MultiplexedConnection on = connection;
        ClientExchange open = stream;
        connection = null;
        stream = null;
        if (on != null) {
            if (cancel && open != null) {
                on.cancel(open);
            }
            thread.multiplexed().release(on);
        }
    }

    /** Copies the fields a response (or its trailers) carries end to end: HTTP/2 has no hop-by-hop ones to keep. */
    private static void copyEndToEnd(HeaderMap from, HeaderMap to) {
        for (HeaderValues values : from) {
            HttpString name = values.getHeaderName();
            if (HopByHop.isFixed(name) || HopByHop.same(name, Headers.TRANSFER_ENCODING) || name.byteAt(0) == ':') {
                continue;
            }
            to.addAll(name, values);
        }
    }

    private void freeBodyBuffer() {
        bodyPump.free();
    }

    private void freeBuffers() {
        bodyPump.free();
        relay.free();
    }

    private void noBackend() {
        String reason = state.noBackend(forwarder.metrics());
        state.served = null;
        answer(503, reason);
    }

    private void answer(int status, String reason) {
        phase = Phase.DONE;
        responseDone = true;
        freeBuffers();
        if (bodyInFlight() || body == Body.FAILED) {
            if (requestIn != null) {
                requestIn.suspendReads();
            }
            body = Body.FAILED;
            Connectors.terminateRequest(exchange);
            exchange.setPersistent(false);
        }
        state.answer(status, reason);
    }

    /** The exchange ended, however it ended: the verdict and the metric, and nothing left behind. */
    @Override
    public void exchangeEvent(HttpServerExchange ended, NextListener next) {
        try {
            if (handedOver) {
                return;
            }
            thread.unwatch(this);
            if (phase != Phase.DONE) {
                // Ended from outside: the client went away (a cancelled call) while the request was in flight.
                if (phase == Phase.WAITING) {
                    thread.multiplexed().stopWaiting(state.attempt, this);
                }
                dropStream(true);
                phase = Phase.DONE;
                if (!responseStarted) {
                    state.abandon();
                }
            } else if (connection != null) {
                // The response's end ended the exchange (an HTTP/2 client's does, as its stream closes) before
                // complete() ran: the stream is done both ways unless the client's body never finished, and a reset
                // of a closed stream would only confuse the connection's state.
                dropStream(bodyInFlight() || body == Body.FAILED);
            }
            freeBuffers();
            state.finish(forwarder.metrics(), ended.getStatusCode(), forwarder.grpcFailures());
        } finally {
            next.proceed();
        }
    }
}
