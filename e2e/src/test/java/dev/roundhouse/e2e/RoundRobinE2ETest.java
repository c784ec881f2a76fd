package dev.roundhouse.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.roundhouse.e2e.local.LocalCluster;
import dev.roundhouse.e2e.local.LocalKubelet.RunningProxy;
import dev.roundhouse.e2e.testing.Cluster;
import dev.roundhouse.e2e.testing.Kubectl;
import dev.roundhouse.e2e.testing.SharedCluster;
import dev.roundhouse.operator.api.v1alpha1.LoadBalancer;
import dev.roundhouse.testing.TestBackend;
import io.fabric8.kubernetes.api.model.ConfigMap;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** 1. The sample LoadBalancer becomes Ready, and its proxy spreads requests round-robin over the three backends. */
@ExtendWith(SharedCluster.class)
class RoundRobinE2ETest {

    private final List<TestBackend> backends =
            List.of(TestBackend.start("backend-a"), TestBackend.start("backend-b"), TestBackend.start("backend-c"));
    private final Cluster cluster;

    RoundRobinE2ETest(LocalCluster local) {
        cluster = new Cluster(local, "e2e-round-robin");
    }

    @AfterEach
    void cleanUp() {
        cluster.deleteLoadBalancers();
        backends.forEach(TestBackend::close);
    }

    @Test
    void sampleBecomesReadyAndSpreadsRequestsRoundRobin() throws Exception {
        cluster.applyOrFail(Cluster.sample(backends));

        LoadBalancer lb = cluster.awaitReady("demo");
        assertThat(lb.getStatus().getBackends()).isEqualTo(3);
        assertThat(lb.getStatus().getObservedGeneration())
                .isEqualTo(lb.getMetadata().getGeneration());
        ConfigMap pool = cluster.local()
                .client()
                .configMaps()
                .inNamespace(cluster.namespace())
                .withName("demo-pool")
                .get();
        assertThat(pool.getData().get("pool.json"))
                .contains(backends.get(0).url(), backends.get(2).url());

        RunningProxy proxy = cluster.awaitProxy("demo");
        List<String> answers = new ArrayList<>();
        for (int i = 0; i < 30; i++) {
            HttpResponse<String> response = Cluster.get(Cluster.uri(proxy, "/"));
            assertThat(response.statusCode()).isEqualTo(200);
            answers.add(response.body());
        }
        // Round-robin: every window of three consecutive answers holds each backend once.
        for (int i = 0; i + 3 <= answers.size(); i++) {
            assertThat(answers.subList(i, i + 3))
                    .as("answers %d..%d of %s", i, i + 2, answers)
                    .containsExactlyInAnyOrder("backend-a", "backend-b", "backend-c");
        }
        backends.forEach(b -> assertThat(b.requests()).as(b.name()).isEqualTo(10));
    }

    @Test
    void kubectlShowsReadyAndBackendsInItsColumns() {
        assumeTrue(Kubectl.available(), "kubectl is not installed: the printer-column check needs it");
        cluster.applyOrFail(Cluster.sample(backends).replace("name: demo", "name: columns"));
        cluster.awaitReady("columns");

        Kubectl.Result result = cluster.kubectl().run("get", "lb", "columns", "-n", cluster.namespace());

        assertThat(result.ok()).as(result.stderr()).isTrue();
        List<String> lines = result.stdout().lines().toList();
        assertThat(lines.get(0).split("\\s+")).containsSubsequence("NAME", "BACKENDS", "READY");
        assertThat(lines.get(1).split("\\s+")).startsWith("columns").contains("3", "True");
    }
}
