package dev.roundhouse.bench.scale;

import dev.roundhouse.bench.soak.PrometheusText;
import dev.roundhouse.testing.apiserver.EmbeddedApiServer;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.ManagedFieldsEntryBuilder;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * The operator's heap against the Services and EndpointSlices of a cluster that no LoadBalancer names: it watches
 * them all (for serviceRef), so its caches grow with the cluster. For each count in {@code PAIRS} (default
 * {@code 0,1000,10000}), an embedded API server gets that many Service/EndpointSlice pairs shaped as a real cluster
 * stores them (managed fields, kubectl's last-applied annotation, three endpoints with target references, nodes and
 * zones), then the operator's jar ({@code OPERATOR_JAR}) starts as a process of its own, with its pod's JVM flags
 * ({@code OPERATOR_JAVA_OPTS}); once ready and settled, its heap used after a full GC ({@code jcmd GC.run}, then its
 * /metrics). Prints one line per count and the growth per pair.
 */
public final class OperatorMemory {

    private static final HttpClient HTTP = HttpClient.newHttpClient();

    private final PrintStream out;
    private final String operatorJar;
    private final String javaOpts;
    private final Duration settle;

    private OperatorMemory(PrintStream out, String operatorJar, String javaOpts, Duration settle) {
        this.out = out;
        this.operatorJar = operatorJar;
        this.javaOpts = javaOpts;
        this.settle = settle;
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> env = System.getenv();
        String jar = env.getOrDefault("OPERATOR_JAR", "operator/target/roundhouse-operator.jar");
        OperatorMemory bench = new OperatorMemory(
                System.out,
                jar,
                env.getOrDefault(
                        "OPERATOR_JAVA_OPTS", "-XX:MaxRAM=512m -XX:MaxRAMPercentage=50 -XX:+ExitOnOutOfMemoryError"),
                Duration.ofSeconds(Long.parseLong(env.getOrDefault("SETTLE_SECONDS", "10"))));
        List<Integer> counts = new ArrayList<>();
        for (String c : env.getOrDefault("PAIRS", "0,1000,10000").split(",")) {
            counts.add(Integer.parseInt(c.strip()));
        }
        System.out.printf(
                Locale.ROOT,
                "operator-memory: operator %s, JVM flags %s; started %s%n",
                jar,
                bench.javaOpts,
                java.time.Instant.now());
        System.out.printf(Locale.ROOT, "%8s %12s %14s%n", "pairs", "heap_MiB", "KiB_per_pair");
        double base = Double.NaN;
        for (int count : counts) {
            double heap = bench.measure(count);
            if (count == 0) {
                base = heap;
            }
            double perPair = count == 0 || Double.isNaN(base) ? Double.NaN : (heap - base) / count / 1024.0;
            System.out.printf(Locale.ROOT, "%8d %12.1f %14.2f%n", count, heap / (1024.0 * 1024.0), perPair);
            System.out.printf(
                    Locale.ROOT,
                    "RESULT operator-memory pairs=%d heap_bytes=%.0f kib_per_pair=%.2f%n",
                    count,
                    heap,
                    perPair);
        }
    }

