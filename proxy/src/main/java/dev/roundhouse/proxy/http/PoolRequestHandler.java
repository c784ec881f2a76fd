package dev.roundhouse.proxy.http;

import dev.roundhouse.poolformat.PoolDocument;
import dev.roundhouse.proxy.breaker.UpstreamFailure;
import dev.roundhouse.proxy.metrics.MetricNames;
import dev.roundhouse.proxy.metrics.ProxyMetrics;
import dev.roundhouse.proxy.pool.Backend;
import dev.roundhouse.proxy.pool.BackendPool;
import io.undertow.client.ClientConnection;
import io.undertow.predicate.Predicate;
import io.undertow.server.ConduitWrapper;
import io.undertow.server.DefaultResponseListener;
import io.undertow.server.ExchangeCompletionListener;
import io.undertow.server.HttpHandler;
import io.undertow.server.HttpServerExchange;
import io.undertow.server.ResponseCommitListener;
import io.undertow.server.handlers.proxy.ProxyHandler;
import io.undertow.util.HttpString;
import org.xnio.IoUtils;
import org.xnio.channels.StreamSourceChannel;
import org.xnio.conduits.AbstractStreamSinkConduit;
import org.xnio.conduits.StreamSinkConduit;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;

/**
 * Sends each request through Undertow's {@link ProxyHandler} to a backend of the pool, and turns
 * what happened into breaker outcomes, metrics and clear error answers: 503 when no backend is
 * available, 504 when the backend timed out, 502 for other upstream failures.
 */
final class PoolRequestHandler implements HttpHandler {

    private final BackendPool pool;
    private final ProxyMetrics metrics;
    private final int connectRetries;
    private final PoolProxyClient client;
    private final DirectForwarder direct;
    private volatile ProxyHandler proxy;
    private volatile long requestTimeoutMillis = -1;
    private volatile long connectTimeoutMillis;

    private final ExchangeCompletionListener completion = this::completed;
    private final DefaultResponseListener proxyAnswer = this::answerForProxy;
    private final Predicate retryAfterBrokenConnection = this::brokenConnection;
    private final ResponseCommitListener stripResponseHopByHop = exchange -> {
        if (exchange.getStatusCode() != 101) { // a protocol switch keeps its Upgrade and Connection
            HopByHop.strip(exchange.getResponseHeaders(), false);
        }
    };
    /** Watches how the response to the client ends: see {@link RequestState#cutUpstream()}. */
    private final ConduitWrapper<StreamSinkConduit> watchResponse =
            (factory, exchange) -> new ResponseSink(factory.create(), exchange);
    private final HttpHandler noBackend = exchange -> {
        exchange.setStatusCode(503);
        exchange.endExchange();
    };

    PoolRequestHandler(BackendPool pool, ProxyMetrics metrics, int connectRetries, int maxConnectionsPerThread) {
        this.pool = pool;
        this.metrics = metrics;
        this.connectRetries = connectRetries;
        this.client = new PoolProxyClient(pool, metrics, () -> connectTimeoutMillis);
        this.direct = new DirectForwarder(pool, metrics, connectRetries, maxConnectionsPerThread);
        // The document's timeouts arrive just after its backends (ProxyServer.configure): until then, the defaults.
        PoolDocument.Timeouts defaults = PoolDocument.Timeouts.DEFAULTS;
        timeouts(defaults.connect().toMillis(), defaults.request().toMillis());
    }

    /** Called as the server closes, before its worker shuts down. */
    void close() {
        direct.stopSweeps();
    }

    /** Takes the timeouts of a newly applied document; requests in flight keep the handler they began with. */
    void timeouts(long connectMillis, long requestMillis) {
        connectTimeoutMillis = connectMillis;
        direct.timeouts(connectMillis, requestMillis);
        if (requestMillis != requestTimeoutMillis) {
            requestTimeoutMillis = requestMillis;
            proxy = ProxyHandler.builder()
                    .setProxyClient(client)
                    .setMaxRequestTime((int) Math.min(Integer.MAX_VALUE, requestMillis))
                    .setMaxConnectionRetries(connectRetries)
                    .setReuseXForwarded(true)   // append to X-Forwarded-For, as nginx's $proxy_add_x_forwarded_for
                    .setRewriteHostHeader(false) // the backend sees the Host the client asked for
                    .setIdempotentRequestPredicate(retryAfterBrokenConnection)
                    .setNext(noBackend)
                    .build();
        }
    }

