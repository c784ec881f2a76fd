package dev.roundhouse.proxy.status;

import dev.roundhouse.poolformat.PoolDocument;
import dev.roundhouse.poolformat.status.BackendState;
import dev.roundhouse.poolformat.status.ProxyStatusCodec;
import dev.roundhouse.poolformat.status.ProxyStatusDocument;
import dev.roundhouse.proxy.breaker.Breakers;
import dev.roundhouse.proxy.config.PoolReloader;
import dev.roundhouse.proxy.pool.Backend;
import dev.roundhouse.proxy.pool.BackendPool;
import dev.roundhouse.proxy.pool.HealthState;
import dev.roundhouse.proxy.pool.PoolSnapshot;
import dev.roundhouse.proxy.pool.WeightedRoundRobin;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * What {@code GET /status} answers (docs/status.md): the live pool document, each backend's health, breaker and
 * last minute, and the recent state changes. Built when asked, from state the proxy keeps for its own work.
 */
public final class ProxyStatus implements AutoCloseable {

    private final BackendPool pool;
    private final Breakers breakers;
    private final PoolReloader reloader;
    private final StateChanges changes;
    private final BackendActivity activity;
    private final ScheduledExecutorService sampler;

    public ProxyStatus(
            BackendPool pool,
            Breakers breakers,
            PoolReloader reloader,
            StateChanges changes,
            BackendActivity activity) {
        this.pool = pool;
        this.breakers = breakers;
        this.reloader = reloader;
        this.changes = changes;
        this.activity = activity;
        this.sampler = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "status-sampler");
            t.setDaemon(true);
            return t;
        });
    }

    /** Samples the backends' meters every {@link BackendActivity#SAMPLE_SECONDS} seconds from now on. */
    public void start() {
        sampler.scheduleAtFixedRate(this::sample, 0, BackendActivity.SAMPLE_SECONDS, TimeUnit.SECONDS);
    }

    void sample() {
        List<String> keys = new ArrayList<>();
        for (Backend b : pool.snapshot().backends()) {
            keys.add(b.key());
        }
        activity.sample(keys, System.nanoTime());
    }

    public StateChanges changes() {
        return changes;
    }

    /** The state of a backend, as {@code /status} and the page show it. */
    public static BackendState state(Backend backend, boolean healthy) {
        // Failed health checks first: they last until enough checks pass, an ejection only until one does.
        if (!healthy) {
            return BackendState.OUT_OF_ROTATION;
        }
        if (backend.ejected()) {
            return BackendState.EJECTED;
        }
        return switch (backend.breaker().getState()) {
            case OPEN, FORCED_OPEN -> BackendState.BREAKER_OPEN;
            case HALF_OPEN -> BackendState.BREAKER_HALF_OPEN;
            default -> BackendState.IN_ROTATION;
        };
    }

    /** The status document, as UTF-8 JSON. */
    public byte[] json() {
        return ProxyStatusCodec.write(document());
    }

    /** The status document, built from the pool, its backends' states and the changes, as they are now. */
    public ProxyStatusDocument document() {
        PoolSnapshot snapshot = pool.snapshot();
        PoolDocument document = snapshot.document();
        PoolReloader.Applied applied = reloader.applied();
        ProxyStatusDocument.Pool live = null;
        if (applied != null) {
            PoolReloader.Rejected rejected = reloader.rejected();
            live = new ProxyStatusDocument.Pool(
                    applied.version(),
                    applied.hash(),
                    applied.source(),
                    time(applied.at()),
                    snapshot.panic(),
                    rejected == null
                            ? null
                            : new ProxyStatusDocument.Rejected(
                                    time(rejected.at()), rejected.source(), rejected.reason()));
        }
        List<ProxyStatusDocument.Backend> backends = new ArrayList<>(snapshot.size());
        for (WeightedRoundRobin.Member member : snapshot.members()) {
            backends.add(backend(member, document));
        }
        List<ProxyStatusDocument.Change> recent = new ArrayList<>();
        for (StateChanges.Change c : changes.newestFirst()) {
            recent.add(new ProxyStatusDocument.Change(
                    c.seq(), time(c.at()), c.kind().label(), c.backend(), c.from(), c.to(), c.reason()));
        }
        return new ProxyStatusDocument(ProxyStatusDocument.VERSION, live, changes.last(), backends, recent);
    }

    private ProxyStatusDocument.Backend backend(WeightedRoundRobin.Member member, PoolDocument document) {
        Backend b = member.backend();
        HealthState.View health = b.health().view();
        CircuitBreaker breaker = b.breaker();
        BackendState state = state(b, health.healthy());
        Instant breakerSince = breakers.since(b.key());
        HealthState.Check last = health.last();
        float rate = breaker.getMetrics().getFailureRate();
        BackendActivity.LastMinute minute = activity.lastMinute(b.key());
        List<Double> rates = new ArrayList<>(minute.rates().length);
        for (double r : minute.rates()) {
            rates.add(round(r));
        }
        return new ProxyStatusDocument.Backend(
                b.key(),
                member.weight(),
                b.protocol().wireName(),
                state.wireName(),
                state.inRotation(),
                time(since(state, health.since(), breakerSince)),
                new ProxyStatusDocument.Health(
                        health.healthy(),
                        time(health.since()),
                        health.consecutiveSuccesses(),
                        health.consecutiveFailures(),
                        document == null ? 0 : document.healthCheck().healthyThreshold(),
                        document == null ? 0 : document.healthCheck().unhealthyThreshold(),
                        last == null
                                ? null
                                : new ProxyStatusDocument.Check(
                                        time(last.at()),
                                        last.failure() == null,
                                        Math.round(last.latencyNanos() / 10_000.0) / 100.0,
                                        last.failure())),
                new ProxyStatusDocument.Breaker(
                        Breakers.name(breaker.getState()), time(breakerSince), rate < 0 ? null : rate),
                b.inFlight(),
                new ProxyStatusDocument.LastMinute(
                        round(minute.requestsPerSecond()),
                        minute.errorRatio() == null ? null : Math.round(minute.errorRatio() * 1e4) / 1e4,
                        minute.p50Ms() == null ? null : round(minute.p50Ms()),
                        minute.p99Ms() == null ? null : round(minute.p99Ms()),
                        rates));
    }

    /** When the backend's current state began: its health's flip, its breaker's transition, or the later of both. */
    static Instant since(BackendState state, Instant health, Instant breaker) {
        if (breaker == null || state == BackendState.OUT_OF_ROTATION) {
            return health;
        }
        if (state != BackendState.IN_ROTATION || health == null) {
            return breaker;
        }
        return health.isAfter(breaker) ? health : breaker;
    }

    private static double round(double value) {
        return Math.round(value * 100) / 100.0;
    }

    private static String time(Instant at) {
        return at == null ? null : at.truncatedTo(ChronoUnit.MILLIS).toString();
    }

    @Override
    public void close() {
        sampler.shutdownNow();
    }
}
