package dev.roundhouse.bench.scale;

import dev.roundhouse.bench.soak.PrometheusText;
import dev.roundhouse.bench.stats.Percentiles;
import dev.roundhouse.operator.OperatorSettings;
import dev.roundhouse.operator.RoundhouseOperator;
import dev.roundhouse.operator.api.v1alpha1.BackendSpec;
import dev.roundhouse.operator.api.v1alpha1.LoadBalancer;
import dev.roundhouse.operator.api.v1alpha1.LoadBalancerSpec;
import dev.roundhouse.poolformat.Durations;
import dev.roundhouse.testing.apiserver.EmbeddedApiServer;
import dev.roundhouse.testing.apiserver.Write;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointPortBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The operator at scale: the real operator (in this JVM, leader election off) against the embedded API server with
 * the LoadBalancer CRD, and {@code LBS} LoadBalancers of 2 backends each created at once. No proxy runs. This class
 * plays the kubelet and the Deployment controller the cheap way, by writing each proxy Deployment's status (all
 * replicas updated and ready) as soon as the Deployment appears, as {@code LocalKubelet.report} does for the one
 * replica it runs; so every LoadBalancer can reach Ready=True.
 *
 * <p>It measures, per LoadBalancer, from when its create returned:
 * <ul>
 *   <li><b>converged</b>: its six dependents (pool ConfigMap, ServiceAccount, Role, RoleBinding, Deployment,
 *       Service) exist and its status has {@code observedGeneration == generation};</li>
 *   <li><b>ready</b>: in addition, its Ready condition is True (the operator has seen the Deployment's status).</li>
 * </ul>
 * Then the API writes while creating (by writer, resource and verb, until no write for {@code QUIET}), the JVM heap
 * after a full GC with the operator and {@code HEAP_SETTLE} after stopping it, and two no-op resyncs, which should
 * write nothing: the operator restarted in this JVM, then the operator's jar ({@code OPERATOR_JAR}) started as a
 * process of its own with the JVM flags of its pod ({@code OPERATOR_JAVA_OPTS}), whose heap after a full GC and RSS
 * are the operator's alone.
 *
 * <p>With {@code PROXY_STATUS=1} (the default; needs {@code KUBELET=1}) the kubelet also plays the EndpointSlice
 * controller: with each Deployment's status it writes one EndpointSlice of the metrics Service {@code <name>-metrics}
 * whose one ready endpoint is that LoadBalancer's fake proxy ({@link FakeProxies}, in this JVM, a port each), so the
 * operator long-polls 1,000 proxies' {@code /status} as on a cluster. Then it also measures: <b>healthy</b> (status
 * {@code healthy: 2/2}, BackendsHealthy=True) per LoadBalancer; after convergence, {@code IDLE} (60s) with nothing
 * changing: this JVM's CPU (by thread group) and the status requests the proxies get; then one backend of every
 * LoadBalancer taken out of rotation on its proxy at once: how long until all show BackendsHealthy=False, and the
 * writes and CPU that took; and the CPU of the operator process over {@code IDLE} after its resync. {@code
 * PROXY_STATUS=0} runs the same without slices (the operator asks no proxy), for the difference.
 *
 * <p>Settings (environment): {@code LBS} (1000), {@code CREATE_THREADS} (4), {@code KUBELET} (1: write Deployment
 * status; 0: do not, so Ready stays False with ProxiesNotReady and only "converged" is measured), {@code TIMEOUT}
 * (10m), {@code QUIET} (5s), {@code NAMESPACE} (default), {@code HISTOGRAM} (0; n: print the n classes taking the
 * most heap at each in-process heap measurement), {@code HEAP_SETTLE} (15s), {@code OPERATOR_JAR} (none: skip that
 * resync), {@code OPERATOR_JAVA_OPTS} ({@code -XX:MaxRAM=512m -XX:MaxRAMPercentage=50 -XX:+ExitOnOutOfMemoryError}:
 * the image's flags, and the chart's memory limit), {@code PROXY_STATUS} (1), {@code IDLE} (60s; 0s: no idle
 * windows), {@code TRACE} (LoadBalancer indices, e.g. {@code 0,7}: print every version of their status seen). Exit code: 0 every LoadBalancer converged (with PROXY_STATUS, also healthy, then out) and the no-op
 * resyncs wrote nothing; 1 a goal missed; 2 the run failed.
 */
public final class OperatorScale {

    private static final Pattern LB_NAME = Pattern.compile("^lb-(\\d+)(?:-pool|-proxy|-metrics)?$");
    /** What the operator creates for each LoadBalancer (two replicas by default, so a disruption budget too). */
    private static final String[] DEPENDENTS = {
        "configmap",
        "serviceaccount",
        "role",
        "rolebinding",
        "deployment",
        "service",
        "metrics-service",
        "poddisruptionbudget"
    };

    record Settings(
            int lbs,
            int createThreads,
            boolean kubelet,
            Duration timeout,
            Duration quiet,
            String namespace,
            int histogram,
            String operatorJar,
            String operatorJavaOpts,
            Duration heapSettle,
            boolean proxyStatus,
            Duration idle,
            Set<Integer> trace) {
        static Settings fromEnvironment(Map<String, String> env) {
            String jar = env.getOrDefault("OPERATOR_JAR", "").strip();
            boolean kubelet = !"0".equals(env.getOrDefault("KUBELET", "1"));
            return new Settings(
                    Integer.parseInt(env.getOrDefault("LBS", "1000")),
                    Integer.parseInt(env.getOrDefault("CREATE_THREADS", "4")),
                    kubelet,
                    Durations.parse(env.getOrDefault("TIMEOUT", "10m")),
                    Durations.parse(env.getOrDefault("QUIET", "5s")),
                    env.getOrDefault("NAMESPACE", "default"),
                    Integer.parseInt(env.getOrDefault("HISTOGRAM", "0")),
                    jar.isEmpty() ? null : jar,
                    env.getOrDefault(
                            "OPERATOR_JAVA_OPTS",
                            "-XX:MaxRAM=512m -XX:MaxRAMPercentage=50 -XX:+ExitOnOutOfMemoryError"),
                    Durations.parse(env.getOrDefault("HEAP_SETTLE", "15s")),
                    // proxies are ready only where the kubelet says so
                    kubelet && !"0".equals(env.getOrDefault("PROXY_STATUS", "1")),
                    Durations.parse(env.getOrDefault("IDLE", "60s")),
                    java.util.Arrays.stream(env.getOrDefault("TRACE", "").split("[,\\s]+"))
                            .filter(x -> !x.isBlank())
                            .map(Integer::valueOf)
                            .collect(java.util.stream.Collectors.toUnmodifiableSet()));
        }
    }

    /** What one run measured. */
    public record Result(
            int lbs,
            int converged,
            int ready,
            double allConvergedSeconds,
            double allReadySeconds,
            Percentiles convergeSeconds,
            Percentiles readySeconds,
            Percentiles kubeletSeconds,
            Percentiles afterKubeletSeconds,
            Map<String, Long> operatorWrites,
            Map<String, Long> benchWrites,
            double reconciles,
            long heapWithOperator,
            long heapWithoutOperator,
            List<Resync> resyncs,
            boolean proxyStatus,
            int healthy,
            double allHealthySeconds,
            Percentiles healthySeconds,
            Percentiles sliceToHealthySeconds,
            Window creating,
            Window idle,
            Flip flip) {

        public long operatorWriteCount() {
            return operatorWrites.values().stream().mapToLong(Long::longValue).sum();
        }

        public boolean passed(boolean kubelet) {
            return converged == lbs
                    && (!kubelet || ready == lbs)
                    && (!proxyStatus || (healthy == lbs && flip != null && flip.out() == lbs))
                    && resyncs.stream().allMatch(r -> r.writeCount() == 0);
        }
    }

    /**
     * A part of the run: how long it took, this JVM's CPU in it (all of it, and by thread group), the status
     * requests the fake proxies received, and the API writes by writer.
     */
    public record Window(
            double seconds,
            double cpuSeconds,
            Map<String, Long> cpuNanosByGroup,
            long statusRequests,
            Map<String, Long> operatorWrites,
            Map<String, Long> benchWrites,
            long loadBalancerVersions) {

        public long operatorWriteCount() {
            return operatorWrites.values().stream().mapToLong(Long::longValue).sum();
        }
    }

