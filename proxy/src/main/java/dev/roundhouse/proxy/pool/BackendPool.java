package dev.roundhouse.proxy.pool;

import dev.roundhouse.poolformat.BackendUrls;
import dev.roundhouse.poolformat.PoolDocument;
import dev.roundhouse.proxy.breaker.Breakers;
import io.undertow.server.handlers.proxy.ProxyConnectionPool;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

import java.net.URI;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * The live pool. Writers (reloads, health changes) are rare and serialised; they build a new
 * {@link PoolSnapshot} and swap it in. The request path only reads the current snapshot.
 */
public final class BackendPool implements AutoCloseable {

    private static final Logger log = LogManager.getLogger(BackendPool.class);

    /** What a reload changed. */
    public record Change(List<String> added, List<String> removed, boolean unchanged) {
    }

    private final AtomicReference<PoolSnapshot> current = new AtomicReference<>(PoolSnapshot.EMPTY);
    private final Breakers breakers;
    private final Function<URI, ProxyConnectionPool> connectionPools;
    private final Consumer<String> beforeNewBackendServes;

    public BackendPool(Breakers breakers, Function<URI, ProxyConnectionPool> connectionPools) {
        this(breakers, connectionPools, key -> { });
    }

    /**
     * @param beforeNewBackendServes called with the key of each backend a document adds, on the applying
     *     thread, before the backend enters rotation
     */
    public BackendPool(Breakers breakers, Function<URI, ProxyConnectionPool> connectionPools,
                       Consumer<String> beforeNewBackendServes) {
        this.breakers = breakers;
        this.connectionPools = connectionPools;
        this.beforeNewBackendServes = beforeNewBackendServes;
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
     * connections; removed ones leave rotation at once and their connections close once idle,
     * so requests already on them finish.
     */
    public synchronized Change apply(PoolDocument document, String hash) {
        PoolSnapshot old = current.get();
        if (hash.equals(old.hash())) {
            return new Change(List.of(), List.of(), true);
        }
        boolean newBreakerSettings = old.document() != null
                && !old.document().circuitBreaker().equals(document.circuitBreaker());
        List<WeightedRoundRobin.Member> members = new ArrayList<>();
        List<String> added = new ArrayList<>();
        Set<String> kept = new HashSet<>();
        for (PoolDocument.BackendEntry entry : document.backends()) {
            String key = BackendUrls.key(entry.url());
            Backend backend = old.backend(key);
            if (backend == null) {
                URI uri = BackendUrls.parse(entry.url());
                backend = new Backend(key, uri, connectionPools.apply(uri),
                        breakers.create(key, document.circuitBreaker()));
                beforeNewBackendServes.accept(key);
                added.add(key);
            } else {
                kept.add(key);
                if (newBreakerSettings) {
                    // Resilience4j breakers are immutable in their settings: new settings, new breaker.
                    backend.replaceBreaker(breakers.create(key, document.circuitBreaker()));
                }
            }
            members.add(new WeightedRoundRobin.Member(backend, entry.weight()));
        }
        List<Backend> removed = old.backends().stream().filter(b -> !kept.contains(b.key())).toList();
        swap(old, new PoolSnapshot(document, hash, members));
        for (Backend gone : removed) {
            breakers.remove(gone.key());
            gone.retire();
        }
        return new Change(added, removed.stream().map(Backend::key).toList(), false);
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
        return current.get().rotation().pick(b -> !excluded.test(b) && b.breaker().tryAcquirePermission());
    }

    private void swap(PoolSnapshot old, PoolSnapshot next) {
        current.set(next);
        if (next.panic() && !old.panic()) {
            log.warn("No backend passes its health checks: panic mode, trying all {} backends (breakers still apply)",
                    next.size());
        } else if (old.panic() && !next.panic() && next.size() > 0) {
            log.info("Panic mode over: {} of {} backends pass their health checks", next.healthyCount(), next.size());
        }
    }

    @Override
    public synchronized void close() {
        PoolSnapshot last = current.getAndSet(PoolSnapshot.EMPTY);
        for (Backend b : last.backends()) {
            breakers.remove(b.key());
            b.retire();
        }
    }

    @Override
    public String toString() {
        return Objects.toString(current.get().backends());
    }
}
