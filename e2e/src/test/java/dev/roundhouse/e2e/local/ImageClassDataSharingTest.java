package dev.roundhouse.e2e.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.roundhouse.operator.api.v1alpha1.LoadBalancer;
import dev.roundhouse.operator.model.PoolConfigMaps;
import dev.roundhouse.operator.model.PoolDocuments;
import dev.roundhouse.operator.model.ProxyDeployments;
import dev.roundhouse.testing.TestBackend;
import dev.roundhouse.testing.apiserver.EmbeddedApiServer;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The proxy image's class-data sharing archive, built and used here as the image builds and uses it: the
 * Dockerfile's {@code COPY} lines lay out its {@code /app} in a temporary directory, its {@code -Xshare:dump} step
 * runs with this JVM, and the proxy starts with the image's {@code ENTRYPOINT} flags (and {@code -Xshare:on}, so an
 * archive the JVM cannot use fails the start instead of being skipped), the environment and memory limit of the
 * operator's Deployment, and a pool ConfigMap the operator would write, on the embedded API server. Nearly every class
 * it loads on the way to ready and through its first requests must come from the archive: when the code has moved on
 * from {@code proxy/src/main/cds/proxy.classlist}, this fails and says how to write it again.
 */
class ImageClassDataSharingTest {

    private static final Path PROXY = Path.of("..", "proxy");
    private static final Path JAR = PROXY.resolve(Path.of("target", "roundhouse-proxy.jar"));
    private static final Path CLASS_LIST = PROXY.resolve(Path.of("src", "main", "cds", "proxy.classlist"));
    /** Set to 1 to write {@link #CLASS_LIST} again from a start like this test's, before checking it. */
    private static final String WRITE = "ROUNDHOUSE_WRITE_CLASS_LIST";
    /** The share of classes loaded that the archive must hold; a fresh list gives about 98 %. */
    private static final double SHARED_AT_LEAST = 0.95;

    private static final HttpClient HTTP =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    @Test
    void theImagesArchiveHoldsTheClassesAStartLoads(@TempDir Path dir) throws Exception {
        assumeTrue(Files.isRegularFile(JAR), "needs the packaged proxy: `mvn verify` from the root packages it first");
        Dockerfile image = Dockerfile.read(PROXY.resolve("Dockerfile"));
        Path app = dir.resolve("app");
        image.layOut(PROXY, app);

        if ("1".equals(System.getenv(WRITE))) {
            Path written = dir.resolve("proxy.classlist");
            startAndServe(image.entrypoint(app, false), List.of("-XX:DumpLoadedClassList=" + written), dir);
            Files.copy(written, CLASS_LIST, StandardCopyOption.REPLACE_EXISTING);
            Files.copy(written, app.resolve(image.classListIn(app)), StandardCopyOption.REPLACE_EXISTING);
        }

        List<String> dump = image.dumpCommand(app);
        Process dumping = new ProcessBuilder(Stream.concat(
                                Stream.of(Path.of(System.getProperty("java.home"), "bin", "java")
                                        .toString()),
                                dump.stream().skip(1))
                        .toList())
                .directory(app.toFile())
                .redirectErrorStream(true)
                .redirectOutput(dir.resolve("dump.log").toFile())
                .start();
        assertThat(dumping.waitFor(3, TimeUnit.MINUTES)).as("the dump ends").isTrue();
        assertThat(dumping.exitValue())
                .as("the Dockerfile's dump step; its output:%n%s", Files.readString(dir.resolve("dump.log")))
                .isZero();

        Path classLog = dir.resolve("classes.log");
        startAndServe(
                image.entrypoint(app, true), List.of("-Xshare:on", "-Xlog:class+load=info:file=" + classLog), dir);

        List<String> loaded = Files.readAllLines(classLog);
        List<String> notShared = loaded.stream()
                .filter(line -> !line.contains("source: shared objects file"))
                .map(line -> line.split(" ")[1])
                .toList();
        double shared = 1 - (double) notShared.size() / loaded.size();
        assertThat(shared)
                .as(
                        "share of the %d classes loaded that came from the archive; loaded elsewhere, by package: %s."
                                + " If the proxy's code changed, write the list again: %s=1 mvn -B verify -pl e2e"
                                + " -Dtest=%s, and commit %s",
                        loaded.size(), byPackage(notShared), WRITE, getClass().getSimpleName(), CLASS_LIST)
                .isGreaterThanOrEqualTo(SHARED_AT_LEAST);
    }

