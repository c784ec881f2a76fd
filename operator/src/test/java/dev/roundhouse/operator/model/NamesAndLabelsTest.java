package dev.roundhouse.operator.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.roundhouse.operator.api.v1alpha1.LoadBalancer;
import java.util.Map;
import org.junit.jupiter.api.Test;

class NamesAndLabelsTest {

    private final LoadBalancer lb = TestLoadBalancers.web();

    @Test
    void namesDeriveFromTheLoadBalancer() {
        assertThat(Names.poolConfigMap(lb)).isEqualTo("web-pool");
        assertThat(Names.deployment(lb)).isEqualTo("web-proxy");
        assertThat(Names.service(lb)).isEqualTo("web");
        assertThat(Names.metricsService(lb)).isEqualTo("web-metrics");
        assertThat(Names.disruptionBudget(lb)).isEqualTo("web-proxy");
        assertThat(Names.serviceAccount(lb)).isEqualTo("web-proxy");
        assertThat(Names.role(lb)).isEqualTo("web-proxy");
        assertThat(Names.roleBinding(lb)).isEqualTo("web-proxy");
        assertThat(Names.serviceMonitor(lb)).isEqualTo("web");
        assertThat(Names.POOL_KEY).isEqualTo("pool.json");
        assertThat(Names.HTTP_PORT_NAME).isEqualTo("http");
        assertThat(Names.METRICS_PORT_NAME).isEqualTo("metrics");
        assertThat(Names.METRICS_PORT).isEqualTo(9090);
    }

    @Test
    void aMetricsServiceNameStaysADns1035LabelForTheLongestLoadBalancerNames() {
        String longest = "a" + "-b".repeat(30) + "c"; // 63 characters, as long as the CRD allows
        String other = "a" + "-b".repeat(30) + "d";

        String name = Names.metricsService(TestLoadBalancers.named(longest));

        assertThat(name)
                .hasSizeLessThanOrEqualTo(63)
                .matches("[a-z]([-a-z0-9]*[a-z0-9])?")
                .endsWith("-metrics");
        assertThat(name).isNotEqualTo(Names.metricsService(TestLoadBalancers.named(other)));
        assertThat(Names.metricsService(TestLoadBalancers.named("x".repeat(55))))
                .isEqualTo("x".repeat(55) + "-metrics");
    }

    @Test
    void selectorPicksOneLoadBalancersProxies() {
        assertThat(Labels.selector(lb))
                .containsExactly(
                        Map.entry("app.kubernetes.io/instance", "web"),
                        Map.entry("app.kubernetes.io/name", "roundhouse-proxy"));
    }

    @Test
    void allLabelsAreTheSelectorPlusDescriptiveOnesInSortedOrder() {
        assertThat(Labels.all(lb))
                .containsExactly(
                        Map.entry("app.kubernetes.io/component", "load-balancer"),
                        Map.entry("app.kubernetes.io/instance", "web"),
                        Map.entry("app.kubernetes.io/managed-by", "roundhouse-operator"),
                        Map.entry("app.kubernetes.io/name", "roundhouse-proxy"),
                        Map.entry("app.kubernetes.io/part-of", "roundhouse"));
        assertThat(Labels.all(lb)).containsAllEntriesOf(Labels.selector(lb));
    }

    @Test
    void labelMapsCannotBeChangedByTheirUsers() {
        assertThatThrownBy(() -> Labels.all(lb).put("x", "y")).isInstanceOf(UnsupportedOperationException.class);
    }
}
