package dev.roundhouse.operator.model;

import static dev.roundhouse.operator.model.TestLoadBalancers.assertOwnMetadata;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;

import dev.roundhouse.operator.api.v1alpha1.LoadBalancer;
import dev.roundhouse.operator.api.v1alpha1.MetricsSpec;
import dev.roundhouse.operator.api.v1alpha1.ServiceMonitorSpec;
import io.fabric8.kubernetes.api.model.ServicePort;
import io.fabric8.openshift.api.model.monitoring.v1.Endpoint;
import io.fabric8.openshift.api.model.monitoring.v1.ServiceMonitor;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

class ServiceMonitorsTest {

    private final LoadBalancer lb = TestLoadBalancers.web();

    @Test
    void defaults() {
        ServiceMonitor monitor = ServiceMonitors.desired(lb);

        assertThat(monitor.getApiVersion()).isEqualTo("monitoring.coreos.com/v1");
        assertThat(monitor.getKind()).isEqualTo("ServiceMonitor");
        assertOwnMetadata(monitor, lb, "web");
        assertThat(monitor.getMetadata().getLabels()).containsExactlyEntriesOf(Labels.all(lb));
        assertThat(monitor.getSpec().getSelector().getMatchLabels()).isEqualTo(Labels.metricsServiceSelector(lb));
        assertThat(monitor.getSpec().getEndpoints())
                .extracting(Endpoint::getPort, Endpoint::getPath, Endpoint::getInterval)
                .containsExactly(tuple("metrics", "/metrics", "30s"));
        assertThat(ServiceMonitors.enabled(lb)).isFalse();
    }

    @Test
    void intervalAndExtraLabelsFromTheSpecButOurLabelsWin() {
        ServiceMonitorSpec settings = new ServiceMonitorSpec();
        settings.setEnabled(true);
        settings.setInterval("15s");
        settings.setLabels(Map.of("release", "kube-prometheus", "app.kubernetes.io/instance", "spoof"));
        MetricsSpec metrics = new MetricsSpec();
        metrics.setServiceMonitor(settings);
        lb.getSpec().setMetrics(metrics);

        ServiceMonitor monitor = ServiceMonitors.desired(lb);

        Map<String, String> expected = new TreeMap<>(Labels.all(lb));
        expected.put("release", "kube-prometheus");
        assertThat(monitor.getMetadata().getLabels()).containsExactlyEntriesOf(expected);
        assertThat(monitor.getSpec().getEndpoints().get(0).getInterval()).isEqualTo("15s");
        assertThat(ServiceMonitors.enabled(lb)).isTrue();
    }

    @Test
    void scrapesTheMetricsPortOfThisLoadBalancersMetricsServiceOnly() {
        var metrics = ProxyServices.desiredMetrics(lb);
        ServiceMonitor monitor = ServiceMonitors.desired(lb);
        Map<String, String> selector = monitor.getSpec().getSelector().getMatchLabels();

        assertThat(metrics.getMetadata().getLabels()).containsAllEntriesOf(selector);
        assertThat(metrics.getSpec().getPorts())
                .extracting(ServicePort::getName)
                .containsExactly(monitor.getSpec().getEndpoints().get(0).getPort());
        // Not the traffic Service, and not another LoadBalancer's metrics Service.
        assertThat(matches(ProxyServices.desired(lb).getMetadata().getLabels(), selector))
                .isFalse();
        assertThat(matches(
                        ProxyServices.desiredMetrics(TestLoadBalancers.named("api"))
                                .getMetadata()
                                .getLabels(),
                        selector))
                .isFalse();
    }

    private static boolean matches(Map<String, String> labels, Map<String, String> selector) {
        return labels.entrySet().containsAll(selector.entrySet());
    }
}
