package dev.roundhouse.e2e.observability;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.roundhouse.e2e.observability.ObservabilityKit.Query;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Predicate;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The proxy's Grafana dashboard (charts/roundhouse/files/dashboards/roundhouse-proxy.json): importable anywhere
 * (a data source variable, no fixed data source UID), filtered by the namespace / job / instance variables
 * everywhere, laid out without overlaps, covering what the issue asks for, and every query valid PromQL for
 * Prometheus' own parser (through {@code promtool check rules}).
 */
class DashboardTest {

    private static final String DATASOURCE = "${datasource}";
    private static final Set<String> FILTER_VARIABLES = Set.of("namespace", "job", "instance");

    private final JsonNode dashboard = ObservabilityKit.dashboard();

    @Test
    void identityAndSchema() {
        assertThat(dashboard.path("uid").asText()).isEqualTo("roundhouse-proxy");
        assertThat(dashboard.path("title").asText()).isEqualTo("Roundhouse proxy");
        assertThat(dashboard.path("schemaVersion").asInt()).isBetween(39, 41);
        // Provisioned or imported, Grafana gives it its own id.
        assertThat(dashboard.path("id").isNull()).isTrue();
    }

    @Test
    void aPrometheusDataSourceVariableAndFilterVariablesThatUseIt() {
        Map<String, JsonNode> variables = new TreeMap<>();
        dashboard
                .path("templating")
                .path("list")
                .forEach(v -> variables.put(v.path("name").asText(), v));
        assertThat(variables).containsKeys("datasource", "namespace", "job", "instance", "backend");
        JsonNode datasource = variables.get("datasource");
        assertThat(datasource.path("type").asText()).isEqualTo("datasource");
        assertThat(datasource.path("query").asText()).isEqualTo("prometheus");
        for (String name : List.of("namespace", "job", "instance", "backend")) {
            JsonNode v = variables.get(name);
            assertThat(v.path("type").asText()).as(name).isEqualTo("query");
            assertThat(v.path("datasource").path("uid").asText()).as(name).isEqualTo(DATASOURCE);
            assertThat(v.path("includeAll").asBoolean()).as(name).isTrue();
            assertThat(v.path("allValue").asText())
                    .as(name + ": 'All' must be a regex for =~")
                    .isEqualTo(".*");
        }
        // Each filter narrows the next one's choices.
        assertThat(variables.get("job").path("definition").asText()).contains("namespace=~\"$namespace\"");
        assertThat(variables.get("instance").path("definition").asText())
                .contains("namespace=~\"$namespace\"", "job=~\"$job\"");
    }

    @Test
    void everyPanelAndQueryUsesTheDataSourceVariable() {
        List<String> problems = new ArrayList<>();
        for (JsonNode panel : ObservabilityKit.panels(dashboard)) {
            if (panel.path("type").asText().equals("row")) {
                continue;
            }
            String title = panel.path("title").asText();
            if (!panel.path("datasource").path("uid").asText().equals(DATASOURCE)) {
                problems.add(title + ": panel data source " + panel.path("datasource"));
            }
            if (panel.path("targets").isEmpty()) {
                problems.add(title + ": no query");
            }
            for (JsonNode target : panel.path("targets")) {
                if (!target.path("datasource").path("uid").asText().equals(DATASOURCE)) {
                    problems.add(
                            title + " " + target.path("refId").asText() + ": data source " + target.path("datasource"));
                }
            }
        }
        assertThat(problems).isEmpty();
    }

    @Test
    void everySelectorIsFilteredByNamespaceJobAndInstance() {
        List<String> unfiltered = new ArrayList<>();
        for (Query query : ObservabilityKit.dashboardQueries()) {
            if (query.variableQuery()) {
                continue; // they build the filters
            }
            for (PromQl.Selector selector : query.selectors()) {
                Set<String> filtered = new HashSet<>();
                for (PromQl.LabelMatcher m : selector.matchers()) {
                    if (m.op().equals("=~") && m.value().equals("$" + m.label())) {
                        filtered.add(m.label());
                    }
                }
                if (!filtered.containsAll(FILTER_VARIABLES)) {
                    unfiltered.add(query.where() + ": " + selector.metric() + " lacks a filter on "
                            + FILTER_VARIABLES.stream()
                                    .filter(v -> !filtered.contains(v))
                                    .sorted()
                                    .toList());
                }
            }
        }
        assertThat(unfiltered).isEmpty();
    }

