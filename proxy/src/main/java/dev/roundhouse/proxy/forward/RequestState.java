package dev.roundhouse.proxy.forward;

import dev.roundhouse.proxy.breaker.UpstreamFailure;
import dev.roundhouse.proxy.codec.Grpc;
import dev.roundhouse.proxy.codec.Responses;
import dev.roundhouse.proxy.metrics.MetricNames;
import dev.roundhouse.proxy.metrics.ProxyMetrics;
import dev.roundhouse.proxy.pool.Backend;
import dev.roundhouse.proxy.pool.BackendPool;
import io.undertow.server.HttpServerExchange;
import io.undertow.util.AttachmentKey;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * What happened to one client request on its way through the pool: the attempts made, the breaker
 * permit held, and how the last attempt ended. Touched only from the exchange's I/O thread.
 */
final class RequestState {

    static final AttachmentKey<RequestState> KEY = AttachmentKey.create(RequestState.class);

    final long startNanos = System.nanoTime();
    private final HttpServerExchange exchange;
    private Backend[] tried = new Backend[4];
    private int triedCount;
    /** Where this request's picks start in the rotation: one turn for all its attempts. */
    private int turn;

    private boolean turnTaken;

    /** The backend of the current attempt. */
    Backend attempt;

    private long attemptStartNanos;
    /** True while the attempt holds a breaker permit whose outcome is not reported yet. */
    private boolean permitHeld;
    /** The backend counting this request in flight, until it finishes or its next attempt goes elsewhere. */
    private Backend inFlightOn;

    /** The backend whose connection carried the request last; its label goes on the request metric. */
    Backend served;
    /** How the last failed attempt ended, if it failed. */
    UpstreamFailure lastFailure;
    /** Why no backend was picked: no_backend or circuit_open; null when one was. */
    String refusal;

    /** True for a gRPC call ({@link Grpc#isCall}). */
    final boolean grpc;
    /** The call's gRPC status as its client gets it (the backend's, or the proxy's own answer's); -1 while unknown. */
    int grpcStatus = -1;

    RequestState(HttpServerExchange exchange) {
        this.exchange = exchange;
        this.grpc = Grpc.isCall(exchange.getRequestHeaders());
    }

    HttpServerExchange exchange() {
        return exchange;
    }

    boolean wasTried(Backend backend) {
        for (int i = 0; i < triedCount; i++) {
            if (tried[i] == backend) {
                return true;
            }
        }
        return false;
    }

    int attempts() {
        return triedCount;
    }

    /**
     * Picks the next backend, one not tried yet whose breaker grants a permit, and begins the attempt on it;
     * null when there is none, with {@link #refusal} saying why. A {@code crowded} backend is passed over while
     * another will do.
     */
    Backend pickNext(BackendPool pool, Predicate<Backend> crowded) {
        if (!turnTaken) {
            turn = pool.nextTurn();
            turnTaken = true;
        }
        Backend backend = pick(pool, crowded, true); // every candidate crowded: wait for one as before
        if (backend == null) {
            boolean untried = pool.snapshot().rotation().size() > attempts();
            refusal = untried ? MetricNames.ERROR_CIRCUIT_OPEN : MetricNames.ERROR_NO_BACKEND;
            return null;
        }
        begin(backend);
        return backend;
    }

    /**
     * Moves the current attempt, which never reached its backend, to another backend not tried yet: one not
     * {@code crowded}, or with {@code evenCrowded} any. Its permit goes back without a verdict. Null, with nothing
     * changed, when there is none.
     */
    Backend moveOn(BackendPool pool, Predicate<Backend> crowded, boolean evenCrowded) {
        Backend backend = pick(pool, crowded, evenCrowded);
        if (backend != null) {
            abandon();
            begin(backend);
        }
        return backend;
    }

    /** A backend not tried yet from this request's turn: one not {@code crowded}, else with {@code evenCrowded} any. */
    private Backend pick(BackendPool pool, Predicate<Backend> crowded, boolean evenCrowded) {
        Backend backend = pool.pick(turn, b -> wasTried(b) || crowded.test(b));
        return backend == null && evenCrowded ? pool.pick(turn, this::wasTried) : backend;
    }

