package dev.roundhouse.proxy.http;

import dev.roundhouse.proxy.breaker.UpstreamFailure;
import dev.roundhouse.proxy.metrics.MetricNames;
import dev.roundhouse.proxy.metrics.ProxyMetrics;
import dev.roundhouse.proxy.pool.Backend;
import dev.roundhouse.proxy.pool.BackendPool;
import io.undertow.predicate.Predicate;
import io.undertow.server.DefaultResponseListener;
import io.undertow.server.ExchangeCompletionListener;
import io.undertow.server.HttpHandler;
import io.undertow.server.HttpServerExchange;
import io.undertow.server.ResponseCommitListener;
import io.undertow.server.handlers.proxy.ProxyHandler;
import io.undertow.util.Headers;
import io.undertow.util.HttpString;
import io.undertow.util.Methods;

import java.util.Set;

/**
 * Sends each request through Undertow's {@link ProxyHandler} to a backend of the pool, and turns
 * what happened into breaker outcomes, metrics and clear error answers: 503 when no backend is
 * available, 504 when the backend timed out, 502 for other upstream failures.
 */
final class PoolRequestHandler implements HttpHandler {

    /** Retried after a broken connection only when repeating them is harmless (RFC 9110 9.2.2). */
    private static final Set<HttpString> IDEMPOTENT = Set.of(
            Methods.GET, Methods.HEAD, Methods.OPTIONS, Methods.TRACE, Methods.PUT, Methods.DELETE);

    private static final HttpString[] CLIENT_FORWARDED_HEADERS = {
            Headers.X_FORWARDED_PROTO, Headers.X_FORWARDED_HOST, Headers.X_FORWARDED_PORT,
            Headers.X_FORWARDED_SERVER};

    private final BackendPool pool;
    private final ProxyMetrics metrics;
    private final int connectRetries;
    private final PoolProxyClient client;
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
    private final HttpHandler noBackend = exchange -> {
        exchange.setStatusCode(503);
        exchange.endExchange();
    };

    PoolRequestHandler(BackendPool pool, ProxyMetrics metrics, int connectRetries) {
        this.pool = pool;
        this.metrics = metrics;
        this.connectRetries = connectRetries;
        this.client = new PoolProxyClient(pool, metrics, () -> connectTimeoutMillis);
    }

    /** Takes the timeouts of a newly applied document; requests in flight keep the handler they began with. */
    void timeouts(long connectMillis, long requestMillis) {
        connectTimeoutMillis = connectMillis;
        if (requestMillis != requestTimeoutMillis || proxy == null) {
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
        ProxyHandler proxy = this.proxy;
        if (proxy == null) {
            Responses.plain(exchange, 503, "service unavailable: no pool loaded yet");
            return;
        }
        RequestState state = new RequestState(exchange);
        exchange.putAttachment(RequestState.KEY, state);
        exchange.addExchangeCompleteListener(completion);
        exchange.addDefaultResponseListener(proxyAnswer);
        exchange.addResponseCommitListener(stripResponseHopByHop);
        // This hop sets X-Forwarded-Proto/Host/Port itself; X-Forwarded-For is appended to.
        for (HttpString name : CLIENT_FORWARDED_HEADERS) {
            exchange.getRequestHeaders().remove(name);
        }
        HopByHop.strip(exchange.getRequestHeaders(), HopByHop.isUpgrade(exchange.getRequestHeaders()));
        proxy.handleRequest(exchange);
    }

    /** Undertow's predicate hook, called when a sent request's connection broke before any response. */
    private boolean brokenConnection(HttpServerExchange exchange) {
        RequestState state = exchange.getAttachment(RequestState.KEY);
        if (!exchange.getConnection().isOpen()) {
            // the client went away (or its body failed), not the backend: no verdict, no retry
            state.abandon();
            return false;
        }
        Backend charged = state.fail(UpstreamFailure.RESET);
        if (charged != null) {
            metrics.error(UpstreamFailure.RESET.label(), charged.key());
        }
        return IDEMPOTENT.contains(exchange.getRequestMethod());
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
        String reason;
        if (status == 504) {
            Backend charged = state.fail(UpstreamFailure.TIMEOUT);
            if (charged != null) {
                metrics.error(UpstreamFailure.TIMEOUT.label(), charged.key());
            }
            reason = "gateway timeout: the backend did not answer in time";
        } else if (state.lastFailure == UpstreamFailure.RESET || (status == 500 && state.served != null)) {
            status = 502;
            reason = "bad gateway: the connection to the backend failed";
        } else if (status == 503) {
            if (state.refusal != null && state.attempts() == 0) {
                metrics.error(state.refusal, MetricNames.NO_BACKEND);
                reason = state.refusal.equals(MetricNames.ERROR_CIRCUIT_OPEN)
                        ? "service unavailable: every backend's circuit breaker is open"
                        : "service unavailable: no backend available";
            } else {
                metrics.error(MetricNames.ERROR_NO_BACKEND, MetricNames.NO_BACKEND);
                reason = "service unavailable: no backend could be reached (" + state.attempts() + " tried)";
            }
        } else {
            return false;
        }
        if (status != 504 && state.lastFailure != UpstreamFailure.RESET) {
            state.served = null; // nobody served it
        }
        Responses.plain(exchange, status, reason);
        return true;
    }

    private void completed(HttpServerExchange exchange, ExchangeCompletionListener.NextListener next) {
        try {
            RequestState state = exchange.getAttachment(RequestState.KEY);
            state.finished = true;
            int status = exchange.getStatusCode();
            if (state.permitHeld()) {
                if (status >= 500) {
                    Backend charged = state.fail(UpstreamFailure.STATUS_5XX);
                    metrics.error(UpstreamFailure.STATUS_5XX.label(), charged.key());
                } else {
                    state.succeed();
                }
            }
            Backend served = state.served;
            metrics.request(exchange.getRequestMethod().toString(), status,
                    served == null ? MetricNames.NO_BACKEND : served.key(), System.nanoTime() - state.startNanos);
        } finally {
            next.proceed();
        }
    }
}
