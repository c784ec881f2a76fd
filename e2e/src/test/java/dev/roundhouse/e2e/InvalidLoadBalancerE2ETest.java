package dev.roundhouse.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.roundhouse.e2e.local.LocalCluster;
import dev.roundhouse.e2e.local.LocalKubelet.RunningProxy;
import dev.roundhouse.e2e.testing.Cluster;
import dev.roundhouse.e2e.testing.SharedCluster;
import dev.roundhouse.testing.TestBackend;
import dev.roundhouse.testing.Traffic;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.Event;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * 5. An invalid LoadBalancer is refused by the CRD schema (through kubectl where installed); one the schema cannot
 * catch shows Ready=False with a reason and an Event; a good LoadBalancer beside them keeps serving throughout.
 */
@ExtendWith(SharedCluster.class)
class InvalidLoadBalancerE2ETest {

    private final List<TestBackend> backends =
            List.of(TestBackend.start("backend-a"), TestBackend.start("backend-b"), TestBackend.start("backend-c"));
    private final Cluster cluster;

    InvalidLoadBalancerE2ETest(LocalCluster local) {
        cluster = new Cluster(local, "e2e-invalid");
    }

    @AfterEach
    void cleanUp() {
        cluster.deleteLoadBalancers();
        backends.forEach(TestBackend::close);
    }

    @Test
    void schemaRefusesBadFieldsAndStatusExplainsWhatItCannotCatchWhileOthersServe() throws Exception {
        cluster.applyOrFail(Cluster.sample(backends));
        cluster.awaitReady("demo");
        RunningProxy good = cluster.awaitProxy("demo");

        try (Traffic traffic = Traffic.start(Cluster.uri(good, "/"), 2)) {
            Optional<String> badWeight =
                    cluster.apply("""
                    apiVersion: roundhouse.dev/v1alpha1
                    kind: LoadBalancer
                    metadata:
                      name: bad-weight
                    spec:
                      backends:
                        - url: %s
                          weight: 0
                    """.formatted(backends.get(0).url()));
            assertThat(badWeight)
                    .as("a weight of 0")
                    .hasValueSatisfying(
                            error -> assertThat(error).contains("Invalid").contains("spec.backends[0].weight"));

            Optional<String> bothSources =
                    cluster.apply("""
                    apiVersion: roundhouse.dev/v1alpha1
                    kind: LoadBalancer
                    metadata:
                      name: both-sources
                    spec:
                      backends:
                        - url: %s
                      serviceRef:
                        name: web
                        port: 80
                    """.formatted(backends.get(0).url()));
            assertThat(bothSources)
                    .as("backends and serviceRef together")
                    .hasValueSatisfying(
                            error -> assertThat(error).contains("Invalid").containsIgnoringCase("serviceRef"));
            Optional<String> ownService = cluster.apply("""
                    apiVersion: roundhouse.dev/v1alpha1
                    kind: LoadBalancer
                    metadata:
                      name: web
                    spec:
                      serviceRef:
                        name: web
                        port: 80
                    """);
            assertThat(ownService)
                    .as("a serviceRef to the Service the operator would name after the LoadBalancer")
                    .hasValueSatisfying(error -> assertThat(error)
                            .contains("Invalid")
                            .contains("spec.serviceRef.name must differ from the LoadBalancer's name"));
            assertThat(cluster.loadBalancer("web")).isNull();
            assertThat(cluster.loadBalancer("bad-weight")).isNull();
            assertThat(cluster.loadBalancer("both-sources")).isNull();

            // Valid to the schema, but the Service it follows does not exist.
            cluster.applyOrFail("""
                    apiVersion: roundhouse.dev/v1alpha1
                    kind: LoadBalancer
                    metadata:
                      name: missing-service
                    spec:
                      replicas: 1
                      serviceRef:
                        name: no-such-service
                        port: 80
                    """);
            Awaitility.await("Ready=False with a reason")
                    .atMost(Duration.ofSeconds(30))
                    .until(
                            () -> cluster.condition("missing-service", "Ready"),
                            c -> c != null && "False".equals(c.getStatus()));
            Condition ready = cluster.condition("missing-service", "Ready");
            assertThat(ready.getReason()).isEqualTo("ServiceNotFound");
            assertThat(ready.getMessage()).contains("no-such-service");
            Awaitility.await("an Event saying why")
                    .atMost(Duration.ofSeconds(10))
                    .until(
                            () ->
                                    cluster
                                            .local()
                                            .client()
                                            .v1()
                                            .events()
                                            .inNamespace(cluster.namespace())
                                            .list()
                                            .getItems()
                                            .stream()
                                            .filter(e -> "missing-service"
                                                    .equals(e.getInvolvedObject()
                                                            .getName()))
                                            .map(Event::getReason)
                                            .toList(),
                            reasons -> reasons.contains("ServiceNotFound"));

            int before = traffic.exchanges().size();
            Awaitility.await("the good LoadBalancer still serving")
                    .atMost(Duration.ofSeconds(10))
                    .until(() -> traffic.exchanges().size() > before + 20);
            traffic.close();
            assertThat(traffic.exchanges())
                    .as("failed requests to the good LoadBalancer")
                    .filteredOn(e -> !e.ok())
                    .isEmpty();
            assertThat(cluster.condition("demo", "Ready").getStatus()).isEqualTo("True");
        }
    }
}