    /** Counts why no backend served this request (errors metric, backend "none"); returns that reason for the 503. */
    String noBackend(ProxyMetrics metrics) {
        if (refusal != null && attempts() == 0) {
            metrics.error(refusal, MetricNames.NO_BACKEND);
            return refusal.equals(MetricNames.ERROR_CIRCUIT_OPEN)
                    ? "service unavailable: every backend's circuit breaker is open"
                    : "service unavailable: no backend available";
        }
        metrics.error(MetricNames.ERROR_NO_BACKEND, MetricNames.NO_BACKEND);
        return "service unavailable: no backend could be reached (" + attempts() + " tried)";
    }

    private void begin(Backend backend) {
        if (triedCount == tried.length) {
            tried = java.util.Arrays.copyOf(tried, triedCount * 2);
        }
        tried[triedCount++] = backend;
        attempt = backend;
        if (inFlightOn != null) {
            inFlightOn.requestEnded();
        }
        backend.requestStarted();
        inFlightOn = backend;
        attemptStartNanos = System.nanoTime();
        permitHeld = true;
        lastFailure = null;
        refusal = null;
    }

    /**
     * Reports the current attempt's failure to its breaker, once.
     *
     * @return the backend charged, or null when the outcome was already reported
     */
    Backend fail(UpstreamFailure failure) {
        if (!permitHeld) {
            return null;
        }
        permitHeld = false;
        lastFailure = failure;
        attempt.breaker().onError(System.nanoTime() - attemptStartNanos, TimeUnit.NANOSECONDS, failure.asException());
        return attempt;
    }

    /** {@link #fail}, and the failure counted in the errors metric against the backend charged, if any. */
    Backend fail(UpstreamFailure failure, ProxyMetrics metrics) {
        Backend charged = fail(failure);
        if (charged != null) {
            metrics.error(failure.label(), charged.key());
        }
        return charged;
    }

    /** Reports the current attempt's success to its breaker, once. */
    void succeed() {
        if (permitHeld) {
            permitHeld = false;
            attempt.breaker().onSuccess(System.nanoTime() - attemptStartNanos, TimeUnit.NANOSECONDS);
        }
    }

    /** Gives the permit back without a verdict: the attempt never reached the backend. */
    void abandon() {
        if (permitHeld) {
            permitHeld = false;
            attempt.breaker().releasePermission();
        }
    }

    boolean permitHeld() {
        return permitHeld;
    }

    /**
     * Answers the request with an error of the proxy's own: to a gRPC call in gRPC's form, its status by gRPC's
     * mapping of {@code status} (recorded first: the answer ends the exchange, which counts the call), else as text.
     */
    void answer(int status, String reason) {
        if (grpc) {
            grpcStatus = Grpc.forHttpStatus(status);
            Responses.grpc(exchange, grpcStatus, reason);
        } else {
            Responses.plain(exchange, status, reason);
        }
    }

    /**
     * The request ended with {@code status}: the verdict on the attempt that still holds its permit (a 5xx, or a
     * gRPC status marked in {@code grpcFailures}, is a failure), and the request's metrics. Every exchange ends here.
     */
    void finish(ProxyMetrics metrics, int status, boolean[] grpcFailures) {
        if (permitHeld) {
            if (status >= 500) {
                fail(UpstreamFailure.STATUS_5XX, metrics);
            } else if (grpc && grpcStatus >= 0 && grpcFailures[grpcStatus]) {
                fail(UpstreamFailure.GRPC_STATUS, metrics);
            } else {
                succeed();
            }
        }
        if (inFlightOn != null) {
            inFlightOn.requestEnded();
            inFlightOn = null;
        }
        String backend = served == null ? MetricNames.NO_BACKEND : served.key();
        metrics.request(exchange.getRequestMethod().toString(), status, backend, System.nanoTime() - startNanos);
        if (grpc) {
            metrics.grpcCall(backend, grpcStatus < 0 ? Grpc.UNKNOWN : grpcStatus);
        }
    }
}
