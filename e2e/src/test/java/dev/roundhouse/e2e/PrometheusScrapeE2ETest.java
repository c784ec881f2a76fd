package dev.roundhouse.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.roundhouse.e2e.local.LocalCluster;
import dev.roundhouse.e2e.local.LocalKubelet.RunningProxy;
import dev.roundhouse.e2e.testing.Cluster;
import dev.roundhouse.e2e.testing.SharedCluster;
import dev.roundhouse.testing.TestBackend;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * 4. A real Prometheus (Debian's {@code prometheus}, installed by {@code .ci/run}) scrapes the proxy's metrics
 * port; PromQL over its HTTP API returns the request counter of each backend; {@code promtool} accepts the output.
 */
@ExtendWith(SharedCluster.class)
class PrometheusScrapeE2ETest {

    private final List<TestBackend> backends =
            List.of(TestBackend.start("backend-a"), TestBackend.start("backend-b"), TestBackend.start("backend-c"));
    private final Cluster cluster;

    PrometheusScrapeE2ETest(LocalCluster local) {
        cluster = new Cluster(local, "e2e-prometheus");
    }

    @AfterEach
    void cleanUp() {
        cluster.deleteLoadBalancers();
        backends.forEach(TestBackend::close);
    }

    @Test
    void prometheusScrapesTheRequestCounterOfEachBackend(@TempDir Path dir) throws Exception {
        Path prometheus = onPath("prometheus");
        assumeTrue(
                prometheus != null,
                "prometheus is not installed (Debian package prometheus; .ci/run installs it): "
                        + "skipping the real-scrape test");
        RunningProxy proxy = readyProxy();
        for (int i = 0; i < 30; i++) {
            assertThat(Cluster.get(Cluster.uri(proxy, "/")).statusCode()).isEqualTo(200);
        }

        int webPort = freePort();
        Path config = Files.writeString(dir.resolve("prometheus.yml"), """
                global:
                  scrape_interval: 1s
                  scrape_timeout: 1s
                scrape_configs:
                  - job_name: roundhouse-proxy
                    static_configs:
                      - targets: ['127.0.0.1:%d']
                """.formatted(proxy.metricsPort()));
        Process server = new ProcessBuilder(
                        prometheus.toString(),
                        "--config.file=" + config,
                        "--storage.tsdb.path=" + dir.resolve("data"),
                        "--web.listen-address=127.0.0.1:" + webPort)
                .redirectErrorStream(true)
                .redirectOutput(dir.resolve("prometheus.log").toFile())
                .start();
        try {
            String query = "sum by (backend) (roundhouse_requests_total{job=\"roundhouse-proxy\"})";
            URI uri = URI.create("http://127.0.0.1:" + webPort + "/api/v1/query?query="
                    + URLEncoder.encode(query, StandardCharsets.UTF_8));
            Map<String, Double> perBackend = new TreeMap<>();
            Awaitility.await("a scrape with every backend's counter")
                    .atMost(Duration.ofSeconds(60))
                    .pollInterval(Duration.ofMillis(500))
                    .ignoreExceptions()
                    .until(() -> {
                        perBackend.clear();
                        JsonNode body =
                                new ObjectMapper().readTree(Cluster.get(uri).body());
                        for (JsonNode series : body.path("data").path("result")) {
                            perBackend.put(
                                    series.path("metric").path("backend").asText(),
                                    Double.parseDouble(
                                            series.path("value").get(1).asText()));
                        }
                        return perBackend.size() == 3;
                    });
            assertThat(perBackend)
                    .containsOnlyKeys(backends.stream().map(TestBackend::url).toList());
            assertThat(perBackend.values())
                    .allSatisfy(count -> assertThat(count).isEqualTo(10.0));
        } finally {
            server.destroy();
            if (!server.waitFor(20, TimeUnit.SECONDS)) {
                server.destroyForcibly();
            }
        }
    }

    @Test
    void promtoolAcceptsTheProxyMetrics(@TempDir Path dir) throws Exception {
        Path promtool = onPath("promtool");
        assumeTrue(promtool != null, "promtool is not installed (Debian package prometheus): skipping");
        RunningProxy proxy = readyProxy();
        assertThat(Cluster.get(Cluster.uri(proxy, "/")).statusCode()).isEqualTo(200);
        Path scrape = Files.writeString(dir.resolve("scrape.txt"), Cluster.metrics(proxy));

        Process check = new ProcessBuilder(promtool.toString(), "check", "metrics")
                .redirectErrorStream(true)
                .redirectInput(scrape.toFile())
                .start();
        String output = new String(check.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(check.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(check.exitValue())
                .as("promtool check metrics said:\n%s", output)
                .isZero();
    }

    private RunningProxy readyProxy() {
        cluster.applyOrFail(Cluster.sample(backends));
        cluster.awaitReady("demo");
        return cluster.awaitProxy("demo");
    }

    private static Path onPath(String binary) {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
            Path candidate = Path.of(dir, binary);
            if (Files.isExecutable(candidate)) {
                return candidate;
            }
        }
        return null;
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }
}