    /** The operator's heap after a full GC, with {@code pairs} unrelated Service/EndpointSlice pairs around. */
    private double measure(int pairs) throws Exception {
        try (EmbeddedApiServer api = new EmbeddedApiServer().start()) {
            api.applyCrdYaml(OperatorScale.crdYaml());
            create(api.client(), pairs);
            Path dir = Files.createTempDirectory("operator-memory");
            Path kubeconfig = api.writeKubeconfig(dir.resolve("kubeconfig"));
            int port;
            try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
                port = socket.getLocalPort();
            }
            List<String> command = new ArrayList<>();
            command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
            command.addAll(List.of(javaOpts.strip().split("\\s+")));
            command.addAll(List.of("-jar", operatorJar));
            ProcessBuilder builder = new ProcessBuilder(command)
                    .redirectErrorStream(true)
                    .redirectOutput(dir.resolve("operator.log").toFile());
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
            Process process = builder.start();
            try {
                long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
                while (!ready(port)) {
                    if (!process.isAlive() || System.nanoTime() > deadline) {
                        throw new IllegalStateException(
                                "the operator did not turn ready; its log: " + dir.resolve("operator.log"));
                    }
                    Thread.sleep(200); // polling the probe, as a kubelet does
                }
                Thread.sleep(settle.toMillis()); // what the caches hold once listed, not the listing's garbage
                Path jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd");
                Process gc = new ProcessBuilder(jcmd.toString(), Long.toString(process.pid()), "GC.run")
                        .redirectErrorStream(true)
                        .start();
                gc.getInputStream().readAllBytes();
                if (!gc.waitFor(60, TimeUnit.SECONDS) || gc.exitValue() != 0) {
                    throw new IllegalStateException("jcmd GC.run failed");
                }
                PrometheusText metrics = PrometheusText.parse(get(port, "/metrics"));
                return metrics.sum("jvm_memory_used_bytes", l -> "heap".equals(l.get("area")));
            } finally {
                process.destroy();
                process.waitFor(30, TimeUnit.SECONDS);
            }
        }
    }

    private static boolean ready(int port) {
        try {
            return HTTP.send(
                                    HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/readyz"))
                                            .timeout(Duration.ofSeconds(2))
                                            .build(),
                                    HttpResponse.BodyHandlers.discarding())
                            .statusCode()
                    == 200;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    private static String get(int port, String path) throws IOException, InterruptedException {
        return HTTP.send(
                        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                                .build(),
                        HttpResponse.BodyHandlers.ofString())
                .body();
    }

    private static void create(KubernetesClient client, int pairs) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<?>> done = new ArrayList<>();
            for (int i = 0; i < pairs; i++) {
                int n = i;
                done.add(pool.submit(() -> {
                    client.services().inNamespace("apps").resource(service(n)).create();
                    client.resources(EndpointSlice.class)
                            .inNamespace("apps")
                            .resource(slice(n))
                            .create();
                }));
            }
            for (Future<?> f : done) {
                f.get(5, TimeUnit.MINUTES);
            }
        } finally {
            pool.shutdownNow();
        }
    }

    /** A Service as kubectl apply leaves it: its last-applied annotation and managed fields. */
    static Service service(int n) {
        String name = "svc-" + n;
        String applied = "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"annotations\":{},\"labels\":{"
                + "\"app.kubernetes.io/name\":\"" + name + "\",\"app.kubernetes.io/part-of\":\"shop\"},\"name\":\""
                + name + "\",\"namespace\":\"apps\"},\"spec\":{\"ports\":[{\"name\":\"http\",\"port\":80,"
                + "\"targetPort\":\"http\"},{\"name\":\"metrics\",\"port\":9090}],\"selector\":{"
                + "\"app.kubernetes.io/name\":\"" + name + "\"}}}\n";
        return new ServiceBuilder()
                .withNewMetadata()
                .withName(name)
                .withNamespace("apps")
                .withLabels(Map.of("app.kubernetes.io/name", name, "app.kubernetes.io/part-of", "shop"))
                .withAnnotations(Map.of("kubectl.kubernetes.io/last-applied-configuration", applied))
                .withManagedFields(new ManagedFieldsEntryBuilder()
                        .withManager("kubectl-client-side-apply")
                        .withOperation("Update")
                        .withApiVersion("v1")
                        .withFieldsType("FieldsV1")
                        .withTime("2026-12-06T10:00:00Z")
                        .withNewFieldsV1()
                        .addToAdditionalProperties(
                                "f:metadata",
                                Map.of(
                                        "f:annotations",
                                        Map.of(
                                                ".",
                                                Map.of(),
                                                "f:kubectl.kubernetes.io/last-applied-configuration",
                                                Map.of()),
                                        "f:labels",
                                        Map.of(
                                                ".",
                                                Map.of(),
                                                "f:app.kubernetes.io/name",
                                                Map.of(),
                                                "f:app.kubernetes.io/part-of",
                                                Map.of())))
                        .addToAdditionalProperties(
                                "f:spec",
                                Map.of(
                                        "f:internalTrafficPolicy",
                                        Map.of(),
                                        "f:ports",
                                        Map.of(
                                                ".",
                                                Map.of(),
                                                "k:{\"port\":80,\"protocol\":\"TCP\"}",
                                                Map.of(
                                                        ".",
                                                        Map.of(),
                                                        "f:name",
                                                        Map.of(),
                                                        "f:port",
                                                        Map.of(),
                                                        "f:protocol",
                                                        Map.of(),
                                                        "f:targetPort",
                                                        Map.of())),
                                        "f:selector",
                                        Map.of(),
                                        "f:sessionAffinity",
                                        Map.of(),
                                        "f:type",
                                        Map.of()))
                        .endFieldsV1()
                        .build())
                .endMetadata()
                .withNewSpec()
                .withType("ClusterIP")
                .withClusterIP("10.96." + (n / 250) + "." + (n % 250))
                .withClusterIPs("10.96." + (n / 250) + "." + (n % 250))
                .withIpFamilies("IPv4")
                .withIpFamilyPolicy("SingleStack")
                .withSessionAffinity("None")
                .withInternalTrafficPolicy("Cluster")
                .withSelector(Map.of("app.kubernetes.io/name", name))
                .addNewPort()
                .withName("http")
                .withPort(80)
                .withProtocol("TCP")
                .withTargetPort(new IntOrString("http"))
                .endPort()
                .addNewPort()
                .withName("metrics")
                .withPort(9090)
                .withProtocol("TCP")
                .withTargetPort(new IntOrString(9090))
                .endPort()
                .endSpec()
                .build();
    }

    /** Its EndpointSlice as the controller writes it: three endpoints on three nodes. */
    static EndpointSlice slice(int n) {
        String name = "svc-" + n;
        EndpointSliceBuilder slice = new EndpointSliceBuilder()
                .withNewMetadata()
                .withName(name + "-x7k2p")
                .withNamespace("apps")
                .withLabels(Map.of(
                        "kubernetes.io/service-name",
                        name,
                        "endpointslice.kubernetes.io/managed-by",
                        "endpointslice-controller.k8s.io",
                        "app.kubernetes.io/name",
                        name))
                .withAnnotations(Map.of("endpoints.kubernetes.io/last-change-trigger-time", "2026-12-06T10:00:00Z"))
                .withManagedFields(new ManagedFieldsEntryBuilder()
                        .withManager("kube-controller-manager")
                        .withOperation("Update")
                        .withApiVersion("discovery.k8s.io/v1")
                        .withFieldsType("FieldsV1")
                        .withTime("2026-12-06T10:00:00Z")
                        .withNewFieldsV1()
                        .addToAdditionalProperties("f:addressType", Map.of())
                        .addToAdditionalProperties("f:endpoints", Map.of())
                        .addToAdditionalProperties(
                                "f:metadata",
                                Map.of("f:annotations", Map.of(), "f:labels", Map.of(), "f:ownerReferences", Map.of()))
                        .addToAdditionalProperties("f:ports", Map.of())
                        .endFieldsV1()
                        .build())
                .endMetadata()
                .withAddressType("IPv4")
                .addNewPort()
                .withName("http")
                .withPort(8080)
                .withProtocol("TCP")
                .endPort()
                .addNewPort()
                .withName("metrics")
                .withPort(9090)
                .withProtocol("TCP")
                .endPort();
        for (int e = 0; e < 3; e++) {
            slice.addNewEndpoint()
                    .withAddresses("10.244." + e + "." + (n % 250))
                    .withNewConditions()
                    .withReady(true)
                    .withServing(true)
                    .withTerminating(false)
                    .endConditions()
                    .withNodeName("node-" + e)
                    .withZone("zone-" + e)
                    .withNewTargetRef()
                    .withKind("Pod")
                    .withNamespace("apps")
                    .withName(name + "-5d8c7b9f4-" + e)
                    .withUid("00000000-0000-0000-0000-" + String.format(Locale.ROOT, "%012d", n * 3L + e))
                    .endTargetRef()
                    .endEndpoint();
        }
        return slice.build();
    }
}