    @Override
    public void handleRequest(HttpServerExchange exchange) throws Exception {
        if (!pool.loaded()) {
            Responses.plain(exchange, 503, "service unavailable: no pool loaded yet");
            return;
        }
        if (direct.accepts(exchange)) {
            direct.forward(exchange);
            return;
        }
        RequestState state = new RequestState(exchange);
        exchange.putAttachment(RequestState.KEY, state);
        exchange.addExchangeCompleteListener(completion);
        exchange.addDefaultResponseListener(proxyAnswer);
        exchange.addResponseCommitListener(stripResponseHopByHop);
        exchange.addResponseWrapper(watchResponse);
        // This hop sets X-Forwarded-Proto/Host/Port itself; X-Forwarded-For is appended to.
        for (HttpString name : DirectForwarder.SET_BY_THIS_HOP) {
            exchange.getRequestHeaders().remove(name);
        }
        HopByHop.strip(exchange.getRequestHeaders(), HopByHop.isUpgrade(exchange.getRequestHeaders()));
        this.proxy.handleRequest(exchange);
    }

    /** Undertow's predicate hook, called when a sent request's connection broke before any response. */
    private boolean brokenConnection(HttpServerExchange exchange) {
        RequestState state = exchange.getAttachment(RequestState.KEY);
        if (!exchange.getConnection().isOpen() || RequestGuard.clientBodyFailed(exchange)
                || (RequestGuard.awaitingClientBody(exchange) && timedOut(state))) {
            // the client went away, its body failed (malformed, cut, over the limit), or the request timer ran
            // out while the proxy waited for the client's body: not the backend's fault. No verdict, no retry
            state.abandon();
            return false;
        }
        state.fail(UpstreamFailure.RESET, metrics);
        return DirectForwarder.IDEMPOTENT.contains(exchange.getRequestMethod());
    }

    /**
     * Runs when the exchange ends with no response started, which on this path means the proxy
     * itself ends it (no backend, all connects failed, timeout, broken upstream): say why.
     */
    private boolean answerForProxy(HttpServerExchange exchange) {
        if (exchange.isResponseStarted()) {
            return false;
        }
        RequestState state = exchange.getAttachment(RequestState.KEY);
        int status = exchange.getStatusCode();
        // (Undertow's request timer closes the backend connection before it sets 504: the exchange may end as 500.)
        boolean late = RequestGuard.awaitingClientBody(exchange) && (status == 504 || timedOut(state));
        if (RequestGuard.clientBodyFailed(exchange) || late) {
            // The client's body broke off, was malformed or came too slowly: no verdict on the backend.
            state.abandon();
            state.served = null;
            exchange.setPersistent(false);
            if (late) {
                Responses.plain(exchange, 408, "request timeout: the request body did not arrive in time");
            } else {
                Responses.plain(exchange, 400, "bad request: the request body ended early or was malformed");
            }
            return true;
        }
        String reason;
        if (status == 504) {
            state.fail(UpstreamFailure.TIMEOUT, metrics);
            // The backend connection is aborted once this answer is out (see completed). Undertow's proxy then
            // hears of the failed backend request and closes this client connection, whatever it carries by
            // then, so the client is told not to reuse it.
            exchange.setPersistent(false);
            state.abortConnection = true;
            reason = "gateway timeout: the backend did not answer in time";
        } else if (state.lastFailure == UpstreamFailure.RESET || (status == 500 && state.served != null)) {
            status = 502;
            reason = "bad gateway: the connection to the backend failed";
        } else if (status == 503) {
            reason = state.noBackend(metrics);
        } else {
            return false;
        }
        if (status != 504 && state.lastFailure != UpstreamFailure.RESET) {
            state.served = null; // nobody served it
        }
        Responses.plain(exchange, status, reason);
        return true;
    }

    /**
     * Ends a timed-out backend connection now. Undertow closes it "cleanly" (ConnectionUtils.cleanClose): it shuts
     * down writes, which on a connection whose request was sent in full sends no FIN, then waits up to 10 s
     * ({@code io.undertow.max-drain-time}) for the backend to close first, which a hung backend never does; until
     * then the socket stays open at both ends and the backend keeps working for nobody. {@code performUpgrade()}
     * hands over the raw connection even after {@code close()} (only an upgraded connection is refused), and
     * closing that ends it at once; the connection pool drops it as upgraded and closed.
     */
    private static void abort(ClientConnection connection) {
        if (connection == null) {
            return;
        }
        try {
            IoUtils.safeClose(connection.performUpgrade());
        } catch (IOException | RuntimeException e) {
            IoUtils.safeClose(connection);
        }
    }

    /** True once the request timeout has passed since the request began. */
    private boolean timedOut(RequestState state) {
        long timeout = requestTimeoutMillis;
        return timeout > 0 && System.nanoTime() - state.startNanos >= timeout * 1_000_000L;
    }

