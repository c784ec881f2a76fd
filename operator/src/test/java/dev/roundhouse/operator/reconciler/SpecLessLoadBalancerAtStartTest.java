package dev.roundhouse.operator.reconciler;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.roundhouse.operator.api.v1alpha1.LoadBalancer;
import dev.roundhouse.operator.testing.OperatorCluster;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import org.junit.jupiter.api.Test;

/**
 * A LoadBalancer stored without a spec (before the CRD required one) must neither stop the operator from starting
 * nor keep any other LoadBalancer from being reconciled: it gets Ready=False, InvalidSpec, and nothing is created.
 */
class SpecLessLoadBalancerAtStartTest {

    @Test
    void theOperatorStartsReconcilesTheOthersAndReportsTheSpecLessOne() {
        try (OperatorCluster cluster = OperatorCluster.withoutCrd()) {
            // A CRD of old that did not require a spec, then an object without one, then the CRD of today.
            cluster.api.applyCrdYaml("""
                    apiVersion: apiextensions.k8s.io/v1
                    kind: CustomResourceDefinition
                    metadata: {name: loadbalancers.roundhouse.dev}
                    spec:
                      group: roundhouse.dev
                      names: {kind: LoadBalancer, plural: loadbalancers, singular: loadbalancer, shortNames: [lb]}
                      scope: Namespaced
                      versions:
                      - name: v1alpha1
                        served: true
                        storage: true
                        subresources: {status: {}}
                        schema:
                          openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
                    """);
            LoadBalancer empty = new LoadBalancer();
            empty.setMetadata(new ObjectMetaBuilder()
                    .withName("empty")
                    .withNamespace(OperatorCluster.NS)
                    .build());
            cluster.client.resource(empty).create();
            cluster.api.applyCrds(OperatorCluster.CRD);

            cluster.startOperator();
            cluster.create(OperatorCluster.loadBalancer("beside", "http://10.30.0.1:8080"));

            await().atMost(OperatorCluster.WAIT).until(() -> cluster.deployment("beside") != null);
            cluster.awaitCondition("beside", "Ready", "False", "ProxiesNotReady");
            // Reconciled all the way: once its proxies are ready, so is it.
            cluster.markProxiesReady("beside");
            cluster.awaitCondition("beside", "Ready", "True", "ProxiesReady");
            cluster.awaitCondition("empty", "Ready", "False", "InvalidSpec");
            assertThat(cluster.condition("empty", "Ready").getMessage())
                    .isEqualTo(
                            "generation 1 of the spec is invalid: spec is missing; nothing is created until it is valid");
            assertThat(cluster.pool("empty")).isNull();
            assertThat(cluster.deployment("empty")).isNull();
        }
    }
}
