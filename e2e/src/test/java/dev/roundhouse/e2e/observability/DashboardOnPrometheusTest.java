package dev.roundhouse.e2e.observability;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.roundhouse.e2e.observability.ObservabilityKit.Query;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The dashboard against real data: a real Prometheus (Debian's {@code prometheus}) scrapes a real proxy with the
 * target labels a ServiceMonitor gives (namespace, job, instance); the variable queries list that proxy, and every
 * panel query, run as Grafana runs it with "All" selected, returns at least one series with a number. A query that
 * divides series that never match, groups by a label the metric lacks or filters a value that does not occur
 * comes back empty and fails here.
 */
class DashboardOnPrometheusTest {

    private static final String NAMESPACE = "observability-test";
    private static final String JOB = "shop";
    private static final Duration DEADLINE = Duration.ofSeconds(60);
    private static final Pattern LABEL_VALUES = Pattern.compile("(?s)^\\s*label_values\\((.*),\\s*(\\w+)\\s*\\)\\s*$");

    private final HttpClient http =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final ObjectMapper json = new ObjectMapper();
    private int webPort;

    @Test
    void everyVariableAndPanelQueryReturnsData(@TempDir Path dir) throws Exception {
        Path prometheus = ObservabilityKit.onPath("prometheus").orElse(null);
        assumeTrue(
                prometheus != null,
                "prometheus is not installed (Debian package prometheus; .ci/run installs it): "
                        + "skipping the dashboard-against-a-real-Prometheus test");
        try (LiveProxy proxy = new LiveProxy()) {
            webPort = freePort();
            Path config = Files.writeString(
                    dir.resolve("prometheus.yml"), """
                    global:
                      scrape_interval: 1s
                      scrape_timeout: 1s
                    scrape_configs:
                      - job_name: %s
                        static_configs:
                          - targets: ['127.0.0.1:%d']
                            labels:
                              namespace: %s
                    """.formatted(JOB, proxy.metricsPort(), NAMESPACE));
            Process server = new ProcessBuilder(
                            prometheus.toString(),
                            "--config.file=" + config,
                            "--storage.tsdb.path=" + dir.resolve("data"),
                            "--web.listen-address=127.0.0.1:" + webPort)
                    .redirectErrorStream(true)
                    .redirectOutput(dir.resolve("prometheus.log").toFile())
                    .start();
            try {
                // Series must exist in Prometheus before the traffic that rate() and increase() are to see: a
                // counter's first sample is a start, not an increase. So: traffic, a scrape of it, more traffic.
                proxy.withTraffic();
                awaitNonEmpty("roundhouse_errors_total{job=\"" + JOB + "\"}");
                proxy.withTraffic();

                String instance = "127.0.0.1:" + proxy.metricsPort();
                Map<String, Set<String>> variables = variableValues();
                assertThat(variables)
                        .containsEntry("namespace", Set.of(NAMESPACE))
                        .containsEntry("job", Set.of(JOB))
                        .containsEntry("instance", Set.of(instance));
                assertThat(variables.get("backend")).contains(proxy.liveUrl());

                List<Query> panelQueries = ObservabilityKit.dashboardQueries().stream()
                        .filter(q -> !q.variableQuery())
                        .toList();
                Awaitility.await("every panel query returns data")
                        .atMost(DEADLINE)
                        .pollInterval(Duration.ofMillis(500))
                        .untilAsserted(() -> assertThat(withoutData(panelQueries))
                                .as("panel queries without data (Prometheus log: %s)", dir.resolve("prometheus.log"))
                                .isEmpty());
            } finally {
                server.destroy();
                if (!server.waitFor(20, TimeUnit.SECONDS)) {
                    server.destroyForcibly();
                }
            }
        }
    }

    /** Each query variable's values, as Grafana's label_values() finds them. */
    private Map<String, Set<String>> variableValues() throws Exception {
        Map<String, Set<String>> out = new TreeMap<>();
        for (Query query : ObservabilityKit.dashboardQueries()) {
            if (!query.variableQuery()) {
                continue;
            }
            Matcher m = LABEL_VALUES.matcher(query.expr());
            assertThat(m.matches())
                    .as(query.where() + " is label_values(selector, label)")
                    .isTrue();
            String selector = DashboardTest.asPromQl(new Query(query.where(), m.group(1), false));
            // No start/end: all the data (a whole-second "now" as end could miss a sample scraped a moment ago).
            JsonNode series = get("/api/v1/series?match[]=" + encode(selector));
            assertThat(series.path("status").asText())
                    .as("series of %s: %s", selector, series)
                    .isEqualTo("success");
            Set<String> values = new TreeSet<>();
            series.path("data").forEach(labels -> {
                if (labels.hasNonNull(m.group(2))) {
                    values.add(labels.path(m.group(2)).asText());
                }
            });
            out.put(query.where().replace("variable $", ""), values);
        }
        return out;
    }

    /** The queries (where → PromQL as sent) whose result holds no number. */
    private Map<String, String> withoutData(List<Query> queries) throws InterruptedException {
        Map<String, String> empty = new TreeMap<>();
        for (Query query : queries) {
            String promql = DashboardTest.asPromQl(query);
            if (!hasANumber(query(promql))) {
                empty.put(query.where(), promql);
            }
        }
        return empty;
    }

    private void awaitNonEmpty(String promql) {
        Awaitility.await("a result for " + promql)
                .atMost(DEADLINE)
                .pollInterval(Duration.ofMillis(250))
                .until(() -> {
                    JsonNode data = query(promql);
                    return data != null && data.path("result").size() > 0;
                });
    }

    /** The query's data, or null while Prometheus is not up yet. */
    private JsonNode query(String promql) throws InterruptedException {
        try {
            JsonNode body = get("/api/v1/query?query=" + encode(promql));
            if (!body.path("status").asText().equals("success")) {
                throw new AssertionError("Prometheus rejected " + promql + ": " + body);
            }
            return body.path("data");
        } catch (IOException e) {
            return null; // not listening yet
        }
    }

    private static boolean hasANumber(JsonNode data) {
        if (data == null) {
            return false;
        }
        List<String> values = new ArrayList<>();
        if (data.path("resultType").asText().equals("scalar")) {
            values.add(data.path("result").get(1).asText());
        } else {
            data.path("result")
                    .forEach(series -> values.add(series.path("value").get(1).asText()));
        }
        return values.stream().anyMatch(v -> Double.isFinite(Double.parseDouble(v)));
    }

    private JsonNode get(String pathAndQuery) throws IOException, InterruptedException {
        HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + webPort + pathAndQuery))
                .timeout(Duration.ofSeconds(10))
                .build();
        return json.readTree(
                http.send(request, HttpResponse.BodyHandlers.ofString()).body());
    }

    private static String encode(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }
}
