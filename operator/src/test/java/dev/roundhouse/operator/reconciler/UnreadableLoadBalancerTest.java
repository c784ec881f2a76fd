package dev.roundhouse.operator.reconciler;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.roundhouse.operator.api.v1alpha1.BackendSpec;
import dev.roundhouse.operator.api.v1alpha1.LoadBalancer;
import dev.roundhouse.operator.testing.OperatorCluster;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.client.dsl.Resource;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A LoadBalancer the API server accepts can still hold a value the operator's model cannot: the CRD passes Kubernetes
 * types such as a topology spread constraint through, whose integers it bounds only to 64 bits where the model holds
 * 32, and a user may write any status through the status subresource. Such an object must cost only itself: it is
 * reported in its own status, and the operator keeps watching every LoadBalancer (it used to stop watching them all,
 * and JOSDK then ended the operator's process, again at every restart).
 */
class UnreadableLoadBalancerTest {

    private static final String NS = OperatorCluster.NS;

    private OperatorCluster cluster;

    @BeforeEach
    void start() {
        cluster = OperatorCluster.start();
    }

    @AfterEach
    void stop() {
        cluster.close();
    }

    private Resource<GenericKubernetesResource> generic(String name) {
        return cluster.client
                .genericKubernetesResources(LoadBalancer.GROUP + "/" + LoadBalancer.VERSION, "LoadBalancer")
                .inNamespace(NS)
                .withName(name);
    }

    private static GenericKubernetesResource withMaxSkew(String name, long maxSkew) {
        return Serialization.unmarshal("""
                apiVersion: roundhouse.dev/v1alpha1
                kind: LoadBalancer
                metadata: {name: %s, namespace: %s}
                spec:
                  backends: [{url: "http://10.31.0.1:8080"}]
                  podTemplate:
                    topologySpreadConstraints:
                    - {maxSkew: %d, topologyKey: topology.kubernetes.io/zone, whenUnsatisfiable: DoNotSchedule}
                """.formatted(name, NS, maxSkew), GenericKubernetesResource.class);
    }

    /** The operator still watches LoadBalancers: a new one gets its pool. */
    private void awaitAnotherOneConverges(String name) {
        cluster.create(OperatorCluster.loadBalancer(name, "http://10.31.9.1:8080"));
        await().atMost(OperatorCluster.WAIT).until(() -> cluster.pool(name) != null);
    }

    @Test
    void aSpecValueBeyondTheModelIsInvalidSpecNamingTheFieldAndTheOperatorWatchesOn() {
        cluster.client.resource(withMaxSkew("huge", 99_999_999_999L)).create();

        cluster.awaitCondition("huge", "Ready", "False", "InvalidSpec");
        String message = cluster.condition("huge", "Ready").getMessage();
        assertThat(message)
                .contains("spec.podTemplate.topologySpreadConstraints[0].maxSkew")
                .contains("99999999999")
                .endsWith("nothing is created until it is valid")
                .doesNotContain("\n")
                .hasSizeLessThan(1024);
        assertThat(cluster.pool("huge")).isNull();
        assertThat(cluster.deployment("huge")).isNull();
        assertThat(cluster.get("huge").getSpec().unreadable())
                .as("read with the model")
                .isNotNull();
        awaitAnotherOneConverges("after-huge");
        assertThat(Serialization.asJson(generic("huge").get()))
                .as("the object as stored, after the operator's reconciles")
                .contains("\"maxSkew\":99999999999");

        generic("huge").edit(lb -> {
            ((List<Map<String, Object>>) ((Map<String, Object>) ((Map<String, Object>)
                                            lb.getAdditionalProperties().get("spec"))
                                    .get("podTemplate"))
                            .get("topologySpreadConstraints"))
                    .get(0)
                    .put("maxSkew", 1);
            return lb;
        });
        await().atMost(OperatorCluster.WAIT)
                .until(() -> cluster.pool("huge") != null && cluster.deployment("huge") != null);
        assertThat(cluster.deployment("huge").getSpec().getTemplate().getSpec().getTopologySpreadConstraints())
                .singleElement()
                .satisfies(c -> assertThat(c.getMaxSkew()).isEqualTo(1));
    }

    @Test
    void aStatusValueBeyondTheModelReadsAsNoneAndTheOperatorWatchesOn() {
        cluster.create(OperatorCluster.loadBalancer("counted", "http://10.31.1.1:8080"));
        await().atMost(OperatorCluster.WAIT)
                .until(() -> cluster.get("counted").getStatus() != null
                        && Integer.valueOf(1)
                                .equals(cluster.get("counted").getStatus().getBackends()));

        GenericKubernetesResource stored = generic("counted").get();
        ((Map<String, Object>) stored.getAdditionalProperties().get("status")).put("backends", 99_999_999_999L);
        cluster.client.resource(stored).updateStatus();

        assertThat(cluster.get("counted").getStatus()).as("read with the model").isNull();
        awaitAnotherOneConverges("after-counted");

        // Its next reconcile (a status write alone brings none) writes its status afresh.
        cluster.edit("counted", lb -> {
            BackendSpec second = new BackendSpec();
            second.setUrl("http://10.31.1.2:8080");
            lb.getSpec().setBackends(List.of(lb.getSpec().getBackends().get(0), second));
            return lb;
        });
        await().atMost(OperatorCluster.WAIT)
                .until(() -> cluster.get("counted").getStatus() != null
                        && Integer.valueOf(2)
                                .equals(cluster.get("counted").getStatus().getBackends()));
    }
}