    /**
     * One backend of every LoadBalancer taken out of rotation on its proxy: how many showed BackendsHealthy=False, how
     * long that took for those taken out one at a time, and for the others taken out at once (the last, and each).
     */
    public record Flip(
            int out, Percentiles oneAtATime, int atOnce, double allOutSeconds, Percentiles outSeconds, Window window) {}

    /** Where a window started. */
    private record Mark(
            CpuSample cpu,
            long statusRequests,
            Map<String, Long> operatorWrites,
            Map<String, Long> benchWrites,
            long loadBalancerVersions) {}

    /** Before the operator process's idle window: one wait of the operator's long polls. */
    private static final Duration PROCESS_WARMUP = Duration.ofSeconds(30);

    private final Settings settings;
    private final PrintStream out;
    private final int width;
    private final AtomicLongArray created;
    private final AtomicLongArray statusObserved;
    private final AtomicLongArray readySeen;
    private final AtomicLongArray deploymentReadyWritten;
    private final AtomicLongArray sliceWritten;
    private final AtomicLongArray healthySeen;
    private final AtomicLongArray outSeen;
    private volatile boolean flipped;
    /** LoadBalancer versions the bench's watch saw: a status apply that changes nothing makes none. */
    private final java.util.concurrent.atomic.AtomicLong lbVersions = new java.util.concurrent.atomic.AtomicLong();

    private FakeProxies fake;
    private final Map<String, AtomicLongArray> dependentSeen = new ConcurrentHashMap<>();
    private final Set<String> reported = ConcurrentHashMap.newKeySet();
    private final HttpClient http = HttpClient.newHttpClient();
    private volatile long epoch;

    OperatorScale(Settings settings, PrintStream out) {
        this.settings = settings;
        this.out = out;
        this.width = Math.max(4, Integer.toString(settings.lbs() - 1).length());
        this.created = new AtomicLongArray(settings.lbs());
        this.statusObserved = new AtomicLongArray(settings.lbs());
        this.readySeen = new AtomicLongArray(settings.lbs());
        this.deploymentReadyWritten = new AtomicLongArray(settings.lbs());
        this.sliceWritten = new AtomicLongArray(settings.lbs());
        this.healthySeen = new AtomicLongArray(settings.lbs());
        this.outSeen = new AtomicLongArray(settings.lbs());
        for (String d : DEPENDENTS) {
            dependentSeen.put(d, new AtomicLongArray(settings.lbs()));
        }
    }

    public static void main(String[] args) {
        Settings settings;
        try {
            settings = Settings.fromEnvironment(System.getenv());
        } catch (RuntimeException e) {
            System.err.println("operator-scale: " + e.getMessage());
            System.exit(2);
            return;
        }
        try {
            Result result = new OperatorScale(settings, System.out).run();
            System.exit(result.passed(settings.kubelet()) ? 0 : 1);
        } catch (Exception e) {
            e.printStackTrace();
            System.exit(2);
        }
    }

    /** Runs with settings from {@code env} (the names of the environment variables above), printing to {@code out}. */
    public static Result run(Map<String, String> env, PrintStream out) throws Exception {
        return new OperatorScale(Settings.fromEnvironment(env), out).run();
    }

    String name(int i) {
        return String.format(Locale.ROOT, "lb-%0" + width + "d", i);
    }

    /** The LoadBalancer index an object's name refers to (lb-0042, lb-0042-pool, -proxy, -metrics), or -1. */
    int index(String objectName) {
        Matcher m = LB_NAME.matcher(objectName);
        if (!m.matches()) {
            return -1;
        }
        int i = Integer.parseInt(m.group(1));
        return i < settings.lbs() ? i : -1;
    }

    private LoadBalancer loadBalancer(int i) {
        LoadBalancer lb = new LoadBalancer();
        lb.setMetadata(new ObjectMetaBuilder()
                .withName(name(i))
                .withNamespace(settings.namespace())
                .build());
        LoadBalancerSpec spec = new LoadBalancerSpec();
        List<BackendSpec> backends = new ArrayList<>();
        for (String url : backendUrls(i)) {
            BackendSpec backend = new BackendSpec();
            backend.setUrl(url);
            backends.add(backend);
        }
        spec.setBackends(backends);
        lb.setSpec(spec);
        return lb;
    }

    /** LoadBalancer i's two backends (nothing listens there: no proxy runs). */
    static List<String> backendUrls(int i) {
        return List.of("http://127.0.0.1:" + (20000 + 2 * i), "http://127.0.0.1:" + (20000 + 2 * i + 1));
    }

