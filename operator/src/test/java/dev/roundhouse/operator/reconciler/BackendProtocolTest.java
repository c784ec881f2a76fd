package dev.roundhouse.operator.reconciler;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.awaitility.Awaitility.await;

import dev.roundhouse.operator.api.v1alpha1.CircuitBreakerSpec;
import dev.roundhouse.operator.api.v1alpha1.HealthCheckSpec;
import dev.roundhouse.operator.api.v1alpha1.LoadBalancer;
import dev.roundhouse.operator.api.v1alpha1.ServiceRefSpec;
import dev.roundhouse.operator.testing.OperatorCluster;
import dev.roundhouse.poolformat.BackendProtocol;
import dev.roundhouse.poolformat.PoolDocument;
import dev.roundhouse.poolformat.PoolDocument.BackendEntry;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.fabric8.kubernetes.client.KubernetesClientException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A backend's {@code protocol} and {@code healthCheck.grpcService}: written into the pool document (version 4 only
 * when used), and a protocol that cannot go with the URL's scheme refused by the schema.
 */
class BackendProtocolTest {

    private static OperatorCluster cluster;

    @BeforeAll
    static void startOperator() {
        cluster = OperatorCluster.start();
    }

    @AfterAll
    static void stop() {
        if (cluster != null) {
            cluster.close();
        }
    }

    @Test
    void protocolsAndTheGrpcHealthServiceReachThePoolDocument() {
        LoadBalancer lb = OperatorCluster.loadBalancer("grpc-shop", "http://10.9.0.1:50051", "http://10.9.0.2:8080");
        lb.getSpec().getBackends().get(0).setProtocol("h2c");
        HealthCheckSpec health = new HealthCheckSpec();
        health.setGrpcService("shop.v1.Cart");
        lb.getSpec().setHealthCheck(health);
        CircuitBreakerSpec breaker = new CircuitBreakerSpec();
        breaker.setGrpcFailureStatuses(java.util.List.of("UNAVAILABLE"));
        lb.getSpec().setCircuitBreaker(breaker);
        cluster.create(lb);

        await().atMost(OperatorCluster.WAIT).ignoreExceptions().untilAsserted(() -> {
            PoolDocument doc = cluster.poolDocument("grpc-shop");
            assertThat(doc.version()).isEqualTo(PoolDocument.VERSION_4);
            assertThat(doc.backends())
                    .containsExactly(
                            new BackendEntry("http://10.9.0.1:50051", 1, BackendProtocol.H2C),
                            new BackendEntry("http://10.9.0.2:8080", 1, BackendProtocol.HTTP_1_1));
            assertThat(doc.healthCheck().grpcService()).isEqualTo("shop.v1.Cart");
            assertThat(doc.circuitBreaker().grpcFailureStatuses()).containsExactly("UNAVAILABLE");
        });
    }

    @Test
    void aServiceRefsProtocolIsEveryEndpointsProtocol() {
        cluster.client
                .resource(new ServiceBuilder()
                        .withNewMetadata()
                        .withName("grpc-api")
                        .withNamespace(OperatorCluster.NS)
                        .endMetadata()
                        .withNewSpec()
                        .addNewPort()
                        .withName("grpc")
                        .withPort(50051)
                        .endPort()
                        .endSpec()
                        .build())
                .create();
        cluster.client
                .resource(new EndpointSliceBuilder()
                        .withNewMetadata()
                        .withName("grpc-api-1")
                        .withNamespace(OperatorCluster.NS)
                        .addToLabels("kubernetes.io/service-name", "grpc-api")
                        .endMetadata()
                        .withAddressType("IPv4")
                        .addNewPort()
                        .withName("grpc")
                        .withPort(50051)
                        .withProtocol("TCP")
                        .endPort()
                        .addNewEndpoint()
                        .withAddresses("10.9.1.1")
                        .withNewConditions()
                        .withReady(true)
                        .withServing(true)
                        .withTerminating(false)
                        .endConditions()
                        .endEndpoint()
                        .build())
                .create();
        LoadBalancer lb = OperatorCluster.loadBalancer("grpc-ref");
        lb.getSpec().setBackends(null);
        ServiceRefSpec ref = new ServiceRefSpec();
        ref.setName("grpc-api");
        ref.setPort(50051);
        ref.setProtocol("h2c");
        lb.getSpec().setServiceRef(ref);
        cluster.create(lb);

        await().atMost(OperatorCluster.WAIT)
                .ignoreExceptions()
                .untilAsserted(() -> assertThat(cluster.poolDocument("grpc-ref").backends())
                        .containsExactly(new BackendEntry("http://10.9.1.1:50051", 1, BackendProtocol.H2C)));
    }

    @Test
    void theSchemaRefusesAProtocolTheSchemeCannotCarry() {
        LoadBalancer h2cOverHttps = OperatorCluster.loadBalancer("h2c-https", "https://10.9.0.3:8443");
        h2cOverHttps.getSpec().getBackends().get(0).setProtocol("h2c");
        assertThat(catchThrowableOfType(() -> cluster.create(h2cOverHttps), KubernetesClientException.class)
                        .getMessage())
                .contains("protocol h2c needs an http:// URL");

        LoadBalancer h2OverHttp = OperatorCluster.loadBalancer("h2-http", "http://10.9.0.4:8080");
        h2OverHttp.getSpec().getBackends().get(0).setProtocol("h2");
        assertThat(catchThrowableOfType(() -> cluster.create(h2OverHttp), KubernetesClientException.class)
                        .getMessage())
                .contains("protocol h2 needs an https:// URL");

        LoadBalancer unknown = OperatorCluster.loadBalancer("h3", "http://10.9.0.5:8080");
        unknown.getSpec().getBackends().get(0).setProtocol("h3");
        assertThat(catchThrowableOfType(() -> cluster.create(unknown), KubernetesClientException.class)
                        .getMessage())
                .contains("spec.backends[0].protocol");

        LoadBalancer h2PlainRef = OperatorCluster.loadBalancer("h2-ref");
        h2PlainRef.getSpec().setBackends(null);
        ServiceRefSpec ref = new ServiceRefSpec();
        ref.setName("api");
        ref.setPort(443);
        ref.setProtocol("h2");
        h2PlainRef.getSpec().setServiceRef(ref);
        assertThat(catchThrowableOfType(() -> cluster.create(h2PlainRef), KubernetesClientException.class)
                        .getMessage())
                .contains("protocol h2 needs scheme https");

        LoadBalancer badStatus = OperatorCluster.loadBalancer("bad-grpc-status", "http://10.9.0.7:50051");
        CircuitBreakerSpec breaker = new CircuitBreakerSpec();
        breaker.setGrpcFailureStatuses(java.util.List.of("unavailable"));
        badStatus.getSpec().setCircuitBreaker(breaker);
        assertThat(catchThrowableOfType(() -> cluster.create(badStatus), KubernetesClientException.class)
                        .getMessage())
                .contains("spec.circuitBreaker.grpcFailureStatuses[0]");

        LoadBalancer badService = OperatorCluster.loadBalancer("bad-grpc-service", "http://10.9.0.6:50051");
        HealthCheckSpec health = new HealthCheckSpec();
        health.setGrpcService("shop/Cart");
        badService.getSpec().setHealthCheck(health);
        assertThat(catchThrowableOfType(() -> cluster.create(badService), KubernetesClientException.class)
                        .getMessage())
                .contains("spec.healthCheck.grpcService");
    }
}
