package dev.roundhouse.proxy.config;

import dev.roundhouse.poolformat.InvalidPoolDocumentException;
import dev.roundhouse.poolformat.PoolDocument;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Follows {@code POOL_CONFIGMAP}: one ConfigMap, watched by name with a Fabric8 informer, whose key
 * {@value #POOL_KEY} goes through the {@link PoolReloader} on every change.
 *
 * <p>Unlike a file, the ConfigMap may be missing at start (the operator creates it a moment later)
 * and the API server may be unreachable: neither stops the proxy, which stays not ready until the
 * first valid document arrives and keeps its last good pool when the ConfigMap is deleted later.
 * The informer retries after every failure, including a failed first list, which Fabric8's default
 * handler would give up on (it retries only once the informer has started).
 */
public final class PoolConfigMapWatcher implements AutoCloseable {

    /** The key the operator writes the pool document under. */
    public static final String POOL_KEY = PoolDocument.CONFIG_MAP_KEY;

    private static final Logger log = LogManager.getLogger(PoolConfigMapWatcher.class);

    private final String source;
    private final PoolReloader reloader;
    private final SharedIndexInformer<ConfigMap> informer;
    private final AtomicBoolean unreachableLogged = new AtomicBoolean();
    private volatile boolean closed;
    // Touched only by the informer's event thread, which delivers one event at a time.
    private String lastSeen;
    private boolean applied;
    private boolean notFoundLogged;

    /**
     * @param namespace the ConfigMap's namespace; null means the client's own (kubeconfig context or
     *     service account), then {@code default}
     */
    public PoolConfigMapWatcher(KubernetesClient client, String namespace, String name, PoolReloader reloader) {
        String ns = namespace != null ? namespace : Objects.requireNonNullElse(client.getNamespace(), "default");
        this.source = "ConfigMap " + ns + "/" + name;
        this.reloader = reloader;
        // No resync: it would only replay the version already handled.
        this.informer = client.configMaps().inNamespace(ns).withName(name).runnableInformer(0);
        informer.exceptionHandler(this::retryAfter);
        informer.addEventHandler(new ResourceEventHandler<>() {
            @Override
            public void onAdd(ConfigMap configMap) {
                received(configMap);
            }

            @Override
            public void onUpdate(ConfigMap before, ConfigMap after) {
                received(after);
            }

            @Override
            public void onDelete(ConfigMap configMap, boolean finalStateUnknown) {
                deleted();
            }

            @Override
            public void onNothing() {
                notFound();
            }
        });
    }

    /**
     * Starts watching and returns at once: the first list, and any retries while the API server is
     * unreachable, run in the background.
     */
    public void start() {
        log.info("Watching {} (key {}) for the pool", source, POOL_KEY);
        informer.start();
        informer.stopped().whenComplete((ignored, error) -> {
            if (!closed) {
                log.error("Watch on {} stopped; the pool will not change until the proxy restarts", source, error);
            }
        });
    }

    /** Keep retrying whatever failed: the pool in hand stays in service meanwhile. */
    private boolean retryAfter(boolean started, Throwable error) {
        if (!started && !closed && unreachableLogged.compareAndSet(false, true)) {
            log.warn("Cannot read {} yet ({}); not ready, retrying", source, error.toString());
        }
        return true;
    }

    /** A list found no such ConfigMap (at start, or on a relist after the watch was lost). */
    private void notFound() {
        if (!applied && !notFoundLogged) {
            notFoundLogged = true;
            log.warn("Pool {} not found yet; not ready", source);
        }
    }

    private void received(ConfigMap configMap) {
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

    private void deleted() {
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
        informer.close();
    }
}
