package dev.roundhouse.proxy.pool;

import dev.roundhouse.poolformat.PoolDocument;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * One immutable view of the pool: the document it came from, its backends, and the rotation built
 * from those that pass their health checks. Readers take it from one atomic reference and never lock.
 */
public final class PoolSnapshot {

    static final PoolSnapshot EMPTY = new PoolSnapshot(null, "", List.of());

    private final PoolDocument document;
    private final String hash;
    private final List<WeightedRoundRobin.Member> members;
    private final Map<String, Backend> byKey;
    private final WeightedRoundRobin rotation;
    private final int healthy;
    private final boolean panic;

    PoolSnapshot(PoolDocument document, String hash, List<WeightedRoundRobin.Member> members) {
        this.document = document;
        this.hash = hash;
        // Plain loops and a HashMap: built on every reload, mostly as interpreted code.
        this.members = List.copyOf(members);
        Map<String, Backend> keys = new HashMap<>();
        List<WeightedRoundRobin.Member> inRotation = new ArrayList<>();
        for (WeightedRoundRobin.Member m : members) {
            keys.put(m.backend().key(), m.backend());
            if (m.backend().health().isHealthy()) {
                inRotation.add(m);
            }
        }
        this.byKey = Collections.unmodifiableMap(keys);
        this.healthy = inRotation.size();
        // Panic mode: when checks fail for every backend, a wrong health path or an overloaded check
        // endpoint is more likely than a total outage, so try them all; breakers still stop dead ones.
        this.panic = inRotation.isEmpty() && !members.isEmpty();
        this.rotation = WeightedRoundRobin.of(panic ? members : inRotation);
    }

    PoolSnapshot withRotationRebuilt() {
        return new PoolSnapshot(document, hash, members);
    }

    /** The applied document, or null before the first one. */
    public PoolDocument document() {
        return document;
    }

    /** Hash of the applied document's text; empty before the first one. */
    public String hash() {
        return hash;
    }

    public List<Backend> backends() {
        List<Backend> backends = new ArrayList<>(members.size());
        for (WeightedRoundRobin.Member m : members) {
            backends.add(m.backend());
        }
        return Collections.unmodifiableList(backends);
    }

    public List<WeightedRoundRobin.Member> members() {
        return members;
    }

    public Backend backend(String key) {
        return byKey.get(key);
    }

    public WeightedRoundRobin rotation() {
        return rotation;
    }

    public int size() {
        return members.size();
    }

    /** Backends passing their health checks. */
    public int healthyCount() {
        return healthy;
    }

    /** True when no backend passes its checks and the rotation holds all of them. */
    public boolean panic() {
        return panic;
    }
}
