package dev.roundhouse.e2e.observability;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * The chart's observability files (Grafana dashboard, Prometheus rules) and what the tests need around them:
 * their PromQL expressions, a parsed {@code /metrics} scrape, and running {@code promtool}.
 */
final class ObservabilityKit {

    /** Tests run in e2e/. */
    static final Path REPO = Path.of("..");

    static final Path DASHBOARD = REPO.resolve("charts/roundhouse/files/dashboards/roundhouse-proxy.json");
    static final Path RULES = REPO.resolve("charts/roundhouse/files/rules/roundhouse-proxy.rules.yaml");

    /** Labels Prometheus (or the Prometheus Operator) adds to every scraped series: never in /metrics. */
    static final java.util.Set<String> TARGET_LABELS =
            java.util.Set.of("namespace", "job", "instance", "pod", "service", "endpoint", "container");

    /** One PromQL expression and where it comes from (for messages). */
    record Query(String where, String expr, boolean variableQuery) {
        List<PromQl.Selector> selectors() {
            return variableQuery ? PromQl.variableQuerySelectors(expr) : PromQl.selectors(expr);
        }
    }

    private ObservabilityKit() {}

    static JsonNode dashboard() {
        try {
            return new ObjectMapper().readTree(DASHBOARD.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static JsonNode rules() {
        try {
            return new YAMLMapper().readTree(RULES.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Every panel, those inside collapsed rows included. */
    static List<JsonNode> panels(JsonNode dashboard) {
        List<JsonNode> out = new ArrayList<>();
        for (JsonNode panel : dashboard.path("panels")) {
            out.add(panel);
            panel.path("panels").forEach(out::add);
        }
        return out;
    }

    /** The panel queries and the query variables' queries of the dashboard. */
    static List<Query> dashboardQueries() {
        JsonNode dashboard = dashboard();
        List<Query> out = new ArrayList<>();
        for (JsonNode panel : panels(dashboard)) {
            for (JsonNode target : panel.path("targets")) {
                if (target.hasNonNull("expr")) {
                    out.add(new Query(
                            "panel '" + panel.path("title").asText() + "' query "
                                    + target.path("refId").asText(),
                            target.path("expr").asText(),
                            false));
                }
            }
        }
        for (JsonNode variable : dashboard.path("templating").path("list")) {
            if (variable.path("type").asText().equals("query")) {
                JsonNode query = variable.path("query");
                String text = query.isObject() ? query.path("query").asText() : query.asText();
                out.add(new Query("variable $" + variable.path("name").asText(), text, true));
            }
        }
        return out;
    }

    /** The expressions of every alerting and recording rule. */
    static List<Query> ruleQueries() {
        List<Query> out = new ArrayList<>();
        for (JsonNode group : rules().path("groups")) {
            for (JsonNode rule : group.path("rules")) {
                String name = rule.has("alert")
                        ? "alert " + rule.path("alert").asText()
                        : "record " + rule.path("record").asText();
                out.add(new Query(name, rule.path("expr").asText(), false));
            }
        }
        return out;
    }

    /** A Prometheus text-format scrape: metric name → the label sets of its samples. */
    static Map<String, List<Map<String, String>>> parseScrape(String text) {
        Map<String, List<Map<String, String>>> out = new LinkedHashMap<>();
        for (String line : text.split("\n")) {
            if (line.isBlank() || line.startsWith("#")) {
                continue;
            }
            int i = 0;
            while (i < line.length() && line.charAt(i) != '{' && line.charAt(i) != ' ') {
                i++;
            }
            String name = line.substring(0, i);
            Map<String, String> labels = new HashMap<>();
            if (i < line.length() && line.charAt(i) == '{') {
                i++;
                while (line.charAt(i) != '}') {
                    int eq = line.indexOf('=', i);
                    String label = line.substring(i, eq).trim();
                    StringBuilder value = new StringBuilder();
                    int j = eq + 2; // past ="
                    while (line.charAt(j) != '"') {
                        char c = line.charAt(j);
                        if (c == '\\') {
                            j++;
                            c = line.charAt(j) == 'n' ? '\n' : line.charAt(j);
                        }
                        value.append(c);
                        j++;
                    }
                    labels.put(label, value.toString());
                    i = j + 1;
                    if (line.charAt(i) == ',') {
                        i++;
                    }
                }
            }
            out.computeIfAbsent(name, k -> new ArrayList<>()).add(labels);
        }
        return out;
    }

    static Optional<Path> onPath(String binary) {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
            Path candidate = Path.of(dir.isEmpty() ? "." : dir, binary);
            if (Files.isExecutable(candidate)) {
                return Optional.of(candidate);
            }
        }
        return Optional.empty();
    }

    record Result(int exitCode, String output) {}

    /** Runs a command to its end (or fails the test after the timeout), output and errors together. */
    static Result run(Duration timeout, String... command) throws IOException, InterruptedException {
        Path log = Files.createTempFile("observability-", ".out");
        try {
            Process process = new ProcessBuilder(command)
                    .redirectErrorStream(true)
                    .redirectOutput(log.toFile())
                    .start();
            process.getOutputStream().close();
            if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                process.destroyForcibly();
                throw new AssertionError(String.join(" ", command) + " did not finish within " + timeout
                        + "; output so far:\n" + Files.readString(log));
            }
            return new Result(process.exitValue(), Files.readString(log, StandardCharsets.UTF_8));
        } finally {
            Files.deleteIfExists(log);
        }
    }
}