    private static java.util.concurrent.ThreadFactory named(String prefix) {
        java.util.concurrent.atomic.AtomicInteger n = new java.util.concurrent.atomic.AtomicInteger();
        return r -> {
            Thread t = new Thread(r, prefix + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }

    private static long now() {
        return System.nanoTime();
    }

    private static void firstTime(AtomicLongArray times, int i) {
        times.compareAndSet(i, 0, now());
    }

    private void onLoadBalancer(LoadBalancer lb) {
        lbVersions.incrementAndGet();
        int i = index(lb.getMetadata().getName());
        if (settings.trace().contains(i)) {
            trace(lb);
        }
        if (i < 0 || lb.getStatus() == null || lb.getStatus().getObservedGeneration() == null) {
            return;
        }
        if (lb.getStatus().getObservedGeneration().equals(lb.getMetadata().getGeneration())) {
            firstTime(statusObserved, i);
            List<Condition> conditions = lb.getStatus().getConditions();
            if (conditions != null
                    && conditions.stream().anyMatch(c -> "Ready".equals(c.getType()) && "True".equals(c.getStatus()))) {
                firstTime(readySeen, i);
            }
            if (settings.proxyStatus() && conditions != null) {
                if ("2/2".equals(lb.getStatus().getHealthy()) && condition(conditions, "BackendsHealthy", "True")) {
                    firstTime(healthySeen, i);
                }
                if (flipped && condition(conditions, "BackendsHealthy", "False")) {
                    firstTime(outSeen, i);
                }
            }
        }
    }

    /** TRACE: every version of a LoadBalancer the bench's informer sees, in a line (why a status was written again). */
    private void trace(LoadBalancer lb) {
        var status = lb.getStatus();
        out.printf(
                Locale.ROOT,
                "trace %s +%.3f s rv %s: %s%n",
                lb.getMetadata().getName(),
                seconds(now()),
                lb.getMetadata().getResourceVersion(),
                status == null
                        ? "no status"
                        : "observed " + status.getObservedGeneration() + "/"
                                + lb.getMetadata().getGeneration()
                                + " ready " + status.getReadyReplicas() + "/" + status.getReplicas()
                                + " healthy " + status.getHealthy()
                                + " backendHealth "
                                + (status.getBackendHealth() == null
                                        ? "-"
                                        : status.getBackendHealth().stream()
                                                .map(b -> b.getState() + "(" + b.getInRotation() + "/" + b.getProxies()
                                                        + ")")
                                                .toList())
                                + " conditions "
                                + (status.getConditions() == null
                                        ? "-"
                                        : status.getConditions().stream()
                                                .map(c -> c.getType() + "=" + c.getStatus() + "/" + c.getReason())
                                                .toList()));
    }

    private static boolean condition(List<Condition> conditions, String type, String status) {
        return conditions.stream().anyMatch(c -> type.equals(c.getType()) && status.equals(c.getStatus()));
    }

    private <T extends HasMetadata> ResourceEventHandler<T> handler(Consumer<T> seen) {
        return new ResourceEventHandler<>() {
            @Override
            public void onAdd(T obj) {
                seen.accept(obj);
            }

            @Override
            public void onUpdate(T oldObj, T newObj) {
                seen.accept(newObj);
            }

            @Override
            public void onDelete(T obj, boolean deletedFinalStateUnknown) {}
        };
    }

    private <T extends HasMetadata> Consumer<T> dependent(String kind) {
        AtomicLongArray times = dependentSeen.get(kind);
        return obj -> {
            int i = index(obj.getMetadata().getName());
            if (i >= 0) {
                firstTime(times, i);
            }
        };
    }

    /** Plays the kubelet: every replica of a new or changed Deployment updated and ready, written once. */
    private void markReady(KubernetesClient client, ExecutorService kubelet, Deployment d) {
        if (index(d.getMetadata().getName()) < 0) {
            return;
        }
        long generation =
                d.getMetadata().getGeneration() == null ? 1 : d.getMetadata().getGeneration();
        int replicas = d.getSpec().getReplicas() == null ? 1 : d.getSpec().getReplicas();
        if (d.getStatus() != null
                && d.getStatus().getObservedGeneration() != null
                && d.getStatus().getObservedGeneration() >= generation
                && Integer.valueOf(replicas).equals(d.getStatus().getReadyReplicas())) {
            return;
        }
        if (!reported.add(d.getMetadata().getName() + "@" + generation)) {
            return;
        }
        String patch = String.format(
                Locale.ROOT,
                "{\"status\":{\"observedGeneration\":%d,\"replicas\":%d,"
                        + "\"updatedReplicas\":%d,\"readyReplicas\":%d,\"availableReplicas\":%d}}",
                generation,
                replicas,
                replicas,
                replicas,
                replicas);
        kubelet.execute(() -> {
            try {
                client.apps()
                        .deployments()
                        .inNamespace(d.getMetadata().getNamespace())
                        .withName(d.getMetadata().getName())
                        .subresource("status")
                        .patch(PatchContext.of(PatchType.JSON_MERGE), patch);
                firstTime(deploymentReadyWritten, index(d.getMetadata().getName()));
                if (settings.proxyStatus()) {
                    writeSlice(
                            client,
                            d.getMetadata().getNamespace(),
                            index(d.getMetadata().getName()));
                }
            } catch (RuntimeException e) {
                reported.remove(d.getMetadata().getName() + "@" + generation);
                out.println("kubelet: could not write the status of "
                        + d.getMetadata().getName() + ": " + e);
            }
        });
    }

    /**
     * Plays the EndpointSlice controller for the proxies' metrics Service: one slice, written once, with one ready
     * endpoint at this LoadBalancer's fake proxy, so that the operator long-polls its {@code /status}.
     */
    private void writeSlice(KubernetesClient client, String namespace, int i) {
        if (sliceWritten.get(i) != 0) {
            return;
        }
        String service = name(i) + "-metrics";
        EndpointSlice slice = new EndpointSliceBuilder()
                .withNewMetadata()
                .withName(service + "-fake")
                .withNamespace(namespace)
                .withLabels(Map.of(
                        "kubernetes.io/service-name",
                        service,
                        "endpointslice.kubernetes.io/managed-by",
                        "endpointslice-controller.k8s.io"))
                .endMetadata()
                .withAddressType("IPv4")
                .withEndpoints(new EndpointBuilder()
                        .withAddresses("127.0.0.1")
                        .withNewConditions()
                        .withReady(true)
                        .withServing(true)
                        .withTerminating(false)
                        .endConditions()
                        .build())
                .withPorts(new EndpointPortBuilder()
                        .withName("metrics")
                        .withProtocol("TCP")
                        .withPort(fake.port(i))
                        .build())
                .build();
        try {
            client.discovery()
                    .v1()
                    .endpointSlices()
                    .inNamespace(namespace)
                    .resource(slice)
                    .create();
            firstTime(sliceWritten, i);
        } catch (RuntimeException e) {
            out.println("kubelet: could not write the EndpointSlice "
                    + slice.getMetadata().getName() + ": " + e);
        }
    }

    /** The LoadBalancer CRD as the e2e jar carries it. */
    static String crdYaml() {
        try (InputStream in =
                OperatorScale.class.getClassLoader().getResourceAsStream("crds/loadbalancers.roundhouse.dev-v1.yml")) {
            if (in == null) {
                throw new IllegalStateException("crds/loadbalancers.roundhouse.dev-v1.yml is not on the class path");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static RoundhouseOperator startOperator(EmbeddedApiServer api) throws IOException {
        return RoundhouseOperator.start(
                new OperatorSettings(Set.of(), OperatorSettings.DEFAULT_PROXY_IMAGE, "warn", 0, false, "default"),
                api.newClient());
    }

    /**
     * Heap used after full GCs. With
     * {@code HISTOGRAM=<n>}, also prints the n classes that take the most heap (as {@code jcmd GC.class_histogram}).
     */
    long heapAfterGc(String when, Duration atLeast) throws InterruptedException {
        // A stopped operator's informer caches stay reachable until its HTTP client's selector thread ends, which
        // JDK 17 lets it do only some seconds after the client is collected: keep collecting, once a second, for
        // at least `atLeast` and until three results in a row agree within 1 MiB.
        long start = now();
        long used = Long.MAX_VALUE;
        int agreeing = 0;
        for (int i = 0; i < 60; i++) {
            System.gc();
            Thread.sleep(1000);
            long now = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
            agreeing = Math.abs(now - used) < 1024 * 1024 ? agreeing + 1 : 0;
            used = now;
            if (agreeing >= 2 && now() - start >= atLeast.toNanos()) {
                break;
            }
        }
        if (settings.histogram() > 0) {
            try {
                String histogram = (String) ManagementFactory.getPlatformMBeanServer()
                        .invoke(
                                new javax.management.ObjectName("com.sun.management:type=DiagnosticCommand"),
                                "gcClassHistogram",
                                new Object[] {new String[0]},
                                new String[] {String[].class.getName()});
                out.println("class histogram " + when + " (top " + settings.histogram() + " by bytes):");
                histogram.lines().limit(settings.histogram() + 3L).forEach(l -> out.println("  " + l));
            } catch (javax.management.JMException e) {
                out.println("no class histogram: " + e);
            }
        }
        return used;
    }

    private String scrape(int port) throws IOException, InterruptedException {
        return http.send(
                        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics"))
                                .timeout(Duration.ofSeconds(10))
                                .build(),
                        HttpResponse.BodyHandlers.ofString())
                .body();
    }

    /** The operator's reconciles so far (status "written" or "unchanged"; null: both), from its /metrics; -1 if none. */
    private double reconciles(int port, String status) {
        try {
            return PrometheusText.parse(scrape(port))
                    .sum("roundhouse_operator_reconciles_total", l -> status == null || status.equals(l.get("status")));
        } catch (IOException e) {
            return -1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -1;
        }
    }

    private int count(AtomicLongArray times) {
        int n = 0;
        for (int i = 0; i < times.length(); i++) {
            if (times.get(i) != 0) {
                n++;
            }
        }
        return n;
    }

    /** When LoadBalancer i converged (dependents and observed status), or 0. */
    private long convergedAt(int i) {
        long t = statusObserved.get(i);
        for (String d : DEPENDENTS) {
            long seen = dependentSeen.get(d).get(i);
            if (t == 0 || seen == 0) {
                return 0;
            }
            t = Math.max(t, seen);
        }
        return t;
    }

    private double seconds(long nanos) {
        return (nanos - epoch) / 1e9;
    }

    Result run() throws Exception {
        Settings s = settings;
        out.printf(
                Locale.ROOT,
                "operator-scale: %d LoadBalancers (2 backends each) in namespace %s; embedded API "
                        + "server and the operator in this JVM (leader election off); kubelet played by the bench: %s; "
                        + "proxy /status: %s; started %s%n",
                s.lbs(),
                s.namespace(),
                s.kubelet() ? "yes (Deployment status written)" : "no",
                s.proxyStatus()
                        ? "yes (a metrics EndpointSlice per LoadBalancer, at a fake proxy in this JVM)"
                        : "no (no metrics EndpointSlice: the operator asks no proxy)",
                Instant.now());
        if (s.proxyStatus()) {
            List<List<String>> pools = new ArrayList<>();
            for (int i = 0; i < s.lbs(); i++) {
                pools.add(backendUrls(i).stream()
                        .map(dev.roundhouse.poolformat.BackendUrls::key)
                        .toList());
            }
            fake = new FakeProxies(pools);
            out.printf(
                    Locale.ROOT,
                    "fake proxies: %d, on 127.0.0.1 ports %d..%d (one listener each, 1 I/O thread, 2 workers)%n",
                    s.lbs(),
                    fake.port(0),
                    fake.port(s.lbs() - 1));
        }
        try (EmbeddedApiServer api = new EmbeddedApiServer().start()) {
            api.applyCrdYaml(crdYaml());
            RoundhouseOperator operator = startOperator(api);
            KubernetesClient client = api.client();
            ExecutorService kubelet = Executors.newFixedThreadPool(2, named("bench-kubelet"));
            List<SharedIndexInformer<?>> informers = new ArrayList<>();
            try {
                String ns = s.namespace();
                informers.add(
                        client.resources(LoadBalancer.class).inNamespace(ns).inform(handler(this::onLoadBalancer)));
                informers.add(client.configMaps().inNamespace(ns).inform(handler(dependent("configmap"))));
                informers.add(client.serviceAccounts().inNamespace(ns).inform(handler(dependent("serviceaccount"))));
                informers.add(client.rbac().roles().inNamespace(ns).inform(handler(dependent("role"))));
                informers.add(client.rbac().roleBindings().inNamespace(ns).inform(handler(dependent("rolebinding"))));
                Consumer<Service> trafficService = dependent("service");
                Consumer<Service> metricsService = dependent("metrics-service");
                informers.add(client.services()
                        .inNamespace(ns)
                        .inform(handler(svc -> (svc.getMetadata().getName().endsWith("-metrics")
                                        ? metricsService
                                        : trafficService)
                                .accept(svc))));
                informers.add(client.policy()
                        .v1()
                        .podDisruptionBudget()
                        .inNamespace(ns)
                        .inform(handler(dependent("poddisruptionbudget"))));
                Consumer<Deployment> deploymentSeen = dependent("deployment");
                informers.add(client.apps().deployments().inNamespace(ns).inform(handler(d -> {
                    deploymentSeen.accept(d);
                    if (s.kubelet()) {
                        markReady(client, kubelet, d);
                    }
                })));

                api.resetWriteCount();
                WriteTally tally = new WriteTally(api);
                Mark start = mark(tally);
                ExecutorService creators = Executors.newFixedThreadPool(s.createThreads(), named("bench-create"));
                epoch = now();
                List<Future<?>> creates = new ArrayList<>();
                for (int t = 0; t < s.createThreads(); t++) {
                    int first = t;
                    creates.add(creators.submit(() -> {
                        for (int i = first; i < s.lbs(); i += s.createThreads()) {
                            client.resource(loadBalancer(i)).create();
                            created.set(i, now());
                        }
                        return null;
                    }));
                }
                creators.shutdown();
                long deadline = epoch + s.timeout().toNanos();
                long lastProgress = epoch;
                double createdAll = Double.NaN;
                int converged = 0;
                int ready = 0;
                int healthy = 0;
                while (now() < deadline) {
                    TimeUnit.MILLISECONDS.sleep(100);
                    tally.poll();
                    if (Double.isNaN(createdAll) && creators.isTerminated()) {
                        for (Future<?> f : creates) {
                            f.get(); // a failed create fails the run
                        }
                        createdAll = seconds(now());
                        out.printf(
                                Locale.ROOT,
                                "created %d LoadBalancers in %.1f s (%.0f/s, %d threads)%n",
                                s.lbs(),
                                createdAll,
                                s.lbs() / createdAll,
                                s.createThreads());
                    }
                    converged = 0;
                    for (int i = 0; i < s.lbs(); i++) {
                        if (convergedAt(i) != 0) {
                            converged++;
                        }
                    }
                    ready = count(readySeen);
                    healthy = count(healthySeen);
                    if (now() - lastProgress > TimeUnit.SECONDS.toNanos(5)) {
                        lastProgress = now();
                        out.printf(
                                Locale.ROOT,
                                "  %6.1f s: created %d, converged %d, ready %d%s, writes %d%n",
                                seconds(lastProgress),
                                count(created),
                                converged,
                                ready,
                                s.proxyStatus() ? ", healthy 2/2 " + healthy : "",
                                tally.total());
                    }
                    if (!Double.isNaN(createdAll)
                            && converged == s.lbs()
                            && (!s.kubelet() || ready == s.lbs())
                            && (!s.proxyStatus() || healthy == s.lbs())) {
                        break;
                    }
                }
                double allConverged = Double.NaN;
                double allReady = Double.NaN;
                double[] convergeTimes = new double[converged];
                double[] readyTimes = new double[ready];
                int c = 0;
                int r = 0;
                long lastConverged = 0;
                long lastReady = 0;
                for (int i = 0; i < s.lbs(); i++) {
                    long at = convergedAt(i);
                    if (at != 0 && c < convergeTimes.length) {
                        convergeTimes[c++] = (at - created.get(i)) / 1e9;
                        lastConverged = Math.max(lastConverged, at);
                    }
                    long rd = readySeen.get(i);
                    if (rd != 0 && r < readyTimes.length) {
                        readyTimes[r++] = (Math.max(rd, at) - created.get(i)) / 1e9;
                        lastReady = Math.max(lastReady, rd);
                    }
                }
                List<Double> kubeletTimes = new ArrayList<>();
                List<Double> afterKubeletTimes = new ArrayList<>();
                for (int i = 0; i < s.lbs(); i++) {
                    long written = deploymentReadyWritten.get(i);
                    if (written != 0) {
                        kubeletTimes.add((written - created.get(i)) / 1e9);
                        if (readySeen.get(i) != 0) {
                            afterKubeletTimes.add((readySeen.get(i) - written) / 1e9);
                        }
                    }
                }
                List<Double> healthyTimes = new ArrayList<>();
                List<Double> sliceToHealthyTimes = new ArrayList<>();
                long lastHealthy = 0;
                for (int i = 0; i < s.lbs(); i++) {
                    long h = healthySeen.get(i);
                    if (h != 0) {
                        healthyTimes.add((h - created.get(i)) / 1e9);
                        lastHealthy = Math.max(lastHealthy, h);
                        if (sliceWritten.get(i) != 0) {
                            sliceToHealthyTimes.add((h - sliceWritten.get(i)) / 1e9);
                        }
                    }
                }
                if (converged == s.lbs()) {
                    allConverged = seconds(lastConverged);
                }
                if (ready == s.lbs()) {
                    allReady = seconds(lastReady);
                }
                double allHealthy = healthy == s.lbs() && s.proxyStatus() ? seconds(lastHealthy) : Double.NaN;
                if (s.proxyStatus() && healthy < s.lbs()) {
                    // which, and what they show: a LoadBalancer stuck on its proxies' first answer says why here
                    for (int i = 0, shown = 0; i < s.lbs() && shown < 10; i++) {
                        if (healthySeen.get(i) == 0) {
                            shown++;
                            LoadBalancer lb = client.resources(LoadBalancer.class)
                                    .inNamespace(ns)
                                    .withName(name(i))
                                    .get();
                            trace(lb);
                            out.printf(
                                    Locale.ROOT,
                                    "  not healthy: %s, EndpointSlice written %s, its fake proxy: %s%n",
                                    name(i),
                                    sliceWritten.get(i) == 0
                                            ? "no"
                                            : String.format(Locale.ROOT, "at +%.1f s", seconds(sliceWritten.get(i))),
                                    fake.describe(i));
                        }
                    }
                }
                out.printf(
                        Locale.ROOT,
                        "converged %d/%d, ready %d/%d%s after %.1f s; waiting for %s without writes%n",
                        converged,
                        s.lbs(),
                        ready,
                        s.lbs(),
                        s.proxyStatus() ? ", healthy 2/2 " + healthy + "/" + s.lbs() : "",
                        seconds(now()),
                        Durations.format(s.quiet()));
                awaitQuiet(tally, deadline);
                Window creating = since(start, tally);
                Map<String, Long> operatorWrites = tally.operatorWrites();
                Map<String, Long> benchWrites = tally.benchWrites();

                // Idle: nothing changes. What the operator costs then, with its long polls held by the fake proxies
                // (about one request per proxy per wait of 30 s) or, without proxies, its informers alone.
                out.printf(
                        Locale.ROOT,
                        "idle for %s: measuring CPU, status requests and writes%n",
                        Durations.format(s.idle()));
                Mark idleStart = mark(tally);
                long idleEnd = now() + s.idle().toNanos();
                while (now() < idleEnd) {
                    TimeUnit.MILLISECONDS.sleep(100);
                    tally.poll();
                }
                Window idle = since(idleStart, tally);

                Flip flip = null;
                if (s.proxyStatus() && healthy == s.lbs()) {
                    flip = flip(tally);
                }
                // The bench's own watches are done: stop them, so that heap numbers hold the API server and the
                // operator only (and the resync below sees the operator's writes only).
                informers.forEach(SharedIndexInformer::close);
                informers.clear();
                kubelet.shutdown();
                kubelet.awaitTermination(10, TimeUnit.SECONDS);

                long heapWith = heapAfterGc("with the operator, converged", Duration.ZERO);
                double reconcilesBefore = reconciles(operator.httpPort(), null);
                operator.close();
                operator = null;
                answerHeld();
                long heapWithout = heapAfterGc("after stopping the operator", s.heapSettle());

                // The no-op resyncs: a new operator lists everything and reconciles every LoadBalancer; with
                // nothing to change, it must write nothing. First in this JVM, as the unit test does; then the
                // operator's own jar as a process of its own, as in its pod, where its heap is its alone.
                List<Resync> resyncs = new ArrayList<>();
                api.resetWriteCount();
                long restart = now();
                operator = startOperator(api);
                resyncs.add(awaitResync("restarted in this JVM", restart, operator.httpPort(), api, null));
                operator.close();
                operator = null;
                answerHeld();
                if (s.operatorJar() != null) {
                    resyncs.add(processResync(api));
                } else {
                    out.println("OPERATOR_JAR not set: no resync by the operator as a process of its own");
                }
                Result result = new Result(
                        s.lbs(),
                        converged,
                        ready,
                        allConverged,
                        allReady,
                        new Percentiles(convergeTimes),
                        new Percentiles(readyTimes),
                        percentiles(kubeletTimes),
                        percentiles(afterKubeletTimes),
                        operatorWrites,
                        benchWrites,
                        reconcilesBefore,
                        heapWith,
                        heapWithout,
                        resyncs,
                        s.proxyStatus(),
                        healthy,
                        allHealthy,
                        percentiles(healthyTimes),
                        percentiles(sliceToHealthyTimes),
                        creating,
                        idle,
                        flip);
                report(result);
                return result;
            } finally {
                informers.forEach(SharedIndexInformer::close);
                kubelet.shutdownNow();
                if (operator != null) {
                    operator.close();
                }
            }
        } finally {
            if (fake != null) {
                fake.close();
            }
        }
    }

    private static Percentiles percentiles(List<Double> values) {
        return new Percentiles(values.stream().mapToDouble(Double::doubleValue).toArray());
    }

    private void answerHeld() {
        if (fake != null) {
            fake.answerHeld();
        }
    }

    /** Waits until no write came for {@code QUIET} (or the deadline plus {@code QUIET} passed). */
    private void awaitQuiet(WriteTally tally, long deadline) throws InterruptedException {
        long quietSince = now();
        long lastTotal = tally.total();
        while (now() - quietSince < settings.quiet().toNanos()
                && now() < deadline + settings.quiet().toNanos()) {
            TimeUnit.MILLISECONDS.sleep(100);
            tally.poll();
            if (tally.total() != lastTotal) {
                lastTotal = tally.total();
                quietSince = now();
            }
        }
    }

    private Mark mark(WriteTally tally) {
        tally.poll();
        return new Mark(
                CpuSample.take(),
                fake == null ? 0 : fake.requests(),
                tally.operatorWrites(),
                tally.benchWrites(),
                lbVersions.get());
    }

    private Window since(Mark start, WriteTally tally) {
        tally.poll();
        CpuSample cpu = CpuSample.take();
        return new Window(
                (cpu.nanoTime() - start.cpu().nanoTime()) / 1e9,
                (cpu.processCpuNanos() - start.cpu().processCpuNanos()) / 1e9,
                cpu.byGroupSince(start.cpu()),
                (fake == null ? 0 : fake.requests()) - start.statusRequests(),
                minus(tally.operatorWrites(), start.operatorWrites()),
                minus(tally.benchWrites(), start.benchWrites()),
                lbVersions.get() - start.loadBalancerVersions());
    }

    private static Map<String, Long> minus(Map<String, Long> now, Map<String, Long> before) {
        Map<String, Long> diff = new java.util.TreeMap<>();
        now.forEach((k, v) -> {
            long d = v - before.getOrDefault(k, 0L);
            if (d != 0) {
                diff.put(k, d);
            }
        });
        return diff;
    }

    /**
     * Takes the second backend of every LoadBalancer out of rotation on its fake proxy: first of a few, one at a
     * time (the operator's reaction, the API server idle), then of all the others at once; waits until every
     * LoadBalancer shows BackendsHealthy=False, then for {@code QUIET} without writes.
     */
    private Flip flip(WriteTally tally) throws InterruptedException {
        Settings s = settings;
        int single = Math.min(10, s.lbs() / 2);
        out.printf(
                Locale.ROOT,
                "taking one backend of each LoadBalancer out of rotation on its proxy: %d one at a time, then the other "
                        + "%d at once%n",
                single,
                s.lbs() - single);
        Mark start = mark(tally);
        flipped = true;
        List<Double> oneAtATime = new ArrayList<>();
        for (int i = 0; i < single; i++) {
            long at = now();
            fake.takeOut(i, 1);
            while (outSeen.get(i) == 0 && now() - at < TimeUnit.SECONDS.toNanos(30)) {
                TimeUnit.MILLISECONDS.sleep(1);
            }
            if (outSeen.get(i) != 0) {
                oneAtATime.add((outSeen.get(i) - at) / 1e9);
            }
            tally.poll();
        }
        long flipAt = now();
        for (int i = single; i < s.lbs(); i++) {
            fake.takeOut(i, 1);
        }
        long deadline = flipAt + s.timeout().toNanos();
        long lastProgress = flipAt;
        int outOfRotation = 0;
        while (now() < deadline) {
            TimeUnit.MILLISECONDS.sleep(100);
            tally.poll();
            outOfRotation = count(outSeen);
            if (outOfRotation == s.lbs()) {
                break;
            }
            if (now() - lastProgress > TimeUnit.SECONDS.toNanos(5)) {
                lastProgress = now();
                out.printf(
                        Locale.ROOT,
                        "  %6.1f s after: BackendsHealthy=False on %d, writes %d%n",
                        (lastProgress - flipAt) / 1e9,
                        outOfRotation,
                        tally.total());
            }
        }
        List<Double> times = new ArrayList<>();
        long last = 0;
        for (int i = single; i < s.lbs(); i++) {
            long at = outSeen.get(i);
            if (at != 0) {
                times.add((at - flipAt) / 1e9);
                last = Math.max(last, at);
            }
        }
        double all = outOfRotation == s.lbs() ? (last - flipAt) / 1e9 : Double.NaN;
        out.printf(
                Locale.ROOT,
                "BackendsHealthy=False on %d/%d after %.1f s; waiting for %s without writes%n",
                outOfRotation,
                s.lbs(),
                (now() - flipAt) / 1e9,
                Durations.format(s.quiet()));
        awaitQuiet(tally, deadline);
        return new Flip(
                outOfRotation, percentiles(oneAtATime), s.lbs() - single, all, percentiles(times), since(start, tally));
    }

    /** One no-op resync: how long until every LoadBalancer was reconciled, and what it wrote. */
    public record Resync(
            String how,
            double seconds,
            double unchanged,
            double written,
            List<Write> writes,
            int writeCount,
            double lastWriteSeconds,
            double heapBytes,
            double heapCommittedBytes,
            long rssBytes,
            String jvm,
            double idleSeconds,
            double idleCpuSeconds,
            long idleStatusRequests) {}

    /**
     * Waits until the operator on {@code port} has reconciled every LoadBalancer, then until no write came for {@code
     * QUIET}.
     */
    private Resync awaitResync(String how, long started, int port, EmbeddedApiServer api, Process process)
            throws Exception {
        long deadline = started + settings.timeout().toNanos();
        while (reconciles(port, null) < settings.lbs()) {
            if (now() > deadline || (process != null && !process.isAlive())) {
                throw new IllegalStateException("the operator (" + how + ") did not reconcile every LoadBalancer");
            }
            TimeUnit.MILLISECONDS.sleep(200);
        }
        double seconds = (now() - started) / 1e9;
        // Late writes show here: until none for QUIET, however long they go on (a restart that rewrites every
        // status keeps writing long after every LoadBalancer was reconciled once).
        long quietSince = now();
        long lastWrite = 0;
        int count = api.writeCount();
        while (now() - quietSince < settings.quiet().toNanos() && now() < deadline) {
            TimeUnit.MILLISECONDS.sleep(100);
            if (api.writeCount() != count) {
                count = api.writeCount();
                quietSince = now();
                lastWrite = now();
            }
        }
        List<Write> writes = api.writes();
        return new Resync(
                how,
                seconds,
                reconciles(port, "unchanged"),
                reconciles(port, "written"),
                writes,
                api.writeCount(),
                lastWrite == 0 ? 0 : (lastWrite - started) / 1e9,
                Double.NaN,
                Double.NaN,
                -1,
                null,
                Double.NaN,
                Double.NaN,
                -1);
    }

    /**
     * The operator's jar ({@code OPERATOR_JAR}) as its own process against the same API server, with the JVM flags of
     * its image and {@code -XX:MaxRAM} set to the chart's memory limit (OPERATOR_JAVA_OPTS), as its pod runs it. After
     * its resync: heap used right after a full GC ({@code jcmd GC.run}, then its /metrics) and its RSS.
     */
    private Resync processResync(EmbeddedApiServer api) throws Exception {
        java.nio.file.Path dir = java.nio.file.Files.createTempDirectory("operator-scale");
        java.nio.file.Path kubeconfig = api.writeKubeconfig(dir.resolve("kubeconfig"));
        java.nio.file.Path log = dir.resolve("operator.log");
        int port;
        try (java.net.ServerSocket socket =
                new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = socket.getLocalPort();
        }
        List<String> command = new ArrayList<>();
        command.add(java.nio.file.Path.of(System.getProperty("java.home"), "bin", "java")
                .toString());
        command.addAll(List.of(settings.operatorJavaOpts().strip().split("\\s+")));
        command.addAll(List.of("-jar", settings.operatorJar()));
        ProcessBuilder builder =
                new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
        builder.environment()
                .putAll(Map.of(
                        "KUBECONFIG",
                        kubeconfig.toString(),
                        "LEADER_ELECTION",
                        "false",
                        "HTTP_PORT",
                        Integer.toString(port),
                        "LOG_LEVEL",
                        "warn",
                        "POD_NAMESPACE",
                        "default"));
        builder.environment().remove("WATCH_NAMESPACES");
        out.printf(Locale.ROOT, "starting the operator as a process: %s%n", String.join(" ", command));
        api.resetWriteCount();
        long started = now();
        Process process = builder.start();
        try {
            Resync resync;
            try {
                resync = awaitResync("its own process", started, port, api, process);
            } catch (RuntimeException e) {
                out.println("operator log (" + log + "):");
                java.nio.file.Files.readAllLines(log).stream().limit(40).forEach(l -> out.println("  " + l));
                throw e;
            }
            java.nio.file.Path jcmd = java.nio.file.Path.of(System.getProperty("java.home"), "bin", "jcmd");
            Process gc = new ProcessBuilder(jcmd.toString(), Long.toString(process.pid()), "GC.run")
                    .redirectErrorStream(true)
                    .start();
            String gcOutput = new String(gc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!gc.waitFor(60, TimeUnit.SECONDS) || gc.exitValue() != 0) {
                throw new IllegalStateException("jcmd GC.run failed: " + gcOutput.strip());
            }
            String scraped = scrape(port);
            PrometheusText metrics = PrometheusText.parse(scraped);
            double heap = metrics.sum("jvm_memory_used_bytes", l -> "heap".equals(l.get("area")));
            double committed = metrics.sum("jvm_memory_committed_bytes", l -> "heap".equals(l.get("area")));
            double max = metrics.samples().stream()
                    .filter(x -> x.name().equals("jvm_memory_max_bytes")
                            && "heap".equals(x.labels().get("area"))
                            && x.value() > 0)
                    .mapToDouble(x -> x.value())
                    .sum();
            Map<String, Long> byName = new java.util.TreeMap<>();
            metrics.samples()
                    .forEach(x -> byName.merge(x.name().replaceAll("_(bucket|count|sum|max)$", ""), 1L, Long::sum));
            out.printf(
                    Locale.ROOT,
                    "operator /metrics: %d samples, %.0f KiB; most samples: %s%n",
                    metrics.samples().size(),
                    scraped.length() / 1024.0,
                    byName.entrySet().stream()
                            .sorted(Map.Entry.<String, Long>comparingByValue().reversed())
                            .limit(5)
                            .map(e -> e.getKey() + " " + e.getValue())
                            .reduce((a, b) -> a + ", " + b)
                            .orElse(""));
            double nonHeap = metrics.sum("jvm_memory_used_bytes", l -> "nonheap".equals(l.get("area")));
            dev.roundhouse.bench.soak.ProcessStats stats = dev.roundhouse.bench.soak.ProcessStats.of(process.pid());
            if (settings.histogram() > 0) {
                Process histogram = new ProcessBuilder(
                                jcmd.toString(), Long.toString(process.pid()), "GC.class_histogram")
                        .redirectErrorStream(true)
                        .start();
                String text = new String(histogram.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                histogram.waitFor(60, TimeUnit.SECONDS);
                out.println("class histogram of the operator process (top " + settings.histogram() + " by bytes):");
                text.lines()
                        .filter(l -> !l.startsWith(process.pid() + ":"))
                        .limit(settings.histogram() + 2L)
                        .forEach(l -> out.println("  " + l));
                text.lines().filter(l -> l.startsWith("Total")).forEach(l -> out.println("  " + l));
            }
            if (settings.operatorJavaOpts().contains("NativeMemoryTracking")) {
                Process nmt = new ProcessBuilder(
                                jcmd.toString(),
                                Long.toString(process.pid()),
                                "VM.native_memory",
                                "summary",
                                "scale=MB")
                        .redirectErrorStream(true)
                        .start();
                String summary = new String(nmt.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                nmt.waitFor(60, TimeUnit.SECONDS);
                out.println("native memory of the operator process (jcmd VM.native_memory summary, committed):");
                summary.lines()
                        .filter(l -> l.contains("committed=") && (l.startsWith("Total") || l.startsWith("-")))
                        .forEach(l -> out.println("  " + l.strip()));
            }
            // Its CPU at rest, its own alone (no API server, no benchmark in the process): what a converged operator
            // costs a cluster per second, with or without proxies to wait on.
            double idleSeconds = Double.NaN;
            double idleCpuSeconds = Double.NaN;
            long idleRequests = -1;
            if (!settings.idle().isZero()) {
                out.printf(
                        Locale.ROOT,
                        "operator process idle for %s after %s more (a long poll's wait: every proxy asked again, the "
                                + "status path compiled): measuring its CPU%n",
                        Durations.format(settings.idle()),
                        Durations.format(PROCESS_WARMUP));
                TimeUnit.NANOSECONDS.sleep(PROCESS_WARMUP.toNanos());
                long requestsBefore = fake == null ? 0 : fake.requests();
                long ticksBefore =
                        dev.roundhouse.bench.soak.ProcessStats.of(process.pid()).cpuTicks();
                long idleStart = now();
                TimeUnit.NANOSECONDS.sleep(settings.idle().toNanos());
                long ticksAfter =
                        dev.roundhouse.bench.soak.ProcessStats.of(process.pid()).cpuTicks();
                idleSeconds = (now() - idleStart) / 1e9;
                idleCpuSeconds = (ticksAfter - ticksBefore) / 100.0; // USER_HZ, the unit of /proc/<pid>/stat
                idleRequests = (fake == null ? 0 : fake.requests()) - requestsBefore;
            }
            return new Resync(
                    resync.how(),
                    resync.seconds(),
                    resync.unchanged(),
                    resync.written(),
                    resync.writes(),
                    resync.writeCount(),
                    resync.lastWriteSeconds(),
                    heap,
                    committed,
                    stats.rssBytes(),
                    String.format(
                            Locale.ROOT,
                            "pid %d, max heap %.0f MiB, non-heap used %.0f MiB, %d threads; /metrics: %d samples, %.0f KiB",
                            process.pid(),
                            max / 1048576,
                            nonHeap / 1048576,
                            stats.threads(),
                            metrics.samples().size(),
                            scraped.length() / 1024.0),
                    idleSeconds,
                    idleCpuSeconds,
                    idleRequests);
        } finally {
            process.destroy(); // SIGTERM: the operator's shutdown hook stops it
            if (!process.waitFor(30, TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        }
    }

    /**
     * "label: 12.3 s in 60.0 s (20.5 % of a core); by thread group: a 1.2 s, b 0.8 s, ... (the eight largest); not in
     * a Java thread: 3.4 s" (the JIT's and GC's threads, and threads that ended in the window).
     */
    private void cpu(String label, Window w) {
        double inThreads =
                w.cpuNanosByGroup().values().stream().mapToLong(Long::longValue).sum() / 1e9;
        out.printf(
                Locale.ROOT,
                "%s: %.2f s in %.1f s (%.1f %% of a core); by thread group: %s; not in a live Java thread (GC, JIT, "
                        + "threads ended): %.2f s%n",
                label,
                w.cpuSeconds(),
                w.seconds(),
                100 * w.cpuSeconds() / w.seconds(),
                w.cpuNanosByGroup().entrySet().stream()
                        .limit(8)
                        .map(e -> String.format(Locale.ROOT, "%s %.2f s", e.getKey(), e.getValue() / 1e9))
                        .reduce((a, b) -> a + ", " + b)
                        .orElse("-"),
                w.cpuSeconds() - inThreads);
    }

    private void report(Result r) {
        Settings s = settings;
        double mib = 1024 * 1024;
        out.println();
        out.printf(
                Locale.ROOT,
                "%-46s %9s %8s %8s %8s %8s%n",
                "milestone (per LoadBalancer, from its create)",
                "done",
                "all_s",
                "p50_s",
                "p99_s",
                "max_s");
        out.printf(
                Locale.ROOT,
                "%-46s %9s %8.2f %8.2f %8.2f %8.2f%n",
                "converged (" + DEPENDENTS.length + " dependents, status observed)",
                r.converged() + "/" + r.lbs(),
                r.allConvergedSeconds(),
                r.convergeSeconds().at(50),
                r.convergeSeconds().at(99),
                r.convergeSeconds().max());
        if (s.kubelet()) {
            out.printf(
                    Locale.ROOT,
                    "%-46s %9s %8.2f %8.2f %8.2f %8.2f%n",
                    "Ready=True (after the Deployment status)",
                    r.ready() + "/" + r.lbs(),
                    r.allReadySeconds(),
                    r.readySeconds().at(50),
                    r.readySeconds().at(99),
                    r.readySeconds().max());
            out.printf(
                    Locale.ROOT,
                    "%-46s %9s %8s %8.2f %8.2f %8.2f%n",
                    "  of which: create -> Deployment status",
                    r.kubeletSeconds().count() + "/" + r.lbs(),
                    "",
                    r.kubeletSeconds().at(50),
                    r.kubeletSeconds().at(99),
                    r.kubeletSeconds().max());
            out.printf(
                    Locale.ROOT,
                    "%-46s %9s %8s %8.2f %8.2f %8.2f%n",
                    "  of which: Deployment status -> Ready=True",
                    r.afterKubeletSeconds().count() + "/" + r.lbs(),
                    "",
                    r.afterKubeletSeconds().at(50),
                    r.afterKubeletSeconds().at(99),
                    r.afterKubeletSeconds().max());
        }
        if (r.proxyStatus()) {
            out.printf(
                    Locale.ROOT,
                    "%-46s %9s %8.2f %8.2f %8.2f %8.2f%n",
                    "healthy 2/2, BackendsHealthy=True",
                    r.healthy() + "/" + r.lbs(),
                    r.allHealthySeconds(),
                    r.healthySeconds().at(50),
                    r.healthySeconds().at(99),
                    r.healthySeconds().max());
            out.printf(
                    Locale.ROOT,
                    "%-46s %9s %8s %8.2f %8.2f %8.2f%n",
                    "  of which: metrics EndpointSlice -> 2/2",
                    r.sliceToHealthySeconds().count() + "/" + r.lbs(),
                    "",
                    r.sliceToHealthySeconds().at(50),
                    r.sliceToHealthySeconds().at(99),
                    r.sliceToHealthySeconds().max());
        }
        out.println("(all_s: from the first create to the last LoadBalancer reaching the milestone)");
        out.println();
        out.printf(
                Locale.ROOT,
                "API writes while creating (until %s without a write), by writer, resource and verb:%n",
                Durations.format(s.quiet()));
        out.printf(Locale.ROOT, "%-10s %-36s %8s %8s%n", "writer", "what", "writes", "per_LB");
        new java.util.TreeMap<>(r.operatorWrites())
                .forEach((what, n) ->
                        out.printf(Locale.ROOT, "%-10s %-36s %8d %8.2f%n", "operator", what, n, n / (double) r.lbs()));
        out.printf(
                Locale.ROOT,
                "%-10s %-36s %8d %8.2f%n",
                "operator",
                "(total)",
                r.operatorWriteCount(),
                r.operatorWriteCount() / (double) r.lbs());
        new java.util.TreeMap<>(r.benchWrites())
                .forEach((what, n) ->
                        out.printf(Locale.ROOT, "%-10s %-36s %8d %8.2f%n", "bench", what, n, n / (double) r.lbs()));
        out.printf(
                Locale.ROOT,
                "operator reconciles while creating: %.0f (%.2f per LoadBalancer); LoadBalancer versions a watch saw: "
                        + "%d (%.2f per LoadBalancer, the create included: a status apply that changes nothing makes "
                        + "none)%n",
                r.reconciles(),
                r.reconciles() / r.lbs(),
                r.creating().loadBalancerVersions(),
                r.creating().loadBalancerVersions() / (double) r.lbs());
        cpu("CPU of this JVM while creating", r.creating());
        out.println();
        if (r.idle().seconds() > 0.5) {
            out.printf(
                    Locale.ROOT,
                    "idle, %.0f s with nothing changing: %d status requests to the fake proxies (%.1f/s, %.2f per "
                            + "LoadBalancer per 30 s), API writes: operator %d, bench %d%n",
                    r.idle().seconds(),
                    r.idle().statusRequests(),
                    r.idle().statusRequests() / r.idle().seconds(),
                    r.idle().statusRequests() / r.idle().seconds() * 30 / r.lbs(),
                    r.idle().operatorWriteCount(),
                    r.idle().benchWrites().values().stream()
                            .mapToLong(Long::longValue)
                            .sum());
            cpu("CPU of this JVM while idle", r.idle());
        }
        if (r.flip() != null) {
            Flip f = r.flip();
            out.println();
            out.printf(
                    Locale.ROOT,
                    "one backend of every LoadBalancer out of rotation on its proxy: BackendsHealthy=False on %d/%d; "
                            + "%d one at a time: each after p50 %.3f s, max %.3f s; the other %d at once: the last "
                            + "after %.2f s (each: p50 %.2f s, p99 %.2f s); %d status requests%n",
                    f.out(),
                    r.lbs(),
                    f.oneAtATime().count(),
                    f.oneAtATime().at(50),
                    f.oneAtATime().max(),
                    f.atOnce(),
                    f.allOutSeconds(),
                    f.outSeconds().at(50),
                    f.outSeconds().at(99),
                    f.window().statusRequests());
            out.printf(
                    Locale.ROOT,
                    "API writes from the change until %s without a write (%.1f s):%n",
                    Durations.format(s.quiet()),
                    f.window().seconds());
            out.printf(Locale.ROOT, "%-10s %-36s %8s %8s%n", "writer", "what", "writes", "per_LB");
            f.window()
                    .operatorWrites()
                    .forEach((what, n) -> out.printf(
                            Locale.ROOT, "%-10s %-36s %8d %8.2f%n", "operator", what, n, n / (double) r.lbs()));
            f.window()
                    .benchWrites()
                    .forEach((what, n) ->
                            out.printf(Locale.ROOT, "%-10s %-36s %8d %8.2f%n", "bench", what, n, n / (double) r.lbs()));
            cpu("CPU of this JVM from the change to quiet", f.window());
        }
        out.println();
        out.printf(
                Locale.ROOT,
                "in-process heap after full GC: %.1f MiB with the operator (converged), %.1f MiB %.0f s "
                        + "after stopping it: the operator held about %.1f MiB (%.1f KiB per LoadBalancer)%n",
                r.heapWithOperator() / mib,
                r.heapWithoutOperator() / mib,
                (double) s.heapSettle().toSeconds(),
                (r.heapWithOperator() - r.heapWithoutOperator()) / mib,
                (r.heapWithOperator() - r.heapWithoutOperator()) / 1024.0 / r.lbs());
        out.println();
        out.printf(
                Locale.ROOT,
                "%-24s %10s %10s %9s %7s %13s %15s %11s %9s%n",
                "no-op resync (restart)",
                "reconciled_s",
                "unchanged",
                "written",
                "writes",
                "last_write_s",
                "heap_after_gc",
                "heap_comm",
                "rss");
        for (Resync x : r.resyncs()) {
            out.printf(
                    Locale.ROOT,
                    "%-24s %10.1f %10.0f %9.0f %7d %13s %15s %11s %9s%n",
                    x.how(),
                    x.seconds(),
                    x.unchanged(),
                    x.written(),
                    x.writeCount(),
                    x.writeCount() == 0 ? "-" : String.format(Locale.ROOT, "%.1f", x.lastWriteSeconds()),
                    Double.isNaN(x.heapBytes()) ? "-" : String.format(Locale.ROOT, "%.1f MiB", x.heapBytes() / mib),
                    Double.isNaN(x.heapCommittedBytes())
                            ? "-"
                            : String.format(Locale.ROOT, "%.1f MiB", x.heapCommittedBytes() / mib),
                    x.rssBytes() < 0 ? "-" : String.format(Locale.ROOT, "%.1f MiB", x.rssBytes() / mib));
            if (x.writeCount() > 0) {
                // by what, then the first few as written
                Map<String, Long> byWhat = new java.util.TreeMap<>();
                x.writes().forEach(w -> byWhat.merge(WriteTally.describe(w), 1L, Long::sum));
                out.println("    by what: " + byWhat
                        + (x.writeCount() > x.writes().size()
                                ? " (the server kept the last " + x.writes().size() + " of " + x.writeCount() + ")"
                                : ""));
                x.writes().stream().limit(5).forEach(w -> out.println("    " + w));
            }
            if (x.jvm() != null) {
                out.println("    (" + x.jvm() + "; JVM options " + s.operatorJavaOpts() + ")");
            }
            if (!Double.isNaN(x.idleSeconds())) {
                out.printf(
                        Locale.ROOT,
                        "    idle %.0f s after it: CPU %.2f s (%.2f %% of a core), %d status requests (%.1f/s)%n",
                        x.idleSeconds(),
                        x.idleCpuSeconds(),
                        100 * x.idleCpuSeconds() / x.idleSeconds(),
                        x.idleStatusRequests(),
                        x.idleStatusRequests() / x.idleSeconds());
            }
        }
        out.printf(
                Locale.ROOT,
                "(reconciled_s: from the restart until every LoadBalancer was reconciled; counts and writes once no write "
                        + "came for %s; last_write_s: from the restart)%n",
                Durations.format(s.quiet()));
        out.println();
        boolean convergedAll = r.converged() == r.lbs() && (!s.kubelet() || r.ready() == r.lbs());
        out.printf(
                Locale.ROOT,
                "%-22s %s  %d/%d converged%s%n",
                "all converge",
                convergedAll ? "PASS" : "FAIL",
                r.converged(),
                r.lbs(),
                s.kubelet() ? ", " + r.ready() + "/" + r.lbs() + " ready" : "");
        int resyncWrites = r.resyncs().stream().mapToInt(Resync::writeCount).sum();
        out.printf(
                Locale.ROOT,
                "%-22s %s  %d writes in %d resyncs (goal 0)%n",
                "no-op resync writes",
                resyncWrites == 0 ? "PASS" : "FAIL",
                resyncWrites,
                r.resyncs().size());
        if (r.proxyStatus()) {
            out.printf(
                    Locale.ROOT,
                    "%-22s %s  %d/%d show healthy 2/2%n",
                    "all healthy",
                    r.healthy() == r.lbs() ? "PASS" : "FAIL",
                    r.healthy(),
                    r.lbs());
            int flipped = r.flip() == null ? 0 : r.flip().out();
            out.printf(
                    Locale.ROOT,
                    "%-22s %s  %d/%d show BackendsHealthy=False%n",
                    "backend out seen",
                    flipped == r.lbs() ? "PASS" : "FAIL",
                    flipped,
                    r.lbs());
        }
        Resync own = r.resyncs().get(r.resyncs().size() - 1);
        Flip f = r.flip();
        Window fw = f == null ? null : f.window();
        out.printf(
                Locale.ROOT,
                "RESULT operator-scale lbs=%d kubelet=%d converged=%d ready=%d all_converged_s=%.2f "
                        + "converge_p50_s=%.2f converge_p99_s=%.2f all_ready_s=%.2f ready_p50_s=%.2f ready_p99_s=%.2f "
                        + "operator_writes_per_lb=%.2f resync_writes=%d resync_s=%.1f operator_heap_mib=%.1f "
                        + "operator_rss_mib=%.1f in_process_operator_heap_mib=%.1f proxy_status=%d healthy=%d "
                        + "all_healthy_s=%.2f healthy_p50_s=%.2f healthy_p99_s=%.2f slice_to_healthy_p50_s=%.2f "
                        + "slice_to_healthy_p99_s=%.2f create_cpu_s=%.1f idle_cpu_pct=%.2f idle_status_rps=%.1f "
                        + "flip_out=%d flip_one_p50_s=%.3f flip_one_max_s=%.3f flip_all_s=%.2f flip_p50_s=%.2f "
                        + "flip_p99_s=%.2f flip_writes_per_lb=%.2f "
                        + "flip_status_writes_per_lb=%.2f flip_cpu_s=%.2f operator_idle_cpu_pct=%.2f "
                        + "operator_idle_status_rps=%.1f%n",
                r.lbs(),
                s.kubelet() ? 1 : 0,
                r.converged(),
                r.ready(),
                r.allConvergedSeconds(),
                r.convergeSeconds().at(50),
                r.convergeSeconds().at(99),
                r.allReadySeconds(),
                r.readySeconds().at(50),
                r.readySeconds().at(99),
                r.operatorWriteCount() / (double) r.lbs(),
                resyncWrites,
                own.seconds(),
                own.heapBytes() / mib,
                own.rssBytes() / mib,
                (r.heapWithOperator() - r.heapWithoutOperator()) / mib,
                r.proxyStatus() ? 1 : 0,
                r.healthy(),
                r.allHealthySeconds(),
                r.healthySeconds().at(50),
                r.healthySeconds().at(99),
                r.sliceToHealthySeconds().at(50),
                r.sliceToHealthySeconds().at(99),
                r.creating().cpuSeconds(),
                100 * r.idle().cpuSeconds() / r.idle().seconds(),
                r.idle().statusRequests() / r.idle().seconds(),
                f == null ? 0 : f.out(),
                f == null ? Double.NaN : f.oneAtATime().at(50),
                f == null ? Double.NaN : f.oneAtATime().max(),
                f == null ? Double.NaN : f.allOutSeconds(),
                f == null ? Double.NaN : f.outSeconds().at(50),
                f == null ? Double.NaN : f.outSeconds().at(99),
                fw == null ? Double.NaN : fw.operatorWriteCount() / (double) r.lbs(),
                fw == null
                        ? Double.NaN
                        : fw.operatorWrites().getOrDefault("loadbalancers/status apply", 0L) / (double) r.lbs(),
                fw == null ? Double.NaN : fw.cpuSeconds(),
                100 * own.idleCpuSeconds() / own.idleSeconds(),
                own.idleStatusRequests() / own.idleSeconds());
        out.flush();
    }
}
