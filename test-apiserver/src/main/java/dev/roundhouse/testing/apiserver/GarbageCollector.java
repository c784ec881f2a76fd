package dev.roundhouse.testing.apiserver;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.mockwebserver.crud.AttributeSet;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.ReadWriteLock;
import java.util.function.Consumer;
import java.util.function.Supplier;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The garbage collector a cluster runs (in kube-controller-manager), so that an owner reference that would not hold
 * on a cluster does not hold here either. An object is garbage when every one of its owner references names an owner
 * that does not exist: no stored object with that uid, kind, API group and name, in the dependent's namespace or
 * cluster-scoped. Garbage is deleted in the background shortly after the write that made it so, the owner's delete
 * (background propagation) or the dependent's own write, with watch events as for any delete and no recorded write
 * (the writes a test counts are its clients'). An object with a wrong uid in its only reference is so deleted just
 * after it is created, as on a cluster.
 *
 * <p>Simplified: an owner deleted with {@code propagationPolicy: Orphan} leaves its dependents, but their references
 * to it stay (a cluster removes them); {@code Foreground} is collected as background; finalizers and {@code
 * blockOwnerDeletion} are not looked at.
 */
final class GarbageCollector implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(GarbageCollector.class.getName());
    private static final ObjectMapper JSON = new ObjectMapper();

    /** What a collection needs of a stored object, parsed once per stored version. */
    private record Stored(
            String json,
            String uid,
            String group,
            String version,
            String kind,
            String namespace,
            String name,
            List<OwnerRef> owners) {}

    private record OwnerRef(String group, String kind, String name, String uid) {}

    private final Map<AttributeSet, String> store;
    private final ReadWriteLock lock;
    private final Supplier<List<Discovery.Resource>> resources;
    private final Consumer<String> delete;
    private final ExecutorService thread = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "embedded-apiserver-garbage-collector");
        t.setDaemon(true);
        return t;
    });
    private final AtomicBoolean scheduled = new AtomicBoolean();
    /** While true, no collection runs: a cluster whose controller manager lags behind (see {@link #pause}). */
    private volatile boolean paused;
    /** Uids of owners deleted with {@code propagationPolicy: Orphan}: their dependents are not garbage. */
    private final Set<String> orphaning = ConcurrentHashMap.newKeySet();
    /** Uids of garbage no served resource can delete, reported once (touched by the collector thread only). */
    private final Set<String> undeletable = new HashSet<>();
    /** The collector thread's parse of each stored object, kept while the stored JSON is the same string. */
    private final Map<AttributeSet, Stored> parsed = new HashMap<>();

    /**
     * @param store the base class's objects, guarded by {@code lock}
     * @param resources the kinds the server serves, for the path of an object to delete
     * @param delete deletes the object at a path as the base class does (with its watch events)
     */
    GarbageCollector(
            Map<AttributeSet, String> store,
            ReadWriteLock lock,
            Supplier<List<Discovery.Resource>> resources,
            Consumer<String> delete) {
        this.store = store;
        this.lock = lock;
        this.resources = resources;
        this.delete = delete;
    }

    /** A write or delete succeeded: a collection runs soon (one for a burst of writes). */
    void wake() {
        if (scheduled.compareAndSet(false, true)) {
            thread.execute(this::collect);
        }
    }

    /**
     * Holds collections back until the returned handle is closed, then runs one: the window a cluster leaves between
     * an owner's delete and its dependents', which a lagging controller manager can make seconds long.
     */
    AutoCloseable pause() {
        paused = true;
        return () -> {
            paused = false;
            wake();
        };
    }

    /** The object with {@code uid} is being deleted with {@code propagationPolicy: Orphan}. */
    void orphan(String uid) {
        orphaning.add(uid);
    }

    /** One collection, now, on the calling thread: what {@link #wake} runs on the collector's own. */
    void collect() {
        scheduled.set(false);
        if (paused) {
            return; // the pause's end wakes a collection
        }
        try {
            // Deleting an owner's dependents may make their own dependents garbage: pass after pass, until one
            // deletes nothing (garbage it cannot delete stays, and is no reason for another pass).
            boolean deleted = true;
            while (deleted) {
                deleted = false;
                List<Discovery.Resource> served = resources.get();
                for (Map.Entry<AttributeSet, Stored> entry : garbage()) {
                    Stored object = entry.getValue();
                    String path = pathOf(object, served);
                    if (path != null) {
                        deleted |= deleteIfUnchanged(entry.getKey(), object, path);
                    } else if (undeletable.add(object.uid())) {
                        LOG.warning("garbage collection: no resource serves " + object.kind() + " " + object.namespace()
                                + "/" + object.name() + ", left in place");
                    }
                }
            }
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "garbage collection failed", e);
        }
    }

    /**
     * Deletes the object at {@code path} only while it is still the version judged garbage, as a cluster's collector
     * reads it again and deletes with a uid precondition: one written or created again since stays (its write wakes
     * another collection, which judges it afresh).
     */
    private boolean deleteIfUnchanged(AttributeSet key, Stored judged, String path) {
        lock.writeLock().lock();
        try {
            if (store.get(key) != judged.json()) {
                return false;
            }
            delete.accept(path);
            return true;
        } finally {
            lock.writeLock().unlock();
        }
    }

    private List<Map.Entry<AttributeSet, Stored>> garbage() {
        List<Map.Entry<AttributeSet, String>> entries;
        lock.readLock().lock();
        try {
            entries = new ArrayList<>(store.entrySet());
        } finally {
            lock.readLock().unlock();
        }
        Map<AttributeSet, Stored> now = new HashMap<>();
        Map<String, Stored> byUid = new HashMap<>();
        for (Map.Entry<AttributeSet, String> e : entries) {
            Stored known = parsed.get(e.getKey());
            Stored object = known != null && known.json() == e.getValue() ? known : parse(e.getValue());
            if (object != null) {
                now.put(e.getKey(), object);
                if (object.uid() != null) {
                    byUid.put(object.uid(), object);
                }
            }
        }
        parsed.clear();
        parsed.putAll(now);
        List<Map.Entry<AttributeSet, Stored>> garbage = new ArrayList<>();
        for (Map.Entry<AttributeSet, Stored> entry : now.entrySet()) {
            Stored object = entry.getValue();
            if (!object.owners().isEmpty()
                    && object.owners().stream().noneMatch(owner -> present(owner, object, byUid))) {
                garbage.add(entry);
            }
        }
        return garbage;
    }

    private boolean present(OwnerRef ref, Stored dependent, Map<String, Stored> byUid) {
        if (orphaning.contains(ref.uid())) {
            return true;
        }
        Stored owner = byUid.get(ref.uid());
        return owner != null
                && owner.kind().equals(ref.kind())
                && owner.group().equals(ref.group())
                && owner.name().equals(ref.name())
                && (owner.namespace() == null || owner.namespace().equals(dependent.namespace()));
    }

    private static String pathOf(Stored object, List<Discovery.Resource> served) {
        for (Discovery.Resource r : served) {
            if (r.group().equals(object.group()) && r.kind().equals(object.kind())) {
                String base = object.group().isEmpty()
                        ? "/api/" + object.version()
                        : "/apis/" + object.group() + "/" + object.version();
                String namespace = object.namespace() == null ? "" : "/namespaces/" + object.namespace();
                return base + namespace + "/" + r.plural() + "/" + object.name();
            }
        }
        return null;
    }

    private static Stored parse(String json) {
        try {
            JsonNode object = JSON.readTree(json);
            JsonNode meta = object.path("metadata");
            String[] apiVersion = split(object.path("apiVersion").asText(""));
            List<OwnerRef> owners = new ArrayList<>();
            for (JsonNode ref : meta.path("ownerReferences")) {
                owners.add(new OwnerRef(
                        split(ref.path("apiVersion").asText(""))[0],
                        ref.path("kind").asText(""),
                        ref.path("name").asText(""),
                        ref.path("uid").asText("")));
            }
            return new Stored(
                    json,
                    meta.path("uid").asText(null),
                    apiVersion[0],
                    apiVersion[1],
                    object.path("kind").asText(""),
                    meta.path("namespace").asText(null),
                    meta.path("name").asText(""),
                    owners);
        } catch (JsonProcessingException e) {
            return null; // not an object this collector can judge
        }
    }

    /** {@code group/version}, or {@code version} for the core group, as {group, version}. */
    private static String[] split(String apiVersion) {
        int slash = apiVersion.indexOf('/');
        return slash < 0
                ? new String[] {"", apiVersion}
                : new String[] {apiVersion.substring(0, slash), apiVersion.substring(slash + 1)};
    }

    @Override
    public void close() {
        thread.shutdownNow();
    }
}
