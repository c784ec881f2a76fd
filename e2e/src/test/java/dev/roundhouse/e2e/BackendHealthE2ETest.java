package dev.roundhouse.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.roundhouse.e2e.local.LocalCluster;
import dev.roundhouse.e2e.local.LocalKubelet.RunningProxy;
import dev.roundhouse.e2e.testing.Cluster;
import dev.roundhouse.e2e.testing.Kubectl;
import dev.roundhouse.e2e.testing.SharedCluster;
import dev.roundhouse.operator.api.v1alpha1.BackendHealthStatus;
import dev.roundhouse.operator.api.v1alpha1.LoadBalancer;
import dev.roundhouse.testing.TestBackend;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.Event;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * What the real proxies see of their backends reaches the LoadBalancer: the sample (one failed check takes a backend
 * out, every 5 s) shows HEALTHY 3/3, then 2/3 within one health interval of a backend stopping, names it in the
 * BackendsHealthy condition and an Event, and goes back to 3/3 when it returns.
 */
@ExtendWith(SharedCluster.class)
class BackendHealthE2ETest {

    private static final Duration HEALTH_INTERVAL = Duration.ofSeconds(5);
    /** The status is written at most once every 10 s: a change is measured from when the next write may be. */
    private static final Duration MIN_WRITE_INTERVAL = Duration.ofSeconds(10);
    /** Slack for the check itself, the operator's reconcile and the API server's write. */
    private static final Duration SLACK = Duration.ofSeconds(3);

    private final List<TestBackend> backends =
            List.of(TestBackend.start("backend-a"), TestBackend.start("backend-b"), TestBackend.start("backend-c"));
    private final Cluster cluster;

    BackendHealthE2ETest(LocalCluster local) {
        cluster = new Cluster(local, "e2e-backend-health");
    }

    @AfterEach
    void cleanUp() {
        cluster.deleteLoadBalancers();
        backends.forEach(TestBackend::close);
    }

    private String healthy() {
        LoadBalancer lb = cluster.loadBalancer("demo");
        return lb == null || lb.getStatus() == null ? null : lb.getStatus().getHealthy();
    }

    /** The HEALTHY column as kubectl prints it, or the field it prints where kubectl is missing. */
    private String healthyColumn() {
        if (!Kubectl.available()) {
            return healthy();
        }
        Kubectl.Result result = cluster.kubectl().run("get", "lb", "demo", "-n", cluster.namespace());
        assertThat(result.ok()).as(result.stderr()).isTrue();
        List<String> lines = result.stdout().lines().toList();
        List<String> header = List.of(lines.get(0).split("\\s+"));
        return lines.get(1).split("\\s+")[header.indexOf("HEALTHY")];
    }

    private long awaitHealthy(String column, Duration within) {
        Awaitility.await("HEALTHY " + column)
                .atMost(within)
                .pollInterval(Duration.ofMillis(200))
                .ignoreExceptions()
                .until(() -> column.equals(healthyColumn()));
        return System.nanoTime();
    }

    @Test
    void kubectlShowsABackendLeaveAndRejoinRotation() throws Exception {
        cluster.applyOrFail(Cluster.sample(backends));
        cluster.awaitReady("demo");
        RunningProxy proxy = cluster.awaitProxy("demo");
        long threeOfThree = awaitHealthy("3/3", Duration.ofSeconds(60));

        TestBackend stopped = backends.get(1);
        stopped.stop();
        long stoppedAt = System.nanoTime();
        long from = Math.max(stoppedAt, threeOfThree + MIN_WRITE_INTERVAL.toNanos());
        long twoOfThree = awaitHealthy("2/3", Duration.ofSeconds(60));
        assertThat(Duration.ofNanos(twoOfThree - from))
                .as("2/3 after the stop (or the end of the 10 s since the last write)")
                .isLessThanOrEqualTo(HEALTH_INTERVAL.plus(SLACK));

        LoadBalancer lb = cluster.loadBalancer("demo");
        BackendHealthStatus first = lb.getStatus().getBackendHealth().get(0);
        assertThat(first.getUrl()).isEqualTo(stopped.url());
        assertThat(first.getState()).isEqualTo("out-of-rotation");
        assertThat(first.getInRotation()).isZero();
        assertThat(first.getProxies()).isEqualTo(1);
        Condition backendsHealthy = cluster.condition("demo", "BackendsHealthy");
        assertThat(backendsHealthy.getStatus()).isEqualTo("False");
        assertThat(backendsHealthy.getMessage()).contains(stopped.url());
        assertThat(cluster.condition("demo", "Ready").getStatus()).isEqualTo("True"); // two still serve
        assertThat(events("BackendOutOfRotation"))
                .singleElement()
                .satisfies(e -> assertThat(e.getMessage()).contains(stopped.url()));

        // The proxy's own page says the same, from the same source.
        JsonNode status = new ObjectMapper()
                .readTree(Cluster.get(URI.create("http://127.0.0.1:" + proxy.metricsPort() + "/status"))
                        .body());
        for (JsonNode b : status.get("backends")) {
            assertThat(b.get("state").asText())
                    .as(b.get("url").asText())
                    .isEqualTo(b.get("url").asText().equals(stopped.url()) ? "out-of-rotation" : "in-rotation");
        }

        stopped.restart();
        awaitHealthy("3/3", Duration.ofSeconds(60));
        assertThat(cluster.condition("demo", "BackendsHealthy").getStatus()).isEqualTo("True");
        assertThat(events("BackendBackInRotation"))
                .singleElement()
                .satisfies(e -> assertThat(e.getType()).isEqualTo("Normal"));
    }

    private List<Event> events(String reason) {
        return cluster.local().client().v1().events().inNamespace(cluster.namespace()).list().getItems().stream()
                .filter(e -> e.getReason().equals(reason))
                .toList();
    }
}
