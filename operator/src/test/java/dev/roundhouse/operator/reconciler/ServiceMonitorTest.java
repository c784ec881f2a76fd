package dev.roundhouse.operator.reconciler;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.roundhouse.operator.OperatorSettings;
import dev.roundhouse.operator.RoundhouseOperator;
import dev.roundhouse.operator.api.v1alpha1.BackendSpec;
import dev.roundhouse.operator.api.v1alpha1.LoadBalancer;
import dev.roundhouse.operator.api.v1alpha1.LoadBalancerSpec;
import dev.roundhouse.operator.api.v1alpha1.MetricsSpec;
import dev.roundhouse.operator.api.v1alpha1.ServiceMonitorSpec;
import dev.roundhouse.testing.apiserver.EmbeddedApiServer;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.fabric8.openshift.api.model.monitoring.v1.ServiceMonitor;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Where the Prometheus Operator is installed, a LoadBalancer can ask for a ServiceMonitor. */
class ServiceMonitorTest {

    @Test
    void aServiceMonitorFollowsTheSpecWhereItsCrdExists() throws Exception {
        try (EmbeddedApiServer api = new EmbeddedApiServer().start()) {
            api.applyCrds(
                    Path.of("..", "crds", "loadbalancers.roundhouse.dev-v1.yml"),
                    Path.of("src", "test", "resources", "crds", "servicemonitors.monitoring.coreos.com-v1.yml"));
            try (RoundhouseOperator ignored = RoundhouseOperator.start(
                    new OperatorSettings(Set.of(), "example.org/proxy:1", "info", 0, false, "default"),
                    api.newClient())) {
                LoadBalancer lb = new LoadBalancer();
                lb.setMetadata(new ObjectMetaBuilder()
                        .withName("scraped")
                        .withNamespace("default")
                        .build());
                lb.setSpec(new LoadBalancerSpec());
                BackendSpec backend = new BackendSpec();
                backend.setUrl("http://10.9.0.1:8080");
                lb.getSpec().setBackends(List.of(backend));
                ServiceMonitorSpec sm = new ServiceMonitorSpec();
                sm.setEnabled(true);
                sm.setInterval("15s");
                sm.setLabels(Map.of("release", "prometheus"));
                MetricsSpec metrics = new MetricsSpec();
                metrics.setServiceMonitor(sm);
                lb.getSpec().setMetrics(metrics);
                api.client().resource(lb).create();

                var monitors = api.client().resources(ServiceMonitor.class).inNamespace("default");
                await().atMost(Duration.ofSeconds(20))
                        .until(() -> monitors.withName("scraped").get() != null);
                ServiceMonitor monitor = monitors.withName("scraped").get();
                assertThat(monitor.getMetadata().getLabels()).containsEntry("release", "prometheus");
                assertThat(monitor.getSpec().getEndpoints()).singleElement().satisfies(e -> {
                    assertThat(e.getPort()).isEqualTo("metrics");
                    assertThat(e.getInterval()).isEqualTo("15s");
                });
                assertThat(monitor.getSpec().getSelector().getMatchLabels())
                        .containsEntry("app.kubernetes.io/instance", "scraped");

                // As `kubectl patch --type=merge` does: no resourceVersion, so the operator's status writes in
                // between cannot make it fail with a conflict.
                api.client()
                        .resources(LoadBalancer.class)
                        .inNamespace("default")
                        .withName("scraped")
                        .patch(
                                PatchContext.of(PatchType.JSON_MERGE),
                                "{\"spec\":{\"metrics\":{\"serviceMonitor\":{\"enabled\":false}}}}");
                await().atMost(Duration.ofSeconds(20))
                        .until(() -> monitors.withName("scraped").get() == null);
            }
        }
    }
}
