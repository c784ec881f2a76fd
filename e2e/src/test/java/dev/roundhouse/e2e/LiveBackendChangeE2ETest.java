package dev.roundhouse.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.roundhouse.e2e.local.LocalCluster;
import dev.roundhouse.e2e.local.LocalKubelet.RunningProxy;
import dev.roundhouse.e2e.testing.Cluster;
import dev.roundhouse.e2e.testing.Kubectl;
import dev.roundhouse.e2e.testing.SharedCluster;
import dev.roundhouse.operator.api.v1alpha1.BackendSpec;
import dev.roundhouse.operator.api.v1alpha1.LoadBalancer;
import dev.roundhouse.testing.TestBackend;
import dev.roundhouse.testing.Traffic;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * 2. Backends change in the LoadBalancer while clients send requests without pause: the new backend gets traffic
 * within 2 s, the removed one none after that, no request fails, and the proxy process keeps running.
 */
@ExtendWith(SharedCluster.class)
class LiveBackendChangeE2ETest {

    private final TestBackend a = TestBackend.start("backend-a");
    private final TestBackend b = TestBackend.start("backend-b");
    private final TestBackend c = TestBackend.start("backend-c");
    private final TestBackend d = TestBackend.start("backend-d");
    private final Cluster cluster;

    LiveBackendChangeE2ETest(LocalCluster local) {
        cluster = new Cluster(local, "e2e-live-change");
    }

    @AfterEach
    void cleanUp() {
        cluster.deleteLoadBalancers();
        List.of(a, b, c, d).forEach(TestBackend::close);
    }

    @Test
    void replacingABackendUnderLoadLosesNothingAndRestartsNothing() throws Exception {
        cluster.applyOrFail(Cluster.sample(List.of(a, b, c)));
        cluster.awaitReady("demo");
        RunningProxy before = cluster.awaitProxy("demo");

        try (Traffic traffic = Traffic.start(Cluster.uri(before, "/"), 4)) {
            Awaitility.await("traffic on every backend")
                    .atMost(Duration.ofSeconds(10))
                    .until(() -> traffic.answeredBy("backend-c") > 20 && traffic.answeredBy("backend-a") > 20);

            long changed = replaceBackend(c, d);

            Awaitility.await("traffic on the new backend")
                    .atMost(Duration.ofSeconds(10))
                    .until(() -> traffic.answeredBy("backend-d") > 0);
            Awaitility.await("more traffic after the change")
                    .atMost(Duration.ofSeconds(10))
                    .until(() -> traffic.answeredBy("backend-d") > 50);
            traffic.close();

            List<Traffic.Exchange> exchanges = traffic.exchanges();
            assertThat(exchanges)
                    .as("failed exchanges")
                    .filteredOn(e -> !e.ok())
                    .isEmpty();
            Traffic.Exchange firstD = exchanges.stream()
                    .filter(e -> "backend-d".equals(e.body()))
                    .min(Comparator.comparingLong(Traffic.Exchange::endNanos))
                    .orElseThrow();
            assertThat(Duration.ofNanos(firstD.endNanos() - changed))
                    .as("from the change to the first answer of the new backend")
                    .isLessThan(Duration.ofSeconds(2));
            // A request sent after a client saw the new pool is routed by the new pool: never to the removed backend.
            assertThat(exchanges)
                    .filteredOn(e -> e.startNanos() > firstD.endNanos())
                    .as("requests sent after the new pool answered")
                    .isNotEmpty()
                    .noneMatch(e -> "backend-c".equals(e.body()));
        }

        RunningProxy after = cluster.proxy("demo").orElseThrow();
        assertThat(after.pid()).as("the proxy process").isEqualTo(before.pid());
        assertThat(after.restarts()).isZero();
        assertThat(ProcessHandle.of(before.pid()).map(ProcessHandle::isAlive)).contains(true);
    }

    /** Replaces {@code removed} by {@code added} in spec.backends (kubectl patch, or the client); returns when it began. */
    private long replaceBackend(TestBackend removed, TestBackend added) {
        LoadBalancer lb = cluster.loadBalancer("demo");
        List<BackendSpec> backends = lb.getSpec().getBackends().stream()
                .map(s -> s.getUrl().equals(removed.url()) ? backend(added.url()) : backend(s.getUrl()))
                .toList();
        StringBuilder patch = new StringBuilder("{\"spec\":{\"backends\":[");
        for (int i = 0; i < backends.size(); i++) {
            patch.append(i == 0 ? "" : ",")
                    .append("{\"url\":\"")
                    .append(backends.get(i).getUrl())
                    .append("\"}");
        }
        patch.append("]}}");
        if (Kubectl.available()) {
            long at = System.nanoTime(); // before kubectl starts: its own start-up counts against the 2 s
            Kubectl.Result result = cluster.kubectl()
                    .run("patch", "lb", "demo", "-n", cluster.namespace(), "--type=merge", "-p", patch.toString());
            assertThat(result.ok()).as(result.stderr()).isTrue();
            return at;
        }
        // A merge patch, as kubectl's: no resourceVersion, so the operator's status writes cannot conflict with it.
        long at = System.nanoTime();
        cluster.local()
                .client()
                .resources(LoadBalancer.class)
                .inNamespace(cluster.namespace())
                .withName("demo")
                .patch(PatchContext.of(PatchType.JSON_MERGE), patch.toString());
        return at;
    }

    private static BackendSpec backend(String url) {
        BackendSpec spec = new BackendSpec();
        spec.setUrl(url);
        return spec;
    }
}
