package dev.roundhouse.operator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.roundhouse.operator.api.v1alpha1.BackendSpec;
import dev.roundhouse.operator.api.v1alpha1.LoadBalancer;
import dev.roundhouse.operator.api.v1alpha1.LoadBalancerSpec;
import dev.roundhouse.testing.apiserver.EmbeddedApiServer;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Two operators in one JVM (as tests and the local mode run them) each write their own settings into what they
 * create: the settings reach the dependents through each reconcile, not a static the last one started overwrites.
 */
class TwoOperatorsInOneJvmTest {

    private static final Path CRD = Path.of("..", "crds", "loadbalancers.roundhouse.dev-v1.yml");

    @Test
    void eachOperatorsProxiesRunItsOwnDefaultImage() throws Exception {
        try (EmbeddedApiServer first = new EmbeddedApiServer().start();
                EmbeddedApiServer second = new EmbeddedApiServer().start()) {
            first.applyCrds(CRD);
            second.applyCrds(CRD);
            try (RoundhouseOperator a = RoundhouseOperator.start(
                            new OperatorSettings(Set.of(), "example.org/first/proxy:1", "info", 0, false, "default"),
                            first.newClient());
                    RoundhouseOperator b = RoundhouseOperator.start(
                            new OperatorSettings(Set.of(), "example.org/second/proxy:2", "info", 0, false, "default"),
                            second.newClient())) {
                first.client().resource(loadBalancer()).create();
                second.client().resource(loadBalancer()).create();

                assertThat(proxyImage(first)).isEqualTo("example.org/first/proxy:1");
                assertThat(proxyImage(second)).isEqualTo("example.org/second/proxy:2");
            }
        }
    }

    private static LoadBalancer loadBalancer() {
        LoadBalancer lb = new LoadBalancer();
        lb.setMetadata(
                new ObjectMetaBuilder().withName("web").withNamespace("default").build());
        lb.setSpec(new LoadBalancerSpec());
        BackendSpec backend = new BackendSpec();
        backend.setUrl("http://10.9.0.1:8080");
        lb.getSpec().setBackends(List.of(backend));
        return lb;
    }

    private static String proxyImage(EmbeddedApiServer api) {
        var deployments = api.client().apps().deployments().inNamespace("default");
        Deployment deployment = await("web-proxy")
                .atMost(Duration.ofSeconds(30))
                .pollInterval(Duration.ofMillis(100))
                .until(() -> deployments.withName("web-proxy").get(), d -> d != null);
        return deployment
                .getSpec()
                .getTemplate()
                .getSpec()
                .getContainers()
                .get(0)
                .getImage();
    }
}
