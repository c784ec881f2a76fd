package dev.roundhouse.e2e.local;

import dev.roundhouse.operator.model.Labels;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.EnvVarSource;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServicePort;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.DeploymentStatus;
import io.fabric8.kubernetes.api.model.apps.DeploymentStatusBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Plays the kubelet's, the Deployment controller's, the EndpointSlice controller's and kube-proxy's parts for the
 * proxy Deployments the operator creates: runs one proxy process per Deployment with the environment of its pod
 * template, restarts it when it exits (with back-off, as {@code restartPolicy: Always}), rolls it when the pod
 * template changes (the new proxy starts beside the old one, takes the traffic once ready, and only then is the old
 * one stopped: a rolling update with surge), stops it when the Deployment goes or scales to zero, reports replicas
 * and readiness in the Deployment's status, and publishes the pods in EndpointSlices of the Services that select
 * them ({@link LocalEndpointSlices}).
 *
 * <p>Every proxy binds ports of its own, chosen free, so that each one's readiness probe reaches that proxy and
 * no other. With {@link PortPolicy#DECLARED} the ports its pod template declares are {@link LocalService}s in
 * front of it, as a Service is in front of its pods.
 *
 * <p>It runs one replica whatever {@code spec.replicas} asks (more would need more ports), and reports that one
 * honestly. All its work happens on one thread, in {@link #sync()}: informer events only ask for a sync.
 */
public final class LocalKubelet implements AutoCloseable {

    /** Where clients reach a proxy. */
    public enum PortPolicy {
        /**
         * On the PORT and METRICS_PORT of the pod template (the demo: 8080 and 9090), forwarded to the proxy's own
         * ports as a Service forwards to its pods. A declared port another Deployment (or program) holds already
         * is left out, with a log line naming the proxy's own port.
         */
        DECLARED,
        /** On the proxy's own free ports only, so that many proxies (and test runs) fit on one machine. */
        EPHEMERAL
    }

    /**
     * A proxy this kubelet runs, as tests and the demo see it: its own ports, and the declared ones that lead to it
     * (0 when none does).
     */
    public record RunningProxy(
            String namespace,
            String deployment,
            long pid,
            int port,
            int metricsPort,
            boolean ready,
            int restarts,
            Path log,
            int servicePort,
            int serviceMetricsPort,
            int tlsPort,
            int serviceTlsPort) {}

    private record Key(String namespace, String name) {
        @Override
        public String toString() {
            return namespace + "/" + name;
        }
    }

    private record Lagging(int port, Instant until) {}

    /** A pod: the process of one template, or the time its next start is due after a crash. */
    private static final class Pod {
        final String templateHash;
        /** As a ReplicaSet names its pods: {@code <deployment>-<template hash>-<suffix>}. */
        final String name;

        final String suffix;
        final Map<String, String> labels;
        final Container container;
        /** The template's terminationGracePeriodSeconds: how long SIGTERM waits before the kill. */
        final Duration grace;

        final SecretVolumes volumes;

        ProxyProcess process;
        boolean ready;
        int restarts;
        Instant nextStart = Instant.EPOCH;
        Instant nextVolumeSync = Instant.EPOCH;
        /** Why it cannot start (a Secret volume's Secret missing), logged when it changes. */
        String waiting;

        Pod(Key key, String templateHash, Deployment deployment, Duration grace, SecretVolumes volumes) {
            this.templateHash = templateHash;
            this.suffix = randomSuffix();
            this.name = key.name + "-" + templateHash + "-" + suffix;
            var metadata = deployment.getSpec().getTemplate().getMetadata();
            this.labels =
                    metadata == null || metadata.getLabels() == null ? Map.of() : Map.copyOf(metadata.getLabels());
            this.container =
                    deployment.getSpec().getTemplate().getSpec().getContainers().get(0);
            this.grace = grace;
            this.volumes = volumes;
        }
    }

    /** A stopped pod's process while it drains: its endpoint stays, terminating, until it exits. */
    private record Draining(Key key, Pod pod, ProxyProcess process) {}

    /** What runs for one Deployment: the pod of its template, older ones until that is ready, its Services. */
    private static final class Workload {
        Pod current;
        final List<Pod> retiring = new ArrayList<>();
        LocalService service;
        LocalService metrics;
        LocalService https;
        /** Old proxies sent SIGTERM that new connections still reach until the endpoint lag has passed. */
        final List<Lagging> lagging = new ArrayList<>();

        final Set<Integer> refusedPorts = new HashSet<>(); // declared ports found taken, logged once

        List<Pod> pods() {
            List<Pod> all = new ArrayList<>(retiring);
            if (current != null) {
                all.add(current);
            }
            return all;
        }
    }

    private static final Logger log = LoggerFactory.getLogger(LocalKubelet.class);
    private static final Duration SYNC_PERIOD = Duration.ofMillis(250);
    private static final Duration MAX_BACKOFF = Duration.ofSeconds(30);
    /** How often a running pod's Secret volumes are brought up to date (kubelet: about a minute). */
    private static final Duration VOLUME_SYNC_PERIOD = Duration.ofSeconds(1);

    private static final java.util.concurrent.atomic.AtomicLong PODS = new java.util.concurrent.atomic.AtomicLong();

    /** About what it takes an endpoint to leave kube-proxy's rules on a small cluster. */
    public static final Duration DEFAULT_ENDPOINT_LAG = Duration.ofSeconds(1);

    private final KubernetesClient client;
    private final Duration endpointLag;
    private final PortPolicy portPolicy;
    private final Path kubeconfig;
    private final Path logDir;
    private volatile Map<String, String> environmentOverrides = Map.of();
    private final Map<Key, Workload> workloads = new LinkedHashMap<>();
    private final List<Draining> terminating = new CopyOnWriteArrayList<>();
    private final Map<Key, RunningProxy> published = new ConcurrentHashMap<>();
    private final Map<Key, DeploymentStatus> reported = new LinkedHashMap<>();
    private final ScheduledExecutorService loop = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread thread = new Thread(r, "local-kubelet");
        thread.setDaemon(true);
        return thread;
    });
    private final ExecutorService stopper = Executors.newCachedThreadPool(r -> {
        Thread thread = new Thread(r, "local-kubelet-stop");
        thread.setDaemon(true);
        return thread;
    });
    private SharedIndexInformer<Deployment> deployments;
    private SharedIndexInformer<Service> services;
    private final LocalEndpointSlices endpointSlices;

    /**
     * @param kubeconfig the kubeconfig the proxies reach the API server with (they watch their ConfigMap)
     * @param logDir     where each proxy's output goes, one file per Deployment
     */
    public LocalKubelet(KubernetesClient client, PortPolicy portPolicy, Path kubeconfig, Path logDir) {
        this(client, portPolicy, kubeconfig, logDir, DEFAULT_ENDPOINT_LAG);
    }

    /**
     * @param endpointLag how long after an old proxy's SIGTERM new connections still reach it, as kube-proxy and
     *                    cloud load balancers keep sending them until they hear the endpoint is terminating
     */
    public LocalKubelet(
            KubernetesClient client, PortPolicy portPolicy, Path kubeconfig, Path logDir, Duration endpointLag) {
        this.endpointLag = endpointLag;
        this.client = client;
        this.portPolicy = portPolicy;
        this.kubeconfig = kubeconfig.toAbsolutePath();
        this.logDir = logDir.toAbsolutePath();
        this.endpointSlices = new LocalEndpointSlices(client);
    }

    /**
     * Variables every proxy gets whatever its pod template says: for benchmarks that run an older behaviour beside
     * the current one ({@code SHUTDOWN_DELAY=0s}). Set before {@link #start()}.
     */
    public LocalKubelet overridingEnvironment(Map<String, String> overrides) {
        this.environmentOverrides = Map.copyOf(overrides);
        return this;
    }

    /**
     * Connections to a Deployment's traffic Service port that could not reach a proxy (the endpoint refused them):
     * as many as a client of a real Service would have seen refused.
     */
    public long refusedConnections(String namespace, String deployment) {
        CompletableFuture<Long> answer = new CompletableFuture<>();
        loop.execute(() -> {
            Workload workload = workloads.get(new Key(namespace, deployment));
            answer.complete(workload == null || workload.service == null ? 0L : workload.service.refused());
        });
        return answer.join();
    }

    public LocalKubelet start() {
        deployments = client.apps()
                .deployments()
                .inAnyNamespace()
                .withLabel(Labels.MANAGED_BY, "roundhouse-operator")
                .inform(syncOnEvent());
        // kube-proxy's part: a Service's port leads to the pods its selector picks.
        services = client.services()
                .inAnyNamespace()
                .withLabel(Labels.MANAGED_BY, "roundhouse-operator")
                .inform(syncOnEvent());
        // The EndpointSlice controller's part: the Services' slices of these pods (see LocalEndpointSlices).
        endpointSlices.start(this::requestSync);
        loop.scheduleWithFixedDelay(this::syncSafely, 0, SYNC_PERIOD.toMillis(), TimeUnit.MILLISECONDS);
        return this;
    }

    /** Any change to a watched object asks for a sync, which looks at everything. */
    private <T> ResourceEventHandler<T> syncOnEvent() {
        return new ResourceEventHandler<>() {
            @Override
            public void onAdd(T object) {
                requestSync();
            }

            @Override
            public void onUpdate(T before, T after) {
                requestSync();
            }

            @Override
            public void onDelete(T object, boolean unknownFinalState) {
                requestSync();
            }
        };
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
            Key key = new Key(
                    deployment.getMetadata().getNamespace(),
                    deployment.getMetadata().getName());
            seen.add(key);
            syncOne(key, deployment);
        }
        for (Key gone : Set.copyOf(workloads.keySet())) {
            if (!seen.contains(gone)) {
                log.info("Deployment {} is gone: stopping its proxy", gone);
                stop(gone);
            }
        }
        reported.keySet().retainAll(seen);
        endpointSlices.publish(services.getStore().list(), localPods());
    }

    /** The pods that have a process, as the EndpointSlice controller sees them: running, or draining. */
    private List<LocalEndpointSlices.LocalPod> localPods() {
        List<LocalEndpointSlices.LocalPod> pods = new ArrayList<>();
        workloads.forEach((key, workload) -> {
            for (Pod pod : workload.pods()) {
                if (pod.process != null) {
                    pods.add(localPod(key, pod, pod.process, pod.ready, false));
                }
            }
        });
        for (Draining draining : terminating) {
            // The kubelet goes on probing a terminating pod: serving is what the probe says.
            pods.add(localPod(
                    draining.key(),
                    draining.pod(),
                    draining.process(),
                    draining.process().ready(),
                    true));
        }
        return pods;
    }

    private static LocalEndpointSlices.LocalPod localPod(
            Key key, Pod pod, ProxyProcess process, boolean ready, boolean terminating) {
        return new LocalEndpointSlices.LocalPod(
                key.namespace,
                pod.name,
                pod.suffix,
                pod.labels,
                pod.container,
                process.port(),
                process.metricsPort(),
                process.tlsPort(),
                ready,
                terminating);
    }

    /** Five characters of the alphabet Kubernetes makes generated names from. */
    private static String randomSuffix() {
        String alphabet = "bcdfghjklmnpqrstvwxz2456789";
        StringBuilder suffix = new StringBuilder();
        for (int i = 0; i < 5; i++) {
            suffix.append(alphabet.charAt(ThreadLocalRandom.current().nextInt(alphabet.length())));
        }
        return suffix.toString();
    }

    private void syncOne(Key key, Deployment deployment) {
        int wanted = Objects.requireNonNullElse(deployment.getSpec().getReplicas(), 1);
        Container container =
                deployment.getSpec().getTemplate().getSpec().getContainers().get(0);
        String templateHash = Integer.toHexString(
                Serialization.asJson(deployment.getSpec().getTemplate()).hashCode());
        Workload workload = workloads.computeIfAbsent(key, k -> new Workload());
        if (wanted == 0) {
            if (!workload.pods().isEmpty()) {
                log.info("Deployment {} scaled to zero: stopping its proxy", key);
                workload.pods().forEach(p -> terminate(key, p));
                workload.current = null;
                workload.retiring.clear();
            }
            route(workload, null);
            published.remove(key);
            report(key, deployment, workload);
            return;
        }
        if (workload.current != null && !workload.current.templateHash.equals(templateHash)) {
            if (workload.current.ready) {
                log.info("Pod template of {} changed: starting a new proxy beside the old one", key);
                workload.retiring.add(workload.current);
            } else {
                log.info("Pod template of {} changed: replacing its proxy, which was not ready", key);
                terminate(key, workload.current);
            }
            workload.current = null;
        }
        if (workload.current == null) {
            workload.current = new Pod(
                    key,
                    templateHash,
                    deployment,
                    Duration.ofSeconds(Objects.requireNonNullElse(
                            deployment.getSpec().getTemplate().getSpec().getTerminationGracePeriodSeconds(), 30L)),
                    new SecretVolumes(logDir.resolve(
                            key.namespace + "." + key.name + ".pod-" + PODS.incrementAndGet() + ".volumes")));
        }
        Pod pod = workload.current;
        PodSpec podSpec = deployment.getSpec().getTemplate().getSpec();
        if (pod.process != null && !pod.process.isAlive()) {
            pod.restarts++;
            long backoffSeconds = Math.min(MAX_BACKOFF.toSeconds(), 1L << Math.min(pod.restarts - 1, 5));
            pod.nextStart = Instant.now().plusSeconds(backoffSeconds);
            log.warn(
                    "Proxy of {} exited with code {}; restart {} in {} s. Its last words: {} (log: {})",
                    key,
                    pod.process.exitCode(),
                    pod.restarts,
                    backoffSeconds,
                    pod.process.lastLogLine(),
                    pod.process.log());
            pod.process = null;
            pod.ready = false;
        }
        if (pod.process == null && !Instant.now().isBefore(pod.nextStart)) {
            try {
                refuseWhatAContainerCouldNotDo(
                        deployment.getSpec().getTemplate().getSpec(), container);
                Optional<String> missing = pod.volumes.sync(client, key.namespace, podSpec, container);
                if (missing.isPresent()) {
                    // As kubelet: the container is not created until its volumes can be; no restart counted.
                    if (!missing.get().equals(pod.waiting)) {
                        log.warn("Proxy of {} waits: {}", key, missing.get());
                    }
                    pod.waiting = missing.get();
                    throw new WaitingForVolume();
                }
                pod.waiting = null;
                pod.process = ProxyProcess.start(
                        environment(key, pod, podSpec, container),
                        logDir.resolve(key.namespace + "." + key.name + ".log"));
                log.info(
                        "Started the proxy of {} (pid {}) on :{}, metrics :{}",
                        key,
                        pod.process.pid(),
                        pod.process.port(),
                        pod.process.metricsPort());
            } catch (WaitingForVolume e) {
                // looked at again at the next sync
            } catch (RuntimeException e) {
                pod.restarts++;
                pod.nextStart = Instant.now().plus(MAX_BACKOFF);
                log.warn("Cannot start the proxy of {}: {}", key, e.getMessage());
            }
        }
        if (pod.process != null && !Instant.now().isBefore(pod.nextVolumeSync)) {
            // kubelet brings a changed Secret into the running pod's files: how a renewed certificate arrives.
            pod.nextVolumeSync = Instant.now().plus(VOLUME_SYNC_PERIOD);
            pod.volumes.sync(client, key.namespace, podSpec, container);
        }
        boolean ready = pod.process != null && pod.process.ready();
        if (ready != pod.ready && pod.process != null) {
            log.info("Proxy of {} (pid {}) is {}", key, pod.process.pid(), ready ? "ready" : "not ready");
        }
        pod.ready = ready;
        workload.retiring.removeIf(old -> {
            old.ready = old.process != null && old.process.ready();
            return old.process == null || !old.process.isAlive();
        });
        Pod endpoint = pod.ready
                ? pod
                : workload.retiring.stream()
                        .filter(old -> old.ready)
                        .reduce((first, second) -> second)
                        .orElse(null);
        if (portPolicy == PortPolicy.DECLARED) {
            openServices(key, workload, deployment, container);
        }
        if (pod.ready && !workload.retiring.isEmpty()) {
            // New connections go to the new proxy once the endpoint lag has passed; the old one drains what it has.
            for (Pod old : workload.retiring) {
                log.info(
                        "New proxy of {} is ready: stopping the old one (pid {}); new connections reach it for {} "
                                + "more ms, as they would until kube-proxy hears",
                        key,
                        old.process.pid(),
                        endpointLag.toMillis());
                workload.lagging.add(
                        new Lagging(old.process.port(), Instant.now().plus(endpointLag)));
                terminate(key, old);
            }
            workload.retiring.clear();
        }
        route(workload, endpoint);
        if (pod.process != null) {
            published.put(
                    key,
                    new RunningProxy(
                            key.namespace,
                            key.name,
                            pod.process.pid(),
                            pod.process.port(),
                            pod.process.metricsPort(),
                            pod.ready,
                            pod.restarts,
                            pod.process.log(),
                            servicePort(workload.service, pod),
                            servicePort(workload.metrics, pod),
                            pod.process.tlsPort(),
                            servicePort(workload.https, pod)));
        } else {
            published.remove(key);
        }
        report(key, deployment, workload);
    }

    /** The declared port that leads to {@code pod} now, or 0. */
    private static int servicePort(LocalService service, Pod pod) {
        return service != null
                        && pod.process != null
                        && service.endpoint() != 0
                        && (service.endpoint() == pod.process.port()
                                || service.endpoint() == pod.process.metricsPort()
                                || service.endpoint() == pod.process.tlsPort())
                ? service.port()
                : 0;
    }

    /**
     * Listens where the Services that pick these pods listen (the traffic port on its Service's port, metrics on the
     * metrics Service's), as kube-proxy would, where free; before a Service exists, on the template's PORT and
     * METRICS_PORT. Moves when they change.
     */
    private void openServices(Key key, Workload workload, Deployment deployment, Container container) {
        Map<String, String> podLabels = Objects.requireNonNullElse(
                deployment.getSpec().getTemplate().getMetadata().getLabels(), Map.of());
        int traffic = selectingServicePort(key.namespace, podLabels, "http").orElse(declared(container, "PORT", 8080));
        int metrics = selectingServicePort(key.namespace, podLabels, "metrics")
                .orElse(declared(container, "METRICS_PORT", 9090));
        workload.service = openService(key, workload, workload.service, "PORT", traffic);
        workload.metrics = openService(key, workload, workload.metrics, "METRICS_PORT", metrics);
        if (hasVariable(container, "TLS_CERT_FILE")) {
            int https = selectingServicePort(key.namespace, podLabels, "https")
                    .orElse(declared(container, "TLS_PORT", 8443));
            workload.https = openService(key, workload, workload.https, "TLS_PORT", https);
        } else if (workload.https != null) {
            workload.https.close();
            workload.https = null;
        }
    }

    /** The port of a Service in {@code namespace} whose selector picks these pods and that targets the named port. */
    private Optional<Integer> selectingServicePort(
            String namespace, Map<String, String> podLabels, String targetPortName) {
        for (Service service : services.getStore().list()) {
            Map<String, String> selector = service.getSpec().getSelector();
            if (!namespace.equals(service.getMetadata().getNamespace())
                    || selector == null
                    || selector.isEmpty()
                    || !podLabels.entrySet().containsAll(selector.entrySet())) {
                continue;
            }
            for (ServicePort port : Objects.requireNonNullElse(service.getSpec().getPorts(), List.<ServicePort>of())) {
                if (port.getTargetPort() != null
                        && targetPortName.equals(port.getTargetPort().getStrVal())) {
                    return Optional.of(port.getPort());
                }
            }
        }
        return Optional.empty();
    }

    /**
     * What the container runtime would refuse, refused here too, although this process runs as whoever started
     * it: a container that runs as a non-root user without NET_BIND_SERVICE cannot listen below 1024.
     */
    static void refuseWhatAContainerCouldNotDo(PodSpec pod, Container container) {
        boolean nonRoot = container.getSecurityContext() != null
                        && Boolean.TRUE.equals(container.getSecurityContext().getRunAsNonRoot())
                || pod.getSecurityContext() != null
                        && Boolean.TRUE.equals(pod.getSecurityContext().getRunAsNonRoot());
        List<String> added = container.getSecurityContext() == null
                        || container.getSecurityContext().getCapabilities() == null
                ? List.of()
                : Objects.requireNonNullElse(
                        container.getSecurityContext().getCapabilities().getAdd(), List.of());
        if (!nonRoot || added.contains("NET_BIND_SERVICE")) {
            return;
        }
        List<Integer> ports = new ArrayList<>();
        for (ContainerPort port : Objects.requireNonNullElse(container.getPorts(), List.<ContainerPort>of())) {
            ports.add(port.getContainerPort());
        }
        ports.add(declared(container, "PORT", 8080));
        ports.add(declared(container, "METRICS_PORT", 9090));
        for (int port : ports) {
            if (port > 0 && port < 1024) {
                throw new IllegalStateException("cannot listen on port " + port + ": a non-root container without "
                        + "NET_BIND_SERVICE may not bind a port below 1024 (Permission denied)");
            }
        }
    }

    private LocalService openService(Key key, Workload workload, LocalService service, String variable, int port) {
        if (service != null && service.port() == port) {
            return service;
        }
        if (service != null) {
            service.close();
        }
        try {
            LocalService opened = LocalService.open(key + " " + variable, port);
            if (workload.refusedPorts.remove(port)) {
                log.info("{} {} of {} is free now: it leads to the proxy", variable, port, key);
            }
            return opened;
        } catch (IOException e) {
            if (workload.refusedPorts.add(port)) {
                if (heldByAnotherWorkload(workload, port)) {
                    // Two LoadBalancers' Services on one port, which their own addresses keep apart on a cluster
                    // (each Service has its ClusterIP): here they share 127.0.0.1, so the later one is reached
                    // on its proxy's own port, as the RunningProxy it is listed under says.
                    log.info(
                            "{} {} of {} is another LoadBalancer's here: reach this proxy on its own port",
                            variable,
                            port,
                            key);
                    return null;
                }
                Pod pod = workload.current;
                String own = pod == null || pod.process == null
                        ? "its own port"
                        : "127.0.0.1:"
                                + switch (variable) {
                                    case "PORT" -> pod.process.port();
                                    case "TLS_PORT" -> pod.process.tlsPort();
                                    default -> pod.process.metricsPort();
                                };
                log.warn(
                        "{} {} of {} is in use (another LoadBalancer's proxy, or another program): reach this "
                                + "proxy on {} instead",
                        variable,
                        port,
                        key,
                        own);
            }
            return null;
        }
    }

    /** Whether {@code port} is a port this kubelet already listens on for another workload. */
    private boolean heldByAnotherWorkload(Workload workload, int port) {
        for (Workload other : workloads.values()) {
            if (other != workload) {
                for (LocalService service : new LocalService[] {other.service, other.metrics, other.https}) {
                    if (service != null && service.port() == port) {
                        return true;
                    }
                }
            }
        }
        return false;
    }

    private static boolean hasVariable(Container container, String variable) {
        return Objects.requireNonNullElse(container.getEnv(), List.<EnvVar>of()).stream()
                .anyMatch(var -> var.getName().equals(variable));
    }

    /** The value of a port variable in the pod template, or its default. */
    static int declared(Container container, String variable, int fallback) {
        for (EnvVar var : Objects.requireNonNullElse(container.getEnv(), List.<EnvVar>of())) {
            if (var.getName().equals(variable) && var.getValue() != null) {
                try {
                    return Integer.parseInt(var.getValue().trim());
                } catch (NumberFormatException e) {
                    return fallback; // the proxy refuses to start and says why
                }
            }
        }
        return fallback;
    }

    private static void route(Workload workload, Pod endpoint) {
        Instant now = Instant.now();
        workload.lagging.removeIf(l -> !now.isBefore(l.until()));
        if (workload.service != null) {
            int port = !workload.lagging.isEmpty()
                    ? workload.lagging.get(0).port()
                    : endpoint == null ? 0 : endpoint.process.port();
            workload.service.route(port);
        }
        if (workload.metrics != null) {
            workload.metrics.route(endpoint == null ? 0 : endpoint.process.metricsPort());
        }
        if (workload.https != null) {
            workload.https.route(endpoint == null ? 0 : endpoint.process.tlsPort());
        }
    }

    /** SIGTERM now; the wait for the drain (and the kill after the grace period) happens off the sync thread. */
    private void terminate(Key key, Pod pod) {
        ProxyProcess process = pod.process;
        pod.process = null;
        pod.ready = false;
        if (process == null) {
            return;
        }
        Draining draining = new Draining(key, pod, process);
        terminating.add(draining);
        stopper.execute(() -> {
            process.stop(pod.grace);
            pod.volumes.remove();
            terminating.remove(draining);
            log.info("Stopped the proxy pid {}", process.pid());
            requestSync(); // its endpoint goes
        });
    }

    /** The container's environment as the kubelet resolves it, plus what a local process needs instead of a pod. */
    private Map<String, String> environment(Key key, Pod pod, PodSpec podSpec, Container container) {
        Map<String, String> env = new LinkedHashMap<>();
        for (EnvVar var : Objects.requireNonNullElse(container.getEnv(), List.<EnvVar>of())) {
            String value = var.getValueFrom() == null ? var.getValue() : resolve(key, pod, var.getValueFrom());
            if (value != null) {
                // A path in a Secret volume is where this pod's volume is on this machine.
                env.put(var.getName(), pod.volumes.localPath(podSpec, container, value));
            }
        }
        env.putAll(environmentOverrides);
        // A container reaches the API server with its service account; this process with the local kubeconfig.
        env.put("KUBECONFIG", kubeconfig.toString());
        env.put("BIND_ADDRESS", "127.0.0.1");
        // Its own ports, as a pod has its own IP: two proxies (two LoadBalancers, or the old and the new of one
        // during a rollout) never share one, and each readiness probe reaches its own proxy.
        int port = freePort();
        int metricsPort = freePort();
        while (metricsPort == port) {
            metricsPort = freePort();
        }
        env.put("PORT", String.valueOf(port));
        env.put("METRICS_PORT", String.valueOf(metricsPort));
        if (env.containsKey("TLS_CERT_FILE")) {
            int tlsPort = freePort();
            while (tlsPort == port || tlsPort == metricsPort) {
                tlsPort = freePort();
            }
            env.put("TLS_PORT", String.valueOf(tlsPort));
        }
        return env;
    }

    private String resolve(Key key, Pod pod, EnvVarSource source) {
        if (source.getFieldRef() != null) {
            return switch (source.getFieldRef().getFieldPath()) {
                case "metadata.namespace" -> key.namespace;
                case "metadata.name" -> pod.name;
                case "spec.nodeName" -> "local";
                case "status.podIP", "status.hostIP" -> "127.0.0.1";
                default -> null;
            };
        }
        if (source.getConfigMapKeyRef() != null) {
            ConfigMap map = client.configMaps()
                    .inNamespace(key.namespace)
                    .withName(source.getConfigMapKeyRef().getName())
                    .get();
            return map == null || map.getData() == null
                    ? null
                    : map.getData().get(source.getConfigMapKeyRef().getKey());
        }
        if (source.getSecretKeyRef() != null) {
            Secret secret = client.secrets()
                    .inNamespace(key.namespace)
                    .withName(source.getSecretKeyRef().getName())
                    .get();
            String encoded = secret == null || secret.getData() == null
                    ? null
                    : secret.getData().get(source.getSecretKeyRef().getKey());
            return encoded == null ? null : new String(Base64.getDecoder().decode(encoded), StandardCharsets.UTF_8);
        }
        return null;
    }

    /** Writes the Deployment's status when what this kubelet runs for it changed. */
    private void report(Key key, Deployment deployment, Workload workload) {
        List<Pod> pods = workload.pods();
        int running = (int) pods.stream().filter(p -> p.process != null).count();
        int updated = workload.current != null && workload.current.process != null ? 1 : 0;
        int ready = (int) pods.stream().filter(p -> p.ready).count();
        DeploymentStatus status = new DeploymentStatusBuilder()
                .withObservedGeneration(deployment.getMetadata().getGeneration())
                .withReplicas(running)
                .withUpdatedReplicas(updated)
                .withReadyReplicas(ready)
                .withAvailableReplicas(ready)
                .withUnavailableReplicas(Math.max(
                        0, Objects.requireNonNullElse(deployment.getSpec().getReplicas(), 1) - ready))
                .build();
        // The informer's copy lags behind a write: remember what was written too, to write it once.
        if (status.equals(deployment.getStatus())
                || (deployment.getStatus() != null && status.equals(reported.get(key)))) {
            return;
        }
        try {
            client.apps()
                    .deployments()
                    .inNamespace(key.namespace)
                    .withName(key.name)
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
        Workload workload = workloads.remove(key);
        published.remove(key);
        if (workload != null) {
            closeServices(workload);
            workload.pods().forEach(p -> terminate(key, p));
        }
    }

    /** A container that cannot be created yet, for a reason already logged. */
    private static final class WaitingForVolume extends RuntimeException {
        WaitingForVolume() {
            super(null, null, false, false);
        }
    }

    private static void closeServices(Workload workload) {
        if (workload.service != null) {
            workload.service.close();
        }
        if (workload.metrics != null) {
            workload.metrics.close();
        }
        if (workload.https != null) {
            workload.https.close();
        }
    }

    /** A free port on the loopback interface, for a proxy to bind next. */
    public static int freePort() {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Stops every proxy (in parallel: each drains on its own), the Services and the informer. */
    @Override
    public void close() {
        loop.shutdown();
        try {
            loop.awaitTermination(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        endpointSlices.close();
        if (services != null) {
            services.close();
        }
        if (deployments != null) {
            deployments.close();
        }
        List<ProxyProcess> running = new ArrayList<>();
        terminating.forEach(draining -> running.add(draining.process()));
        for (Workload workload : workloads.values()) {
            closeServices(workload);
            workload.pods().stream()
                    .map(pod -> pod.process)
                    .filter(Objects::nonNull)
                    .forEach(running::add);
        }
        workloads.clear();
        published.clear();
        stopper.shutdown();
        running.parallelStream().forEach(process -> process.stop(Duration.ofSeconds(40)));
    }
}
