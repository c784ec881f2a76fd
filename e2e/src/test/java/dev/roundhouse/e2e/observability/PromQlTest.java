package dev.roundhouse.e2e.observability;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.roundhouse.e2e.observability.PromQl.LabelMatcher;
import dev.roundhouse.e2e.observability.PromQl.Selector;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The PromQL reader the metric-name checks rely on: it must find every metric and nothing else. */
class PromQlTest {

    @Test
    void findsMetricsInsideFunctionsAggregationsAndBinaryOperators() {
        assertThat(PromQl.metricNames("""
                histogram_quantile(0.99, sum by (backend, le) (rate(a_bucket{job=~"$job"}[$__rate_interval])))
                / on (job) group_left (instance) sum without (status) (increase(b_total[5m] offset 1h))
                > bool 0.5 unless c or vector(0) and d @ start()""")).containsExactly("a_bucket", "b_total", "c", "d");
    }

    @Test
    void skipsLabelListsKeywordsStringsNumbersDurationsAndVariables() {
        // "le", "job", "status" and "backend" are label names, "x" and "y" live in strings, 1h30m is a duration.
        assertThat(PromQl.metricNames("""
                sum(rate(m1{status=~"5..", backend!="x y"}[1h30m])) by (job, le)
                + label_replace(m2, "dst", "$1", "src", "(.*)") * 1e3 - max_over_time(m3[10m:1m])
                # a comment naming not_a_metric
                + count_values("y", m4) + ${datasource} * $__range_s + [[legacy]]""")).containsExactly("m1", "m2", "m3", "m4");
    }

    @Test
    void readsMatchersAsWrittenVariablesIncluded() {
        assertThat(PromQl.selectors("up{job=~\"$job\", state='open', e!~`a\\\\b`} + {__name__=\"other\", x=\"1\"}"))
                .containsExactly(
                        new Selector(
                                "up",
                                List.of(
                                        new LabelMatcher("job", "=~", "$job"),
                                        new LabelMatcher("state", "=", "open"),
                                        new LabelMatcher("e", "!~", "a\\\\b"))),
                        new Selector(
                                "other",
                                List.of(new LabelMatcher("__name__", "=", "other"), new LabelMatcher("x", "=", "1"))));
    }

    @Test
    void grafanaVariableQueriesNameOnlyTheirSelector() {
        assertThat(PromQl.variableQuerySelectors("label_values(roundhouse_backends{namespace=~\"$namespace\"}, job)"))
                .extracting(Selector::metric)
                .containsExactly("roundhouse_backends");
        assertThat(PromQl.variableQuerySelectors("label_values(namespace)")).isEmpty();
        assertThat(PromQl.variableQuerySelectors("query_result(topk(5, sum by (backend) (x_total)))"))
                .extracting(Selector::metric)
                .containsExactly("x_total");
    }

    @Test
    void rejectsWhatItCannotRead() {
        assertThatThrownBy(() -> PromQl.selectors("m{job=\"unterminated}"))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> PromQl.selectors("rate(m[5m)")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> PromQl.selectors("m{job}")).isInstanceOf(IllegalArgumentException.class);
    }
}
