package dev.roundhouse.proxy.status;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import dev.roundhouse.poolformat.PoolDocument;
import dev.roundhouse.proxy.breaker.Breakers;
import dev.roundhouse.proxy.config.PoolReloader;
import dev.roundhouse.proxy.pool.Backend;
import dev.roundhouse.proxy.pool.BackendPool;
import dev.roundhouse.proxy.pool.HealthState;
import dev.roundhouse.proxy.pool.PoolSnapshot;
import dev.roundhouse.proxy.pool.WeightedRoundRobin;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Instant;
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

    /** The document's format version: fields may be added within it, none changes meaning. */
    public static final int VERSION = 1;

    private static final JsonFactory JSON = new JsonFactory();

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

    /** The state of a backend in one word, as {@code /status} and the page show it. */
    public static String state(Backend backend, boolean healthy) {
        // Failed health checks first: they last until enough checks pass, an ejection only until one does.
        if (!healthy) {
            return "out-of-rotation";
        }
        if (backend.ejected()) {
            return "ejected";
        }
        return switch (backend.breaker().getState()) {
            case OPEN, FORCED_OPEN -> "breaker-open";
            case HALF_OPEN -> "breaker-half-open";
            default -> "in-rotation";
        };
    }

    /** The status document, as UTF-8 JSON. */
    public byte[] json() {
        ByteArrayOutputStream out = new ByteArrayOutputStream(4096);
        try (JsonGenerator g = JSON.createGenerator(out)) {
            write(g);
        } catch (IOException e) {
            throw new UncheckedIOException(e); // a byte array does not fail
        }
        return out.toByteArray();
    }

    private void write(JsonGenerator g) throws IOException {
        PoolSnapshot snapshot = pool.snapshot();
        PoolDocument document = snapshot.document();
        g.writeStartObject();
        g.writeNumberField("version", VERSION);
        g.writeFieldName("pool");
        PoolReloader.Applied applied = reloader.applied();
        if (applied == null) {
            g.writeNull();
        } else {
            g.writeStartObject();
            g.writeNumberField("version", applied.version());
            g.writeStringField("hash", applied.hash());
            g.writeStringField("source", applied.source());
            time(g, "appliedAt", applied.at());
            g.writeBooleanField("panic", snapshot.panic());
            PoolReloader.Rejected rejected = reloader.rejected();
            if (rejected != null) {
                g.writeObjectFieldStart("lastRejected");
                time(g, "at", rejected.at());
                g.writeStringField("source", rejected.source());
                g.writeStringField("reason", rejected.reason());
                g.writeEndObject();
            }
            g.writeEndObject();
        }
        g.writeNumberField("lastChange", changes.last());
        g.writeArrayFieldStart("backends");
        for (WeightedRoundRobin.Member member : snapshot.members()) {
            backend(g, member, document);
        }
        g.writeEndArray();
        g.writeArrayFieldStart("changes");
        for (StateChanges.Change c : changes.newestFirst()) {
            g.writeStartObject();
            g.writeNumberField("seq", c.seq());
            time(g, "at", c.at());
            g.writeStringField("kind", c.kind().label());
            if (c.backend() != null) {
                g.writeStringField("backend", c.backend());
            }
            if (c.from() != null) {
                g.writeStringField("from", c.from());
            }
            g.writeStringField("to", c.to());
            g.writeStringField("reason", c.reason());
            g.writeEndObject();
        }
        g.writeEndArray();
        g.writeEndObject();
    }

    private void backend(JsonGenerator g, WeightedRoundRobin.Member member, PoolDocument document) throws IOException {
        Backend b = member.backend();
        HealthState.View health = b.health().view();
        CircuitBreaker breaker = b.breaker();
        String state = state(b, health.healthy());
        g.writeStartObject();
        g.writeStringField("url", b.key());
        g.writeNumberField("weight", member.weight());
        g.writeStringField("protocol", b.protocol().wireName());
        g.writeStringField("state", state);
        g.writeBooleanField(
                "inRotation",
                !state.equals("out-of-rotation") && !state.equals("ejected") && !state.equals("breaker-open"));
        time(g, "since", since(state, health.since(), breakers.since(b.key())));
        g.writeObjectFieldStart("health");
        g.writeBooleanField("healthy", health.healthy());
        time(g, "since", health.since());
        g.writeNumberField("consecutiveSuccesses", health.consecutiveSuccesses());
        g.writeNumberField("consecutiveFailures", health.consecutiveFailures());
        if (document != null) {
            g.writeNumberField("healthyThreshold", document.healthCheck().healthyThreshold());
            g.writeNumberField("unhealthyThreshold", document.healthCheck().unhealthyThreshold());
        }
        g.writeFieldName("lastCheck");
        HealthState.Check last = health.last();
        if (last == null) {
            g.writeNull();
        } else {
            g.writeStartObject();
            time(g, "at", last.at());
            g.writeBooleanField("passed", last.failure() == null);
            g.writeNumberField("latencyMs", Math.round(last.latencyNanos() / 10_000.0) / 100.0);
            if (last.failure() != null) {
                g.writeStringField("reason", last.failure());
            }
            g.writeEndObject();
        }
        g.writeEndObject();
        g.writeObjectFieldStart("breaker");
        g.writeStringField("state", Breakers.name(breaker.getState()));
        time(g, "since", breakers.since(b.key()));
        float rate = breaker.getMetrics().getFailureRate();
        if (rate < 0) {
            g.writeNullField("failureRate");
        } else {
            g.writeNumberField("failureRate", rate);
        }
        g.writeEndObject();
        g.writeNumberField("inFlight", b.inFlight());
        BackendActivity.LastMinute minute = activity.lastMinute(b.key());
        g.writeObjectFieldStart("lastMinute");
        g.writeNumberField("requestsPerSecond", round(minute.requestsPerSecond()));
        nullable(g, "errorRatio", minute.errorRatio() == null ? null : Math.round(minute.errorRatio() * 1e4) / 1e4);
        nullable(g, "p50Ms", minute.p50Ms() == null ? null : round(minute.p50Ms()));
        nullable(g, "p99Ms", minute.p99Ms() == null ? null : round(minute.p99Ms()));
        g.writeArrayFieldStart("rates");
        for (double r : minute.rates()) {
            g.writeNumber(round(r));
        }
        g.writeEndArray();
        g.writeEndObject();
        g.writeEndObject();
    }

    /** When the backend's current state began: its health's flip, its breaker's transition, or the later of both. */
    static Instant since(String state, Instant health, Instant breaker) {
        if (breaker == null || state.equals("out-of-rotation")) {
            return health;
        }
        if (!state.equals("in-rotation") || health == null) {
            return breaker;
        }
        return health.isAfter(breaker) ? health : breaker;
    }

    private static double round(double value) {
        return Math.round(value * 100) / 100.0;
    }

    private static void nullable(JsonGenerator g, String name, Double value) throws IOException {
        if (value == null) {
            g.writeNullField(name);
        } else {
            g.writeNumberField(name, value);
        }
    }

    private static void time(JsonGenerator g, String name, Instant at) throws IOException {
        if (at == null) {
            g.writeNullField(name);
        } else {
            g.writeStringField(
                    name, at.truncatedTo(java.time.temporal.ChronoUnit.MILLIS).toString());
        }
    }

    @Override
    public void close() {
        sampler.shutdownNow();
    }
}
