package dev.roundhouse.e2e.local;

import dev.roundhouse.operator.model.Labels;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.EnvVarSource;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.DeploymentStatus;
import io.fabric8.kubernetes.api.model.apps.DeploymentStatusBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.fabric8.kubernetes.client.utils.Serialization;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Plays the kubelet's (and the Deployment controller's) part for the proxy Deployments the operator creates: runs
 * one proxy process per Deployment with the environment of its pod template, restarts it when it exits (with
 * back-off, as {@code restartPolicy: Always}), replaces it when the pod template changes, stops it when the
 * Deployment goes or scales to zero, and reports replicas and readiness in the Deployment's status.
 *
 * <p>It runs one replica whatever {@code spec.replicas} asks (more would need more ports), and reports that one
 * honestly. All its work happens on one thread, in {@link #sync()}: informer events only ask for a sync.
 */
public final class LocalKubelet implements AutoCloseable {

    /** Which ports a proxy gets. */
    public enum PortPolicy {
        /** The PORT and METRICS_PORT of the pod template, as in a cluster (the demo: 8080 and 9090). */
        DECLARED,
        /** Free ephemeral ports of 127.0.0.1, so that many proxies (and test runs) fit on one machine. */
        EPHEMERAL
    }

    /** A proxy this kubelet runs, as tests and the demo see it. */
    public record RunningProxy(String namespace, String deployment, long pid, int port, int metricsPort,
                               boolean ready, int restarts, Path log) {
    }

    private record Key(String namespace, String name) {
        @Override
        public String toString() {
            return namespace + "/" + name;
        }
    }

    /** A pod: the process of the current template, or the time its next start is due after a crash. */
    private static final class Pod {
        final String templateHash;
        ProxyProcess process;
        boolean ready;
        int restarts;
        Instant nextStart = Instant.EPOCH;

        Pod(String templateHash) {
            this.templateHash = templateHash;
        }
    }

    private static final Logger log = LoggerFactory.getLogger(LocalKubelet.class);
    private static final Duration SYNC_PERIOD = Duration.ofMillis(250);
    private static final Duration MAX_BACKOFF = Duration.ofSeconds(30);

    private final KubernetesClient client;
    private final PortPolicy portPolicy;
    private final Path kubeconfig;
    private final Path logDir;
    private final Map<Key, Pod> pods = new LinkedHashMap<>();
    private final Map<Key, RunningProxy> published = new ConcurrentHashMap<>();
    private final Map<Key, DeploymentStatus> reported = new LinkedHashMap<>();
    private final ScheduledExecutorService loop = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread thread = new Thread(r, "local-kubelet");
        thread.setDaemon(true);
        return thread;
    });
    private SharedIndexInformer<Deployment> deployments;

    /**
     * @param kubeconfig the kubeconfig the proxies reach the API server with (they watch their ConfigMap)
     * @param logDir     where each proxy's output goes, one file per Deployment
     */
    public LocalKubelet(KubernetesClient client, PortPolicy portPolicy, Path kubeconfig, Path logDir) {
        this.client = client;
        this.portPolicy = portPolicy;
        this.kubeconfig = kubeconfig.toAbsolutePath();
        this.logDir = logDir.toAbsolutePath();
    }

    public LocalKubelet start() {
        deployments = client.apps().deployments().inAnyNamespace()
                .withLabel(Labels.MANAGED_BY, "roundhouse-operator")
                .inform(new ResourceEventHandler<>() {
                    @Override
                    public void onAdd(Deployment d) {
                        requestSync();
                    }

                    @Override
                    public void onUpdate(Deployment before, Deployment after) {
                        requestSync();
                    }

                    @Override
                    public void onDelete(Deployment d, boolean unknownFinalState) {
                        requestSync();
                    }
                });
        loop.scheduleWithFixedDelay(this::syncSafely, 0, SYNC_PERIOD.toMillis(), TimeUnit.MILLISECONDS);
        return this;
    }

    /** The proxy running for a Deployment, if one runs. */
    public Optional<RunningProxy> proxy(String namespace, String deployment) {
        return Optional.ofNullable(published.get(new Key(namespace, deployment)));
    }

    /** Every proxy running now. */
    public List<RunningProxy> proxies() {
        return List.copyOf(published.values());
    }

    private void requestSync() {
        if (!loop.isShutdown()) {
            loop.execute(this::syncSafely);
        }
    }

    private void syncSafely() {
        try {
            sync();
        } catch (RuntimeException e) {
            log.warn("Local kubelet sync failed, retrying: {}", e.toString());
        }
    }

    private void sync() {
        Set<Key> seen = new HashSet<>();
        for (Deployment deployment : deployments.getStore().list()) {
            Key key = new Key(deployment.getMetadata().getNamespace(), deployment.getMetadata().getName());
            seen.add(key);
            syncOne(key, deployment);
        }
        for (Key gone : Set.copyOf(pods.keySet())) {
            if (!seen.contains(gone)) {
                log.info("Deployment {} is gone: stopping its proxy", gone);
                stop(gone);
            }
        }
        reported.keySet().retainAll(seen);
    }

    private void syncOne(Key key, Deployment deployment) {
        int wanted = Objects.requireNonNullElse(deployment.getSpec().getReplicas(), 1);
        Container container = deployment.getSpec().getTemplate().getSpec().getContainers().get(0);
        String templateHash = Integer.toHexString(Serialization.asJson(deployment.getSpec().getTemplate()).hashCode());
        Pod pod = pods.get(key);
        if (wanted == 0) {
            if (pod != null) {
                log.info("Deployment {} scaled to zero: stopping its proxy", key);
                stop(key);
            }
            report(key, deployment, null);
            return;
        }
        if (pod != null && !pod.templateHash.equals(templateHash)) {
            log.info("Pod template of {} changed: replacing its proxy", key);
            stop(key);
            pod = null;
        }
        if (pod == null) {
            pod = new Pod(templateHash);
            pods.put(key, pod);
        }
        if (pod.process != null && !pod.process.isAlive()) {
            pod.restarts++;
            long backoffSeconds = Math.min(MAX_BACKOFF.toSeconds(), 1L << Math.min(pod.restarts - 1, 5));
            pod.nextStart = Instant.now().plusSeconds(backoffSeconds);
            log.warn("Proxy of {} exited with code {}; restart {} in {} s. Its last words: {} (log: {})", key,
                    pod.process.exitCode(), pod.restarts, backoffSeconds, pod.process.lastLogLine(), pod.process.log());
            pod.process = null;
            pod.ready = false;
            published.remove(key);
        }
        if (pod.process == null && !Instant.now().isBefore(pod.nextStart)) {
            try {
                pod.process = ProxyProcess.start(environment(key, container), logDir.resolve(key.namespace + "." + key.name + ".log"));
                log.info("Started the proxy of {} (pid {}) on :{}, metrics :{}", key, pod.process.pid(),
                        pod.process.port(), pod.process.metricsPort());
            } catch (RuntimeException e) {
                pod.restarts++;
                pod.nextStart = Instant.now().plus(MAX_BACKOFF);
                log.warn("Cannot start the proxy of {}: {}", key, e.getMessage());
            }
        }
        if (pod.process != null) {
            boolean ready = pod.process.ready();
            if (ready != pod.ready) {
                log.info("Proxy of {} is {}", key, ready ? "ready" : "not ready");
            }
            pod.ready = ready;
            published.put(key, new RunningProxy(key.namespace, key.name, pod.process.pid(), pod.process.port(),
                    pod.process.metricsPort(), ready, pod.restarts, pod.process.log()));
        }
        report(key, deployment, pod);
    }

    /** The container's environment as the kubelet resolves it, plus what a local process needs instead of a pod. */
    private Map<String, String> environment(Key key, Container container) {
        Map<String, String> env = new LinkedHashMap<>();
        for (EnvVar var : Objects.requireNonNullElse(container.getEnv(), List.<EnvVar>of())) {
            String value = var.getValueFrom() == null ? var.getValue() : resolve(key, var.getValueFrom());
            if (value != null) {
                env.put(var.getName(), value);
            }
        }
        // A container reaches the API server with its service account; this process with the local kubeconfig.
        env.put("KUBECONFIG", kubeconfig.toString());
        env.put("BIND_ADDRESS", "127.0.0.1");
        if (portPolicy == PortPolicy.EPHEMERAL) {
            env.put("PORT", String.valueOf(freePort()));
            env.put("METRICS_PORT", String.valueOf(freePort()));
        }
        env.putIfAbsent("PORT", "8080");
        env.putIfAbsent("METRICS_PORT", "9090");
        return env;
    }

    private String resolve(Key key, EnvVarSource source) {
        if (source.getFieldRef() != null) {
            return switch (source.getFieldRef().getFieldPath()) {
                case "metadata.namespace" -> key.namespace;
                case "metadata.name" -> key.name + "-local";
                case "spec.nodeName" -> "local";
                case "status.podIP", "status.hostIP" -> "127.0.0.1";
                default -> null;
            };
        }
        if (source.getConfigMapKeyRef() != null) {
            ConfigMap map = client.configMaps().inNamespace(key.namespace)
                    .withName(source.getConfigMapKeyRef().getName()).get();
            return map == null || map.getData() == null ? null : map.getData().get(source.getConfigMapKeyRef().getKey());
        }
        if (source.getSecretKeyRef() != null) {
            Secret secret = client.secrets().inNamespace(key.namespace).withName(source.getSecretKeyRef().getName()).get();
            String encoded = secret == null || secret.getData() == null ? null
                    : secret.getData().get(source.getSecretKeyRef().getKey());
            return encoded == null ? null : new String(Base64.getDecoder().decode(encoded), StandardCharsets.UTF_8);
        }
        return null;
    }

    /** Writes the Deployment's status when what this kubelet runs for it changed. */
    private void report(Key key, Deployment deployment, Pod pod) {
        int running = pod != null && pod.process != null ? 1 : 0;
        int ready = pod != null && pod.ready ? 1 : 0;
        DeploymentStatus status = new DeploymentStatusBuilder()
                .withObservedGeneration(deployment.getMetadata().getGeneration())
                .withReplicas(running)
                .withUpdatedReplicas(running)
                .withReadyReplicas(ready)
                .withAvailableReplicas(ready)
                .withUnavailableReplicas(Math.max(0, Objects.requireNonNullElse(deployment.getSpec().getReplicas(), 1)
                        - ready))
                .build();
        // The informer's copy lags behind a write: remember what was written too, to write it once.
        if (status.equals(deployment.getStatus())
                || (deployment.getStatus() != null && status.equals(reported.get(key)))) {
            return;
        }
        try {
            client.apps().deployments().inNamespace(key.namespace).withName(key.name)
                    .editStatus(d -> {
                        d.setStatus(status);
                        return d;
                    });
            reported.put(key, status);
        } catch (KubernetesClientException e) {
            log.debug("Could not report the status of {} yet: {}", key, e.getMessage());
        }
    }

    private void stop(Key key) {
        Pod pod = pods.remove(key);
        published.remove(key);
        if (pod != null && pod.process != null) {
            pod.process.stop(Duration.ofSeconds(40));
            log.info("Stopped the proxy of {} (pid {})", key, pod.process.pid());
        }
    }

    /** A free port on the loopback interface, for a proxy to bind next. */
    static int freePort() {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Stops every proxy (in parallel: each drains on its own) and the informer. */
    @Override
    public void close() {
        loop.shutdown();
        try {
            loop.awaitTermination(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (deployments != null) {
            deployments.close();
        }
        List<ProxyProcess> running = pods.values().stream().map(pod -> pod.process).filter(Objects::nonNull).toList();
        pods.clear();
        published.clear();
        running.parallelStream().forEach(process -> process.stop(Duration.ofSeconds(40)));
    }
}
