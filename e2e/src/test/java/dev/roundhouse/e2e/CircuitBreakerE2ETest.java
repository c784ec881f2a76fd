package dev.roundhouse.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.roundhouse.e2e.local.LocalCluster;
import dev.roundhouse.e2e.local.LocalKubelet.RunningProxy;
import dev.roundhouse.e2e.testing.Cluster;
import dev.roundhouse.e2e.testing.SharedCluster;
import dev.roundhouse.testing.TestBackend;
import dev.roundhouse.testing.Traffic;
import java.time.Duration;
import java.util.List;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * 3. A backend stops under load: its breaker opens and no client request fails while the others are up; it
 * starts again: it returns to rotation (short health-check interval and open-state wait set in the spec).
 */
@ExtendWith(SharedCluster.class)
class CircuitBreakerE2ETest {

    private final TestBackend a = TestBackend.start("backend-a");
    private final TestBackend b = TestBackend.start("backend-b");
    private final TestBackend c = TestBackend.start("backend-c");
    private final Cluster cluster;

    CircuitBreakerE2ETest(LocalCluster local) {
        cluster = new Cluster(local, "e2e-breaker");
    }

    @AfterEach
    void cleanUp() {
        cluster.deleteLoadBalancers();
        List.of(a, b, c).forEach(TestBackend::close);
    }

    @Test
    void stoppedBackendOpensItsBreakerLosesNoRequestAndReturnsWhenItIsBack() throws Exception {
        cluster.applyOrFail("""
                apiVersion: roundhouse.dev/v1alpha1
                kind: LoadBalancer
                metadata:
                  name: breaker
                spec:
                  replicas: 1
                  backends:
                    - url: %s
                    - url: %s
                    - url: %s
                  healthCheck:
                    path: /healthz
                    interval: 500ms
                    healthyThreshold: 1
                    unhealthyThreshold: 2
                  circuitBreaker:
                    failureRateThreshold: 50
                    slidingWindowSize: 10
                    minimumNumberOfCalls: 4
                    waitDurationInOpenState: 2s
                    permittedNumberOfCallsInHalfOpenState: 2
                """.formatted(a.url(), b.url(), c.url()));
        cluster.awaitReady("breaker");
        RunningProxy proxy = cluster.awaitProxy("breaker");
        String openB = "resilience4j_circuitbreaker_state{name=\"" + b.url() + "\",state=\"open\"} 1.0";
        String closedB = "resilience4j_circuitbreaker_state{name=\"" + b.url() + "\",state=\"closed\"} 1.0";

        try (Traffic traffic = Traffic.start(Cluster.uri(proxy, "/"), 4)) {
            Awaitility.await("traffic on b").atMost(Duration.ofSeconds(10)).until(() -> b.requests() > 20);

            b.stop();
            Awaitility.await("b's breaker open")
                    .atMost(Duration.ofSeconds(10))
                    .pollInterval(Duration.ofMillis(50))
                    .until(() -> Cluster.metrics(proxy), m -> m.contains(openB));
            long servedWhileDown = traffic.exchanges().size();

            b.restart();
            int before = b.requests();
            Awaitility.await("b back in rotation")
                    .atMost(Duration.ofSeconds(20))
                    .until(() -> b.requests() > before + 20);
            Awaitility.await("b's breaker closed")
                    .atMost(Duration.ofSeconds(10))
                    .until(() -> Cluster.metrics(proxy), m -> m.contains(closedB));
            traffic.close();

            assertThat(servedWhileDown).isPositive();
            assertThat(traffic.exchanges())
                    .as("failed client requests")
                    .filteredOn(e -> !e.ok())
                    .isEmpty();
            assertThat(a.requests()).isPositive();
            assertThat(c.requests()).isPositive();
        }
    }
}