    private void completed(HttpServerExchange exchange, ExchangeCompletionListener.NextListener next) {
        try {
            RequestState state = exchange.getAttachment(RequestState.KEY);
            state.finished = true;
            int status = exchange.getStatusCode();
            if (RequestGuard.clientBodyFailed(exchange)) {
                state.abandon(); // the client's body failed (or went over the limit): no verdict on the backend
                state.served = null;
            }
            if (state.permitHeld()) {
                if (status >= 500) {
                    state.fail(UpstreamFailure.STATUS_5XX, metrics);
                } else if (status != 101 && state.cutUpstream()) {
                    // The backend's answer broke off mid-body (Undertow closed the client connection, so the
                    // client sees it cut): a failure of the backend, not the success its status suggests.
                    UpstreamFailure failure = System.nanoTime() - state.startNanos >= requestTimeoutMillis * 1_000_000L
                            ? UpstreamFailure.TIMEOUT : UpstreamFailure.RESET;
                    state.fail(failure, metrics);
                    state.abortConnection |= failure == UpstreamFailure.TIMEOUT;
                } else {
                    state.succeed();
                }
            }
            if (state.abortConnection && state.connection != null) {
                // once this exchange is done with, on its I/O thread
                ClientConnection timedOut = state.connection;
                exchange.getIoThread().execute(() -> abort(timedOut));
            }
            Backend served = state.served;
            metrics.request(exchange.getRequestMethod().toString(), status,
                    served == null ? MetricNames.NO_BACKEND : served.key(), System.nanoTime() - state.startNanos);
        } finally {
            next.proceed();
        }
    }

    /**
     * The top of the client response's conduit chain. It tells apart the two ways a response can stop before its
     * end: a write to the client failed (the client went away), or the connection was closed under a response
     * that was not being written at that moment, which is what Undertow's proxy does when the backend's answer
     * breaks off mid-body or the request timeout passes mid-body. Either way XNIO shuts the conduits down as the
     * connection closes, and the exchange completes there, inside the close: so the verdict is taken in
     * {@link #terminateWrites()}, from whether a write was in progress. A response that reached its end completes
     * before any such close. Runs on the exchange's I/O thread, like everything in RequestState.
     */
    private static final class ResponseSink extends AbstractStreamSinkConduit<StreamSinkConduit> {
        private final HttpServerExchange exchange;
        private final RequestState state;
        private boolean writing;

        ResponseSink(StreamSinkConduit next, HttpServerExchange exchange) {
            super(next);
            this.exchange = exchange;
            this.state = exchange.getAttachment(RequestState.KEY);
        }

        private IOException clientFailed(IOException e) {
            if (state != null) {
                state.clientWriteFailed = true;
            }
            return e;
        }

        @Override
        public int write(ByteBuffer src) throws IOException {
            writing = true;
            try {
                return next.write(src);
            } catch (IOException e) {
                throw clientFailed(e);
            } finally {
                writing = false;
            }
        }

        @Override
        public long write(ByteBuffer[] srcs, int offset, int length) throws IOException {
            writing = true;
            try {
                return next.write(srcs, offset, length);
            } catch (IOException e) {
                throw clientFailed(e);
            } finally {
                writing = false;
            }
        }

        @Override
        public int writeFinal(ByteBuffer src) throws IOException {
            writing = true;
            try {
                return next.writeFinal(src);
            } catch (IOException e) {
                throw clientFailed(e);
            } finally {
                writing = false;
            }
        }

        @Override
        public long writeFinal(ByteBuffer[] srcs, int offset, int length) throws IOException {
            writing = true;
            try {
                return next.writeFinal(srcs, offset, length);
            } catch (IOException e) {
                throw clientFailed(e);
            } finally {
                writing = false;
            }
        }

        @Override
        public long transferFrom(FileChannel src, long position, long count) throws IOException {
            writing = true;
            try {
                return next.transferFrom(src, position, count);
            } catch (IOException e) {
                throw clientFailed(e);
            } finally {
                writing = false;
            }
        }

        @Override
        public long transferFrom(StreamSourceChannel source, long count, ByteBuffer throughBuffer) throws IOException {
            // Reads from the source too, so a failure here may be the backend's: only writes below count.
            return next.transferFrom(source, count, throughBuffer);
        }

        @Override
        public boolean flush() throws IOException {
            writing = true;
            try {
                return next.flush();
            } catch (IOException e) {
                throw clientFailed(e);
            } finally {
                writing = false;
            }
        }

        @Override
        public void terminateWrites() throws IOException {
            if (state != null && !exchange.getConnection().isOpen()) {
                // Shut down by the connection's close, not by the response's end: by a failed write to the
                // client (Undertow closes the connection inside it), or else from outside any write.
                if (writing) {
                    state.clientWriteFailed = true;
                } else {
                    state.closedMidResponse = true;
                }
            }
            try {
                next.terminateWrites();
            } catch (IOException e) {
                throw clientFailed(e);
            }
        }
    }
}
