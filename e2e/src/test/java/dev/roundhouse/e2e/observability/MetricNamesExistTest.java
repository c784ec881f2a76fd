package dev.roundhouse.e2e.observability;

import static org.assertj.core.api.Assertions.assertThat;

import dev.roundhouse.e2e.observability.ObservabilityKit.Query;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Every metric the dashboard and the alert rules query exists in the /metrics of a real proxy, with the labels
 * and label values they select on: a renamed metric, a typo, {@code _total} forgotten or a histogram queried
 * without {@code _bucket} would make a panel or an alert silently empty.
 *
 * <p>The proxy runs in-process in front of a real backend and a stopped one, and has served successes, a
 * backend's 500s and its own 503s before the scrape, so the error series exist as they would in production.
 */
class MetricNamesExistTest {

    private static LiveProxy proxy;
    private static Map<String, List<Map<String, String>>> scrape;

    @BeforeAll
    static void scrapeARealProxy() throws Exception {
        proxy = new LiveProxy().withTraffic();
        // The traffic did what the checks below rely on: a success, a backend's 5xx and the proxy's own 503.
        assertThat(proxy.statuses()).containsKeys(200, 500, 503);
        scrape = ObservabilityKit.parseScrape(proxy.scrape());
        assertThat(scrape).containsKeys("roundhouse_requests_total", "roundhouse_errors_total");
    }

    @AfterAll
    static void stop() {
        if (proxy != null) {
            proxy.close();
        }
    }

    @Test
    void everyMetricTheDashboardQueriesIsInTheScrape() {
        List<Query> queries = ObservabilityKit.dashboardQueries();
        assertThat(metricsUsedBy(queries))
                .as("metrics the dashboard queries")
                .contains(
                        "roundhouse_requests_total",
                        "roundhouse_errors_total",
                        "roundhouse_request_duration_seconds_bucket",
                        "roundhouse_backends_healthy",
                        "roundhouse_backends",
                        "resilience4j_circuitbreaker_state",
                        "roundhouse_config_reloads_total",
                        "roundhouse_grpc_calls_total");
        assertThat(missing(queries))
                .as("selectors of the dashboard that match nothing a real proxy exports")
                .isEmpty();
    }

    @Test
    void everyMetricTheAlertRulesQueryIsInTheScrape() {
        List<Query> queries = ObservabilityKit.ruleQueries();
        assertThat(metricsUsedBy(queries))
                .as("metrics the alert rules query")
                .contains(
                        "roundhouse_backends_healthy",
                        "roundhouse_backends",
                        "resilience4j_circuitbreaker_state",
                        "roundhouse_requests_total",
                        "roundhouse_config_reloads_total");
        assertThat(missing(queries))
                .as("selectors of the rules that match nothing a real proxy exports")
                .isEmpty();
    }

    /** The check itself catches what it is meant to catch (so an empty result above means something). */
    @Test
    void theCheckReportsMissingMetricsLabelsAndValues() {
        List<Query> broken = List.of(
                new Query(
                        "histogram without _bucket",
                        "histogram_quantile(0.9, sum by (le) "
                                + "(rate(roundhouse_request_duration_seconds{job=~\"$job\"}[5m])))",
                        false),
                new Query("counter without _total", "rate(roundhouse_requests[5m])", false),
                new Query("label the metric does not have", "roundhouse_backends{backend=\"x\"}", false),
                new Query("value that never occurs", "resilience4j_circuitbreaker_state{state=\"half-open\"}", false),
                new Query("regex that matches no value", "roundhouse_requests_total{status=~\"6..\"}", false),
                new Query("variable query", "label_values(roundhouse_backend{namespace=~\"$namespace\"}, job)", true));
        assertThat(missing(broken)).hasSize(broken.size());
        List<Query> fine = List.of(
                new Query(
                        "fine",
                        "sum by (type) (rate(roundhouse_errors_total{type=\"connect\", job=~\"$job\"}[5m]))"
                                + " / on (job) group_left sum by (job) (rate(roundhouse_requests_total{status=~\"5..\"}[5m]))",
                        false),
                new Query("variable query", "label_values(roundhouse_backends{namespace=~\"$namespace\"}, job)", true));
        assertThat(missing(fine)).isEmpty();
    }

    private static Set<String> metricsUsedBy(List<Query> queries) {
        Set<String> names = new TreeSet<>();
        for (Query query : queries) {
            query.selectors().forEach(selector -> names.add(selector.metric()));
        }
        return names;
    }

    /** One line per selector that a real scrape could not satisfy, saying why. */
    private static List<String> missing(List<Query> queries) {
        List<String> problems = new ArrayList<>();
        for (Query query : queries) {
            List<PromQl.Selector> selectors = query.selectors();
            if (selectors.isEmpty()) {
                problems.add(query.where() + ": no metric found in " + query.expr());
            }
            for (PromQl.Selector selector : selectors) {
                problems.addAll(Stream.ofNullable(problem(selector))
                        .map(p -> query.where() + ": " + p)
                        .toList());
            }
        }
        return problems;
    }

    private static String problem(PromQl.Selector selector) {
        if (selector.metric() == null) {
            return "selector without a metric name: " + selector;
        }
        List<Map<String, String>> series = scrape.get(selector.metric());
        if (series == null) {
            return "no metric " + selector.metric() + " in /metrics";
        }
        for (PromQl.LabelMatcher m : selector.matchers()) {
            if (ObservabilityKit.TARGET_LABELS.contains(m.label())) {
                continue; // added by Prometheus at scrape time
            }
            if (series.stream().noneMatch(labels -> labels.containsKey(m.label()))) {
                return selector.metric() + " has no label " + m.label();
            }
            if (m.value().contains("$")) {
                continue; // a Grafana variable: its values come from the data
            }
            boolean matches = switch (m.op()) {
                case "=" -> series.stream().anyMatch(labels -> m.value().equals(labels.get(m.label())));
                case "=~" -> {
                    Pattern regex = Pattern.compile(m.value()); // PromQL regexes are anchored, as matches() is
                    yield series.stream()
                            .anyMatch(labels -> labels.containsKey(m.label())
                                    && regex.matcher(labels.get(m.label())).matches());
                }
                default -> true; // != and !~ select what is not there: only the label is checked
            };
            if (!matches) {
                return "no series " + selector.metric() + "{" + m.label() + m.op() + "\"" + m.value()
                        + "\"} in /metrics" + " (values there: "
                        + series.stream()
                                .map(l -> l.get(m.label()))
                                .filter(Objects::nonNull)
                                .distinct()
                                .sorted()
                                .toList()
                        + ")";
            }
        }
        return null;
    }
}
