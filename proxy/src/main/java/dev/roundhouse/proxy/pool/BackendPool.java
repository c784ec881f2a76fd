package dev.roundhouse.proxy.pool;

import dev.roundhouse.poolformat.BackendUrls;
import dev.roundhouse.poolformat.PoolDocument;
import dev.roundhouse.proxy.breaker.Breakers;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.function.Predicate;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * The live pool. Writers (reloads, health changes) are rare and serialised; they build a new
 * {@link PoolSnapshot} and swap it in. The request path only reads the current snapshot.
 */
public final class BackendPool implements AutoCloseable {

    private static final Logger log = LogManager.getLogger(BackendPool.class);

    /**
     * How long a backend a document removed is kept aside in case a document adds it back: a pod whose
     * readiness flapped, a rolled-back change. One minute is as long as an idle keep-alive connection lives.
     */
    public static final Duration PARKED_FOR = Duration.ofMinutes(1);

    /** What a reload changed. */
    public record Change(List<String> added, List<String> removed, boolean unchanged) {}

    /** A removed backend kept aside, with the breaker settings its breaker was built with. */
    private record Parked(Backend backend, PoolDocument.CircuitBreaker breakerSettings, Instant since) {}

    private final AtomicReference<PoolSnapshot> current = new AtomicReference<>(PoolSnapshot.EMPTY);
    private final Breakers breakers;
    private final Consumer<String> beforeNewBackendServes;
    private final Consumer<String> afterBackendForgotten;
    private final Clock clock;
    private final Map<String, Parked> parked = new HashMap<>(); // guarded by this
    private PoolDocument.BackendTls appliedTls = PoolDocument.BackendTls.DEFAULTS; // guarded by this

    public BackendPool(Breakers breakers) {
        this(breakers, key -> {}, key -> {}, Clock.systemUTC());
    }

    /**
     * @param beforeNewBackendServes called with the key of each backend a document adds (and that is not
     *     coming back from being parked), on the applying thread, before the backend enters rotation
     * @param afterBackendForgotten called with the key of each removed backend once it is forgotten, when
     *     {@link #PARKED_FOR} has passed without a document adding it back
     */
    public BackendPool(
            Breakers breakers,
            Consumer<String> beforeNewBackendServes,
            Consumer<String> afterBackendForgotten,
            Clock clock) {
        this.breakers = breakers;
        this.beforeNewBackendServes = beforeNewBackendServes;
        this.afterBackendForgotten = afterBackendForgotten;
        this.clock = clock;
    }

    public PoolSnapshot snapshot() {
        return current.get();
    }

    /** True once a document has been applied (the proxy is ready from then on). */
    public boolean loaded() {
        return current.get().document() != null;
    }

