package dev.roundhouse.bench;

import static org.assertj.core.api.Assertions.assertThat;

import dev.roundhouse.bench.scale.WriteTally;
import dev.roundhouse.testing.apiserver.EmbeddedApiServer;
import dev.roundhouse.testing.apiserver.Write;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** How the scale benchmark names, attributes and counts API writes, and its percentiles. */
class ScaleWriteTallyTest {

    @Test
    void writesAreNamedByResourceSubresourceAndVerb() {
        assertThat(WriteTally.describe(new Write(
                        "PATCH",
                        "/api/v1/namespaces/default/configmaps/lb-0001-pool?fieldManager=loadbalancer&force=true",
                        "application/apply-patch+yaml")))
                .isEqualTo("configmaps apply");
        assertThat(WriteTally.describe(new Write(
                        "PATCH",
                        "/apis/roundhouse.dev/v1alpha1/namespaces/default/loadbalancers/lb-0001/status?fieldManager=x",
                        "application/apply-patch+yaml")))
                .isEqualTo("loadbalancers/status apply");
        assertThat(WriteTally.describe(new Write(
                        "POST", "/apis/roundhouse.dev/v1alpha1/namespaces/default/loadbalancers", "application/json")))
                .isEqualTo("loadbalancers create");
        assertThat(WriteTally.describe(new Write(
                        "PATCH",
                        "/apis/apps/v1/namespaces/default/deployments/lb-0001-proxy/status",
                        "application/merge-patch+json")))
                .isEqualTo("deployments/status merge-patch");
        assertThat(WriteTally.describe(new Write("PUT", "/api/v1/namespaces/default/events/x", "application/json")))
                .isEqualTo("events update");
        assertThat(WriteTally.describe(
                        new Write("DELETE", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/x", null)))
                .isEqualTo("customresourcedefinitions delete");
        assertThat(WriteTally.describe(new Write(
                        "PATCH", "/api/v1/namespaces/default/services/web", "application/strategic-merge-patch+json")))
                .isEqualTo("services strategic-merge-patch");
        assertThat(WriteTally.describe(new Write("PATCH", "/api/v1/namespaces/default/services/web", null)))
                .isEqualTo("services json-patch");
    }

    @Test
    void theBenchWritesOnlyLoadBalancerCreatesAndDeploymentStatus() {
        assertThat(WriteTally.writer(new Write(
                        "POST", "/apis/roundhouse.dev/v1alpha1/namespaces/d/loadbalancers", "application/json")))
                .isEqualTo(WriteTally.Writer.BENCH);
        assertThat(WriteTally.writer(new Write(
                        "PATCH", "/apis/apps/v1/namespaces/d/deployments/x/status", "application/merge-patch+json")))
                .isEqualTo(WriteTally.Writer.BENCH);
        assertThat(WriteTally.writer(new Write(
                        "PATCH",
                        "/apis/apps/v1/namespaces/d/deployments/x?fieldManager=m",
                        "application/apply-patch+yaml")))
                .isEqualTo(WriteTally.Writer.OPERATOR);
        assertThat(WriteTally.writer(new Write("POST", "/api/v1/namespaces/d/configmaps", "application/json")))
                .isEqualTo(WriteTally.Writer.OPERATOR);
    }

    @Test
    void aPollCountsOnlyWhatIsNewSinceTheLastOne() {
        try (EmbeddedApiServer api = new EmbeddedApiServer().start()) {
            KubernetesClient client = api.client();
            client.configMaps()
                    .resource(new ConfigMapBuilder()
                            .withNewMetadata()
                            .withName("before")
                            .endMetadata()
                            .build())
                    .create();
            WriteTally tally = new WriteTally(api); // starts counting here
            for (int i = 0; i < 3; i++) {
                client.configMaps()
                        .resource(new ConfigMapBuilder()
                                .withNewMetadata()
                                .withName("cm-" + i)
                                .endMetadata()
                                .build())
                        .create();
            }
            tally.poll();
            client.configMaps().withName("cm-0").delete();
            tally.poll();
            tally.poll();
            assertThat(tally.operatorWrites()).isEqualTo(Map.of("configmaps create", 3L, "configmaps delete", 1L));
            assertThat(tally.benchWrites()).isEmpty();
            assertThat(tally.total()).isEqualTo(4);
        }
    }
}
