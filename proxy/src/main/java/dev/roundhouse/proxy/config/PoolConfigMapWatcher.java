package dev.roundhouse.proxy.config;

import dev.roundhouse.poolformat.InvalidPoolDocumentException;
import dev.roundhouse.poolformat.PoolDocument;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.WatchEvent;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * Follows {@code POOL_CONFIGMAP}: one ConfigMap, watched by name with a Fabric8 informer, whose key
 * {@value #POOL_KEY} goes through the {@link PoolReloader} on every change.
 *
 * <p>Unlike a file, the ConfigMap may be missing at start (the operator creates it a moment later)
 * and the API server may be unreachable: neither stops the proxy, which stays not ready until the
 * first valid document arrives and keeps its last good pool when the ConfigMap is deleted later.
 * The informer retries after every failure, including a failed first list, which Fabric8's default
 * handler would give up on (it retries only once the informer has started).
 *
 * <p>When the watch was lost and comes back, the ConfigMap is listed again by a fresh informer. The
 * informer's own reconnect resumes the watch from the last resourceVersion it saw and keeps its cache;
 * an API server whose storage was replaced meanwhile (restored etcd, a new test server) numbers
 * resourceVersions from the start again, and the informer then drops a changed ConfigMap that carries
 * the resourceVersion it holds for the old one, so the proxy would stay on a stale pool until the next
 * edit. A fresh informer has no cache to compare with; what it hands over is applied only if its text
 * differs from the last one applied.
 */
public final class PoolConfigMapWatcher implements AutoCloseable {

    /** The key the operator writes the pool document under. */
    public static final String POOL_KEY = PoolDocument.CONFIG_MAP_KEY;

    /** How often the watch's state is looked at (a lost watch reconnects after 1 s at the earliest). */
    static final long CHECK_MILLIS = 250;
    /** A watch down this long was lost (an outage), not just renewed (which takes about 1 s): say so. */
    static final long LOST_MILLIS = 2_000;
    /**
     * No answer to the first list this long: say so, naming the API server. Fabric8 retries a failed request for
     * well over a minute before the informer hears of it, and a proxy that only stays not ready says nothing.
     */
    static final long NO_ANSWER_MILLIS = 5_000;
    /**
     * A safety net under the watch: this often the ConfigMap is also read directly, and applied if its document
     * differs from the one in hand. It catches what a watch can miss without noticing (an event dropped during a
     * reconnect too quick to see, an API server whose restored storage reuses resourceVersions): one GET per
     * proxy every 30 s.
     */
    public static final long RESYNC_MILLIS = 30_000;

    private static final Logger log = LogManager.getLogger(PoolConfigMapWatcher.class);
    private static final String FIRST_WATCH_EVENT =
            "{\"type\":\"MODIFIED\",\"object\":{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"data\":{}}}";

    private final KubernetesClient client;
    private final String namespace;
    private final String name;
    private final String source;
    private final PoolReloader reloader;
    private final AtomicBoolean unreachableLogged = new AtomicBoolean();
    private final ScheduledExecutorService guard = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "pool-configmap-watch");
        t.setDaemon(true);
        return t;
    });
    private volatile SharedIndexInformer<ConfigMap> informer;
    /** Completes once {@link #informer} watches for the first time. */
    private volatile CompletableFuture<Void> firstWatch;

    private volatile boolean closed;
    // Touched only by the guard thread.
    private long downSince;
    private final long startedAt = System.nanoTime();
    private boolean noAnswerLogged;
    private long lastResync = System.nanoTime();
    private boolean lostLogged;
    // Guarded by this: events come from one informer's thread at a time, but from two while one replaces another.
    private String lastSeen;
    private volatile boolean applied; // also read by retryAfter, on a Fabric8 thread
    private boolean notFoundLogged;

    /**
     * @param namespace the ConfigMap's namespace; null means the client's own (kubeconfig context or
     *     service account), then {@code default}
     */
    public PoolConfigMapWatcher(KubernetesClient client, String namespace, String name, PoolReloader reloader) {
        this.client = client;
        this.namespace = namespace != null ? namespace : Objects.requireNonNullElse(client.getNamespace(), "default");
        this.name = name;
        this.source = "ConfigMap " + this.namespace + "/" + name;
        this.reloader = reloader;
        this.informer = newInformer();
    }

    private SharedIndexInformer<ConfigMap> newInformer() {
        // No resync: it would only replay the version already handled.
        SharedIndexInformer<ConfigMap> created =
                client.configMaps().inNamespace(namespace).withName(name).runnableInformer(0);
        created.exceptionHandler(this::retryAfter);
        created.addEventHandler(new ResourceEventHandler<>() {
            @Override
            public void onAdd(ConfigMap configMap) {
                if (current(created)) {
                    received(configMap);
                }
            }

            @Override
            public void onUpdate(ConfigMap before, ConfigMap after) {
                if (current(created)) {
                    received(after);
                }
            }

            @Override
            public void onDelete(ConfigMap configMap, boolean finalStateUnknown) {
                if (current(created)) {
                    deleted();
                }
            }

            @Override
            public void onNothing() {
                if (current(created)) {
                    notFound();
                }
            }
        });
        return created;
    }

    private boolean current(SharedIndexInformer<ConfigMap> which) {
        return which == informer && !closed;
    }

    /**
     * Starts watching and returns at once: the first list, and any retries while the API server is
     * unreachable, run in the background.
     */
    public void start() {
        log.info("Watching {} (key {}) for the pool", source, POOL_KEY);
        // Fabric8 builds its table of resource kinds when it decodes its first watch event (class loading and
        // reflection, 50-100 ms here): decode one now, so that the first pool change does not wait for it.
        client.getKubernetesSerialization().unmarshal(FIRST_WATCH_EVENT, WatchEvent.class);
        start(informer);
        guard.scheduleWithFixedDelay(this::checkWatch, CHECK_MILLIS, CHECK_MILLIS, TimeUnit.MILLISECONDS);
    }

    private void start(SharedIndexInformer<ConfigMap> which) {
        firstWatch = which.start().toCompletableFuture();
        which.stopped().whenComplete((ignored, error) -> {
            if (current(which)) {
                log.error("Watch on {} stopped; the pool will not change until the proxy restarts", source, error);
            }
        });
    }

    /** On the guard thread: notices a lost watch, and lists again with a fresh informer once it is back. */
    private void checkWatch() {
        if (closed) {
            return;
        }
        try {
            long now = System.nanoTime();
            if (!firstWatch.isDone()
                    && !applied
                    && !noAnswerLogged
                    && now - startedAt >= TimeUnit.MILLISECONDS.toNanos(NO_ANSWER_MILLIS)) {
                noAnswerLogged = true;
                log.warn(
                        "No answer from the API server {} about {} after {} s; not ready, still trying",
                        client.getMasterUrl(),
                        source,
                        TimeUnit.MILLISECONDS.toSeconds(NO_ANSWER_MILLIS));
            }
            if (!informer.isWatching()) {
                boolean watchedOnce = firstWatch.isDone() && !firstWatch.isCompletedExceptionally();
                if (watchedOnce && downSince == 0) {
                    downSince = now;
                }
                if (downSince != 0 && !lostLogged && now - downSince >= TimeUnit.MILLISECONDS.toNanos(LOST_MILLIS)) {
                    lostLogged = true;
                    log.warn("Watch on {} lost; serving the last good pool while it reconnects", source);
                }
                return;
            }
            if (downSince != 0) {
                if (lostLogged) {
                    log.info(
                            "Watch on {} back after {} ms; listing it again",
                            source,
                            TimeUnit.NANOSECONDS.toMillis(now - downSince));
                }
                replaceInformer();
                lastResync = now;
            } else if (now - lastResync >= TimeUnit.MILLISECONDS.toNanos(RESYNC_MILLIS)) {
                lastResync = now;
                resync();
            }
        } catch (RuntimeException e) {
            log.warn("Checking the watch on {} failed", source, e);
        }
    }

    /** Reads the ConfigMap directly; {@link #received} ignores it when its document is the one in hand. */
    private void resync() {
        ConfigMap current;
        try {
            current = client.configMaps().inNamespace(namespace).withName(name).get();
        } catch (RuntimeException e) {
            log.debug("Resync read of {} failed: {}", source, e.toString());
            return;
        }
        if (current != null) {
            received(current);
        }
    }

    private void replaceInformer() {
        SharedIndexInformer<ConfigMap> old = informer;
        SharedIndexInformer<ConfigMap> fresh = newInformer();
        informer = fresh; // from here on the old one's events are ignored
        downSince = 0;
        lostLogged = false;
        old.close();
        start(fresh);
    }

    /** Keep retrying whatever failed: the pool in hand stays in service meanwhile. */
    private boolean retryAfter(boolean started, Throwable error) {
        if (!started && !closed && !applied && unreachableLogged.compareAndSet(false, true)) {
            log.warn("Cannot read {} yet ({}); not ready, retrying", source, error.toString());
        }
        return true;
    }

    /** A list found no such ConfigMap (at start, or on a relist after the watch was lost). */
    private synchronized void notFound() {
        if (!applied && !notFoundLogged) {
            notFoundLogged = true;
            log.warn("Pool {} not found yet; not ready", source);
        }
    }

    private synchronized void received(ConfigMap configMap) {
        notFoundLogged = false;
        String text = configMap.getData() == null ? null : configMap.getData().get(POOL_KEY);
        if (text == null) {
            if (lastSeen == null || !lastSeen.isEmpty()) {
                log.warn("{} has no key {}", source, POOL_KEY);
            }
            text = ""; // rejected, logged and counted by the reloader as an empty document
        }
        if (text.equals(lastSeen)) {
            return; // a relist after a reconnect hands over the version already handled
        }
        lastSeen = text;
        try {
            reloader.apply(source, text);
            applied = true;
        } catch (InvalidPoolDocumentException e) {
            // already logged and counted by the reloader
        } catch (RuntimeException e) {
            log.error("Applying the pool from {} failed, keeping the last good pool", source, e);
        }
    }

    private synchronized void deleted() {
        lastSeen = null;
        if (applied) {
            log.warn("Pool {} deleted; keeping the last good pool", source);
        } else {
            log.warn("Pool {} deleted; still not ready", source);
        }
    }

    @Override
    public void close() {
        closed = true;
        guard.shutdownNow();
        try {
            guard.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        informer.close();
    }
}