    /**
     * Starts the proxy with {@code entrypoint} (its flags, with {@code extraFlags} before {@code -jar}) as the
     * operator's Deployment runs it, against a pool ConfigMap on an embedded API server; waits until ready, sends a
     * request through, asks the admin port what a Prometheus scrape and the operator ask, then stops it with SIGTERM.
     */
    private static void startAndServe(List<String> entrypoint, List<String> extraFlags, Path dir) throws Exception {
        try (EmbeddedApiServer api = new EmbeddedApiServer().start();
                TestBackend backend = TestBackend.start("a")) {
            LoadBalancer lb = Serialization.unmarshal("""
                    apiVersion: roundhouse.dev/v1alpha1
                    kind: LoadBalancer
                    metadata:
                      name: web
                      namespace: default
                    spec:
                      backends:
                        - url: %s
                    """.formatted(backend.url()), LoadBalancer.class);
            api.client()
                    .configMaps()
                    .inNamespace("default")
                    .resource(PoolConfigMaps.desired(
                            lb, PoolDocuments.render(PoolDocuments.fromSpec(lb.getSpec(), List.of()))))
                    .create();
            Container container = ProxyDeployments.desired(lb, "roundhouse-proxy:test")
                    .getSpec()
                    .getTemplate()
                    .getSpec()
                    .getContainers()
                    .get(0);
            Map<String, String> env = new TreeMap<>();
            for (EnvVar var : container.getEnv()) {
                env.put(var.getName(), var.getValue() != null ? var.getValue() : "default"); // POD_NAMESPACE
            }
            int port = LocalKubelet.freePort();
            int metricsPort = LocalKubelet.freePort();
            env.putAll(Map.of(
                    "PORT", String.valueOf(port),
                    "METRICS_PORT", String.valueOf(metricsPort),
                    "BIND_ADDRESS", "127.0.0.1",
                    "SHUTDOWN_DELAY", "0s",
                    "KUBECONFIG", api.writeKubeconfig(dir.resolve("kubeconfig")).toString()));
            // The container's memory limit, as the JVM would read it from the cgroup.
            Quantity limit = container.getResources().getLimits().get("memory");
            List<String> arguments = new ArrayList<>();
            arguments.add("-XX:MaxRAM=" + Quantity.getAmountInBytes(limit).longValueExact());
            arguments.addAll(extraFlags);
            arguments.addAll(entrypoint.subList(1, entrypoint.size()));

            Path log = dir.resolve("proxy-" + System.nanoTime() + ".log");
            ProxyProcess proxy = ProxyProcess.startWith(arguments, env, log);
            try {
                try {
                    await("proxy ready or gone")
                            .atMost(Duration.ofSeconds(60))
                            .pollInterval(Duration.ofMillis(50))
                            .until(() -> !proxy.isAlive() || proxy.ready());
                } catch (ConditionTimeoutException e) {
                    throw new AssertionError("proxy not ready after 60 s; log:\n" + Files.readString(log), e);
                }
                assertThat(proxy.isAlive())
                        .as("proxy running; log:%n%s", Files.readString(log))
                        .isTrue();
                assertThat(get(port, "/").body()).isEqualTo("a");
                assertThat(get(metricsPort, "/metrics").statusCode()).isEqualTo(200);
                assertThat(get(metricsPort, "/status").statusCode()).isEqualTo(200);
            } finally {
                proxy.stop(Duration.ofSeconds(30));
            }
            assertThat(proxy.exitCode())
                    .as("exit after SIGTERM; log:%n%s", Files.readString(log))
                    .isZero();
        }
    }

    private static HttpResponse<String> get(int port, String path) throws IOException, InterruptedException {
        return HTTP.send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                        .timeout(Duration.ofSeconds(5))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
    }

