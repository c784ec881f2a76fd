package dev.roundhouse.operator.observe;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.roundhouse.operator.api.v1alpha1.LoadBalancer;
import dev.roundhouse.operator.testing.OperatorCluster;
import dev.roundhouse.operator.testing.StatusServer;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A restarted operator does not know what the proxies said until they answer it again: it keeps the backends' view
 * it finds in the status meanwhile, even when a proxy's first answer fails, so a restart over unchanged backends
 * writes nothing (GitOps: a no-op reconcile writes nothing).
 */
class BackendHealthRestartTest {

    private static final String A = "http://10.9.5.1:8080";
    private static final String B = "http://10.9.5.2:8080";

    private final OperatorCluster cluster = OperatorCluster.start();

    @AfterEach
    void stop() {
        cluster.close();
    }

    private double unchangedReconciles() {
        String scrape = dev.roundhouse.testing.Http.get(
                        "http://127.0.0.1:" + cluster.operator().httpPort() + "/metrics")
                .body();
        return scrape.lines()
                .filter(l -> l.startsWith("roundhouse_operator_reconciles_total{status=\"unchanged\"}"))
                .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1)))
                .sum();
    }

    private String healthy() {
        LoadBalancer lb = cluster.client
                .resources(LoadBalancer.class)
                .inNamespace(OperatorCluster.NS)
                .withName("kept")
                .get();
        return lb.getStatus() == null ? null : lb.getStatus().getHealthy();
    }

    @Test
    void aRestartOverUnchangedBackendsWritesNothing() {
        try (StatusServer proxy = new StatusServer()) {
            proxy.set(A, "in-rotation");
            proxy.set(B, "out-of-rotation");
            cluster.client
                    .resource(new EndpointSliceBuilder()
                            .withNewMetadata()
                            .withName("kept-metrics-1")
                            .withNamespace(OperatorCluster.NS)
                            .addToLabels("kubernetes.io/service-name", "kept-metrics")
                            .endMetadata()
                            .withAddressType("IPv4")
                            .addNewPort()
                            .withName("metrics")
                            .withPort(proxy.port())
                            .endPort()
                            .addNewEndpoint()
                            .withAddresses("127.0.0.1")
                            .withNewConditions()
                            .withReady(true)
                            .endConditions()
                            .endEndpoint()
                            .build())
                    .create();
            cluster.create(OperatorCluster.loadBalancer("kept", A, B));
            await().atMost(OperatorCluster.WAIT).ignoreExceptions().until(() -> "1/2".equals(healthy()));

            cluster.stopOperator();
            proxy.refuse(1); // its first answer to the new operator fails: asked again 5 s later
            int asked = proxy.requests.get();
            cluster.api.resetWriteCount();
            cluster.startOperator();
            // Its first reconcile, then the one the proxy's first answer brings.
            await().atMost(OperatorCluster.WAIT)
                    .until(() -> proxy.requests.get() > asked + 1 && unchangedReconciles() >= 2);

            assertThat(cluster.api.writes())
                    .as("writes by a restarted operator, backends unchanged")
                    .isEmpty();
            assertThat(healthy()).isEqualTo("1/2");
        }
    }
}