    @Test
    void panelsHaveUniqueIdsAndDoNotOverlap() {
        List<JsonNode> panels = ObservabilityKit.panels(dashboard);
        assertThat(panels.stream().map(p -> p.path("id").asInt()).distinct().count())
                .isEqualTo(panels.size());
        List<String> problems = new ArrayList<>();
        for (int i = 0; i < panels.size(); i++) {
            JsonNode a = panels.get(i).path("gridPos");
            if (a.path("x").asInt() + a.path("w").asInt() > 24
                    || a.path("w").asInt() < 1
                    || a.path("h").asInt() < 1) {
                problems.add(panels.get(i).path("title").asText() + ": outside the 24 columns " + a);
            }
            for (int j = i + 1; j < panels.size(); j++) {
                JsonNode b = panels.get(j).path("gridPos");
                boolean overlap =
                        a.path("x").asInt() < b.path("x").asInt() + b.path("w").asInt()
                                && b.path("x").asInt()
                                        < a.path("x").asInt() + a.path("w").asInt()
                                && a.path("y").asInt()
                                        < b.path("y").asInt() + b.path("h").asInt()
                                && b.path("y").asInt()
                                        < a.path("y").asInt() + a.path("h").asInt();
                if (overlap) {
                    problems.add(panels.get(i).path("title").asText() + " overlaps "
                            + panels.get(j).path("title").asText());
                }
            }
        }
        assertThat(problems).isEmpty();
    }

    @Test
    void panelsForWhatTheIssueAsksFor() {
        Map<String, Predicate<String>> wanted = new TreeMap<>(Map.of(
                "request rate", e -> e.contains("rate(roundhouse_requests_total{"),
                "5xx ratio", e -> e.contains("status=~\"5..\"") && e.contains("/"),
                "errors by type",
                        e -> e.matches("(?s).*by \\([^)]*type[^)]*\\) \\(rate\\(roundhouse_errors_total\\{.*"),
                "latency percentiles per backend",
                        e -> e.contains("histogram_quantile(")
                                && e.contains("by (backend, le)")
                                && e.contains("roundhouse_request_duration_seconds_bucket{"),
                "healthy backends", e -> e.contains("roundhouse_backends_healthy{"),
                "backends in the pool", e -> e.contains("roundhouse_backends{"),
                "breaker state", e -> e.contains("resilience4j_circuitbreaker_state{"),
                "config reloads", e -> e.contains("roundhouse_config_reloads_total{"),
                "gRPC calls by status", e -> e.contains("sum by (grpc_status) (rate(roundhouse_grpc_calls_total{"),
                "gRPC failure ratio by backend",
                        e -> e.contains("by (backend) (rate(roundhouse_grpc_calls_total{") && e.contains("/")));
        List<String> panelExpressions = ObservabilityKit.dashboardQueries().stream()
                .filter(q -> !q.variableQuery())
                .map(Query::expr)
                .toList();
        wanted.forEach((what, test) -> assertThat(panelExpressions).as(what).anyMatch(test));
        // The latency panel shows several percentiles, not just one.
        assertThat(panelExpressions.stream()
                        .filter(e -> e.contains("histogram_quantile(") && e.contains("by (backend, le)"))
                        .map(e -> e.replaceAll("(?s).*histogram_quantile\\(([0-9.]+),.*", "$1"))
                        .distinct())
                .containsExactlyInAnyOrder("0.5", "0.9", "0.99");
    }

    /** Prometheus' own parser reads every query, Grafana's variables replaced as Grafana would. */
    @Test
    void promtoolParsesEveryQuery(@TempDir Path dir) throws Exception {
        Path promtool = AlertRulesTest.promtool();
        StringBuilder rules = new StringBuilder("groups:\n  - name: dashboard-queries\n    rules:\n");
        List<Query> queries = ObservabilityKit.dashboardQueries();
        for (int i = 0; i < queries.size(); i++) {
            rules.append("      - record: dashboard:query_").append(i).append("\n        expr: |\n");
            for (String line : asPromQl(queries.get(i)).split("\n")) {
                rules.append("          ").append(line).append("\n");
            }
        }
        Path file = Files.writeString(dir.resolve("dashboard-queries.rules.yaml"), rules);
        ObservabilityKit.Result check =
                ObservabilityKit.run(Duration.ofSeconds(60), promtool.toString(), "check", "rules", file.toString());
        assertThat(check.exitCode())
                .as("promtool check rules on the dashboard's queries said:\n%s\nfor:\n%s", check.output(), rules)
                .isZero();
        assertThat(check.output()).contains("SUCCESS: " + queries.size() + " rules found");
    }

    private static final Pattern LABEL_VALUES = Pattern.compile("(?s)^\\s*label_values\\((.*),\\s*\\w+\\s*\\)\\s*$");

    /** A query as Grafana sends it: ranges for the interval variables, "All" ({@code .*}) for the others. */
    static String asPromQl(Query query) {
        String expr = query.expr();
        if (query.variableQuery()) {
            expr = LABEL_VALUES.matcher(expr).replaceFirst("$1");
        }
        return expr.replace("$__rate_interval", "1m")
                .replace("$__interval", "15s")
                .replace("$__range_s", "3600")
                .replace("$__range", "1h")
                .replaceAll("\\$\\{?\\w+}?", ".*");
    }
}