    /** The ten packages with the most of {@code classes}, with their counts. */
    private static String byPackage(List<String> classes) {
        return classes.stream()
                .collect(Collectors.groupingBy(
                        c -> c.contains(".") ? c.substring(0, c.lastIndexOf('.')) : c, Collectors.counting()))
                .entrySet()
                .stream()
                .sorted(Map.Entry.<String, Long>comparingByValue().reversed())
                .limit(10)
                .map(e -> e.getKey() + " " + e.getValue())
                .collect(Collectors.joining(", "));
    }

    /** What of the proxy's Dockerfile this test runs: its COPY lines, the dump step and the entry point. */
    private record Dockerfile(Map<String, String> copies, List<String> dump, List<String> entrypoint) {

        private static final String APP = "/app/";

        static Dockerfile read(Path file) throws IOException {
            Map<String, String> copies = new HashMap<>();
            List<String> dump = null;
            List<String> entrypoint = null;
            ObjectMapper json = new ObjectMapper();
            for (String line : Files.readAllLines(file)) {
                String[] parts = line.trim().split("\\s+", 2);
                switch (parts[0]) {
                    case "COPY" -> {
                        String[] paths = parts[1].split("\\s+");
                        copies.put(paths[0], paths[1]);
                    }
                    case "RUN" -> {
                        List<String> run = List.of(json.readValue(parts[1], String[].class));
                        if (run.contains("-Xshare:dump")) {
                            dump = run;
                        }
                    }
                    case "ENTRYPOINT" -> entrypoint = List.of(json.readValue(parts[1], String[].class));
                    default -> {}
                }
            }
            assertThat(dump).as("%s: a RUN step with -Xshare:dump", file).isNotNull();
            assertThat(entrypoint).as("%s: ENTRYPOINT", file).isNotNull();
            assertThat(entrypoint.get(0)).isEqualTo("java");
            assertThat(dump.get(0)).isEqualTo("java");
            return new Dockerfile(copies, dump, entrypoint);
        }

        /**
         * Copies what each COPY line copies from {@code context} into {@code app}, standing in for /app; each source
         * must be let through by the context's .dockerignore, which sends nothing else.
         */
        void layOut(Path context, Path app) throws IOException {
            List<String> sent = Files.readAllLines(context.resolve(".dockerignore")).stream()
                    .filter(line -> line.startsWith("!"))
                    .map(line -> line.substring(1))
                    .toList();
            for (Map.Entry<String, String> copy : copies.entrySet()) {
                assertThat(sent)
                        .as(".dockerignore lets %s into the build context", copy.getKey())
                        .contains(copy.getKey());
                assertThat(copy.getValue()).as("COPY destination").startsWith(APP);
                Path from = context.resolve(copy.getKey());
                Path to = app.resolve(copy.getValue().substring(APP.length()));
                if (Files.isDirectory(from)) {
                    try (Stream<Path> files = Files.walk(from)) {
                        for (Path f : files.filter(Files::isRegularFile).toList()) {
                            Path target = to.resolve(from.relativize(f).toString());
                            Files.createDirectories(target.getParent());
                            Files.copy(f, target);
                        }
                    }
                } else {
                    Files.createDirectories(to.getParent());
                    Files.copy(from, to);
                }
            }
        }

        /** The dump step with /app standing at {@code app}. */
        List<String> dumpCommand(Path app) {
            return dump.stream().map(a -> at(a, app)).toList();
        }

        /** Where the dump step reads its class list, relative to {@code app}. */
        String classListIn(Path app) {
            String flag = dump.stream()
                    .filter(a -> a.startsWith("-XX:SharedClassListFile="))
                    .findFirst()
                    .orElseThrow(() -> new AssertionError("the dump step names no class list"));
            return flag.substring(flag.indexOf(APP) + APP.length());
        }

        /** The entry point with /app standing at {@code app}; without its archive flag unless {@code shared}. */
        List<String> entrypoint(Path app, boolean shared) {
            return entrypoint.stream()
                    .filter(a -> shared || !a.startsWith("-XX:SharedArchiveFile="))
                    .map(a -> at(a, app))
                    .toList();
        }

        private static String at(String argument, Path app) {
            return argument.replace(APP, app.toAbsolutePath() + "/");
        }
    }
}