    /**
     * Applies a validated document. Backends that stay keep their breaker, health state and
     * connections. Removed ones leave rotation at once; requests already on them finish. They are
     * parked for {@link #PARKED_FOR}: a document adding one back within that time gets the same
     * object, which starts again as a new backend does (healthy, breaker closed) but keeps its meters
     * and idle connections, so a backend coming and going (readiness flapping) costs no meter
     * registration and no new connections. After that time it is forgotten: breaker and meters
     * dropped, connections closed.
     */
    public synchronized Change apply(PoolDocument document, String hash) {
        PoolSnapshot old = current.get();
        if (hash.equals(old.hash())) {
            return new Change(List.of(), List.of(), true);
        }
        Instant now = clock.instant();
        forgetParked(now); // first, so that a backend whose time is up comes back as a new one
        boolean newBreakerSettings =
                old.document() != null && !old.document().circuitBreaker().equals(document.circuitBreaker());
        // Unchanged settings keep their instance: connections opened under them stay in use.
        PoolDocument.BackendTls tls = appliedTls.equals(document.backendTls()) ? appliedTls : document.backendTls();
        List<WeightedRoundRobin.Member> members = new ArrayList<>();
        List<String> added = new ArrayList<>();
        Set<String> kept = new HashSet<>();
        for (PoolDocument.BackendEntry entry : document.backends()) {
            URI uri = BackendUrls.parse(entry.url());
            String key = uri.toString(); // BackendUrls.key, without a second lookup
            Backend backend = old.backend(key);
            if (backend == null) {
                Parked back = parked.remove(key);
                if (back != null) {
                    backend = back.backend();
                    backend.health().reset();
                    if (back.breakerSettings().equals(document.circuitBreaker())) {
                        backend.breaker().reset();
                    } else {
                        backend.replaceBreaker(breakers.create(key, document.circuitBreaker()));
                    }
                } else {
                    backend = new Backend(key, uri, breakers.create(key, document.circuitBreaker()));
                    beforeNewBackendServes.accept(key);
                }
                added.add(key);
            } else {
                kept.add(key);
                if (newBreakerSettings) {
                    // Resilience4j breakers are immutable in their settings: new settings, new breaker.
                    backend.replaceBreaker(breakers.create(key, document.circuitBreaker()));
                }
            }
            if ("https".equals(uri.getScheme())) {
                backend.useTls(tls);
            }
            backend.useProtocol(entry.protocol());
            members.add(new WeightedRoundRobin.Member(backend, entry.weight()));
        }
        // Parking is guarded by this lock, not by the swap: readers never look at parked backends.
        List<String> removed = new ArrayList<>();
        for (WeightedRoundRobin.Member m : old.members()) {
            Backend gone = m.backend();
            if (!kept.contains(gone.key())) {
                parked.put(gone.key(), new Parked(gone, old.document().circuitBreaker(), now));
                removed.add(gone.key());
            }
        }
        appliedTls = tls;
        swap(old, new PoolSnapshot(document, hash, members));
        return new Change(added, removed, false);
    }

    /** Forgets the parked backends whose time is up; also called between reloads (by the health checker's rounds). */
    public synchronized void forgetParked() {
        forgetParked(clock.instant());
    }

    private void forgetParked(Instant now) {
        for (Iterator<Parked> it = parked.values().iterator(); it.hasNext(); ) {
            Parked p = it.next();
            if (!now.isBefore(p.since().plus(PARKED_FOR))) {
                it.remove();
                forget(p.backend());
            }
        }
    }

    private void forget(Backend backend) {
        breakers.remove(backend.key());
        backend.retire();
        afterBackendForgotten.accept(backend.key());
    }

    /** Rebuilds the rotation after health states changed. */
    public synchronized void refreshRotation() {
        PoolSnapshot old = current.get();
        swap(old, old.withRotationRebuilt());
    }

    /**
     * Picks the next backend in rotation that is not excluded and whose breaker grants a permit.
     * The caller owns the permit and must report the call's outcome to the breaker.
     */
    public Backend pick(Predicate<Backend> excluded) {
        return pick(nextTurn(), excluded);
    }

    /** A request's turn in the rotation, taken once; its retries pick from the same turn. */
    public int nextTurn() {
        return current.get().rotation().nextTurn();
    }

    /** {@link #pick(Predicate)} from a turn the request already has. */
    public Backend pick(int turn, Predicate<Backend> excluded) {
        return current.get()
                .rotation()
                .pick(turn, b -> !excluded.test(b) && b.breaker().tryAcquirePermission());
    }

    private void swap(PoolSnapshot old, PoolSnapshot next) {
        current.set(next);
        if (next.panic() && !old.panic()) {
            log.warn(
                    "No backend passes its health checks: panic mode, trying all {} backends (breakers still apply)",
                    next.size());
        } else if (old.panic() && !next.panic() && next.size() > 0) {
            // At the level its start was logged at: a log read at WARN shows how long it lasted.
            log.warn("Panic mode over: {} of {} backends pass their health checks", next.healthyCount(), next.size());
        }
    }

    @Override
    public synchronized void close() {
        PoolSnapshot last = current.getAndSet(PoolSnapshot.EMPTY);
        for (Backend b : last.backends()) {
            forget(b);
        }
        for (Parked p : parked.values()) {
            forget(p.backend());
        }
        parked.clear();
    }

    @Override
    public String toString() {
        return Objects.toString(current.get().backends());
    }
}
