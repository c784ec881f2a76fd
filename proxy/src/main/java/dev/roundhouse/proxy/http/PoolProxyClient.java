package dev.roundhouse.proxy.http;

import dev.roundhouse.proxy.breaker.UpstreamFailure;
import dev.roundhouse.proxy.metrics.ProxyMetrics;
import dev.roundhouse.proxy.pool.Backend;
import dev.roundhouse.proxy.pool.BackendPool;
import io.undertow.server.HttpServerExchange;
import io.undertow.server.handlers.proxy.ProxyCallback;
import io.undertow.server.handlers.proxy.ProxyClient;
import io.undertow.server.handlers.proxy.ProxyConnection;
import org.xnio.XnioExecutor;

import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * Plugs the pool into Undertow's {@code ProxyHandler}: each call to {@link #findTarget} is one
 * attempt (the first, or a retry after a failed one) on the next backend in rotation that this
 * request has not tried yet and whose breaker grants a permit. Connections come from the backend's
 * own Undertow {@code ProxyConnectionPool}, under a connect timeout of ours.
 */
final class PoolProxyClient implements ProxyClient {

    private final BackendPool pool;
    private final ProxyMetrics metrics;
    private final LongSupplier connectTimeoutMillis;

    PoolProxyClient(BackendPool pool, ProxyMetrics metrics, LongSupplier connectTimeoutMillis) {
        this.pool = pool;
        this.metrics = metrics;
        this.connectTimeoutMillis = connectTimeoutMillis;
    }

    @Override
    public ProxyTarget findTarget(HttpServerExchange exchange) {
        return exchange.getAttachment(RequestState.KEY).pickNext(pool);
    }

    @Override
    public void getConnection(ProxyTarget target, HttpServerExchange exchange,
                              ProxyCallback<ProxyConnection> callback, long timeout, TimeUnit timeUnit) {
        Backend backend = (Backend) target;
        RequestState state = exchange.getAttachment(RequestState.KEY);
        ConnectAttempt attempt = new ConnectAttempt(backend, state, callback);
        backend.connections().connect(target, exchange, attempt, timeout, timeUnit, false);
        // A pooled keep-alive connection is handed over synchronously; only a new connection (or a
        // wait for one) needs the connect timer, which saves a timer per request on the hot path.
        if (!attempt.done) {
            attempt.timer = exchange.getIoThread().executeAfter(attempt, connectTimeoutMillis.getAsLong(), TimeUnit.MILLISECONDS);
        }
    }

    /**
     * One connection attempt; the first of success, failure and the connect timer wins and the
     * others are ignored. A connection that arrives late goes back to its pool when the exchange ends.
     */
    private final class ConnectAttempt implements ProxyCallback<ProxyConnection>, Runnable {
        private final Backend backend;
        private final RequestState state;
        private final ProxyCallback<ProxyConnection> callback;
        private XnioExecutor.Key timer;
        private boolean done;

        ConnectAttempt(Backend backend, RequestState state, ProxyCallback<ProxyConnection> callback) {
            this.backend = backend;
            this.state = state;
            this.callback = callback;
        }

        private boolean finish() {
            if (done) {
                return false;
            }
            done = true;
            if (timer != null) {
                timer.remove();
            }
            return !state.finished;
        }

        @Override
        public void completed(HttpServerExchange exchange, ProxyConnection result) {
            if (finish()) {
                state.served = backend;
                state.connection = result.getConnection();
                callback.completed(exchange, RequestGuard.backendConnection(exchange, result));
            }
        }

        @Override
        public void failed(HttpServerExchange exchange) {
            if (finish()) {
                connectFailed();
                callback.failed(exchange);
            }
        }

        /** The connect timer: nothing was sent, so moving on to the next backend is safe. */
        @Override
        public void run() {
            if (finish()) {
                connectFailed();
                callback.failed(state.exchange());
            }
        }

        private void connectFailed() {
            if (state.fail(UpstreamFailure.CONNECT) != null) {
                metrics.error(UpstreamFailure.CONNECT.label(), backend.key());
            }
        }

        /** The backend's connection queue is full: the proxy is saturated, not the backend broken. */
        @Override
        public void queuedRequestFailed(HttpServerExchange exchange) {
            if (finish()) {
                state.abandon();
                callback.queuedRequestFailed(exchange);
            }
        }

        @Override
        public void couldNotResolveBackend(HttpServerExchange exchange) {
            if (finish()) {
                state.abandon();
                callback.couldNotResolveBackend(exchange);
            }
        }
    }
}
