package dev.roundhouse.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.roundhouse.e2e.local.LocalCluster;
import dev.roundhouse.e2e.local.LocalKubelet.RunningProxy;
import dev.roundhouse.e2e.testing.Cluster;
import dev.roundhouse.e2e.testing.Kubectl;
import dev.roundhouse.e2e.testing.SharedCluster;
import dev.roundhouse.testing.TestBackend;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** 6. Deleting the LoadBalancer stops its proxy, and the objects it owned go with it. */
@ExtendWith(SharedCluster.class)
class DeleteLoadBalancerE2ETest {

    private final List<TestBackend> backends =
            List.of(TestBackend.start("backend-a"), TestBackend.start("backend-b"), TestBackend.start("backend-c"));
    private final Cluster cluster;

    DeleteLoadBalancerE2ETest(LocalCluster local) {
        cluster = new Cluster(local, "e2e-delete");
    }

    @AfterEach
    void cleanUp() {
        cluster.deleteLoadBalancers();
        backends.forEach(TestBackend::close);
    }

    @Test
    void deletingTheLoadBalancerStopsItsProxy() throws Exception {
        cluster.applyOrFail(Cluster.sample(backends));
        cluster.awaitReady("demo");
        RunningProxy proxy = cluster.awaitProxy("demo");
        assertThat(Cluster.get(Cluster.uri(proxy, "/")).statusCode()).isEqualTo(200);

        if (Kubectl.available()) {
            Kubectl.Result result = cluster.kubectl().run("delete", "lb", "demo", "-n", cluster.namespace());
            assertThat(result.ok()).as(result.stderr()).isTrue();
        } else {
            cluster.deleteLoadBalancers();
        }

        Awaitility.await("the proxy process gone")
                .atMost(Duration.ofSeconds(30))
                .until(
                        () -> ProcessHandle.of(proxy.pid())
                                .map(ProcessHandle::isAlive)
                                .orElse(false),
                        alive -> !alive);
        assertThat(cluster.proxy("demo")).isEmpty();
        assertThatThrownBy(() -> Cluster.get(Cluster.uri(proxy, "/")))
                .as("a connection to the stopped proxy")
                .isInstanceOf(IOException.class);
        var client = cluster.local().client();
        Awaitility.await("owned objects collected")
                .atMost(Duration.ofSeconds(10))
                .until(() -> client.apps()
                                        .deployments()
                                        .inNamespace(cluster.namespace())
                                        .withName("demo-proxy")
                                        .get()
                                == null
                        && client.configMaps()
                                        .inNamespace(cluster.namespace())
                                        .withName("demo-pool")
                                        .get()
                                == null
                        && client.services()
                                        .inNamespace(cluster.namespace())
                                        .withName("demo")
                                        .get()
                                == null
                        && client.services()
                                        .inNamespace(cluster.namespace())
                                        .withName("demo-metrics")
                                        .get()
                                == null
                        && client.policy()
                                        .v1()
                                        .podDisruptionBudget()
                                        .inNamespace(cluster.namespace())
                                        .withName("demo-proxy")
                                        .get()
                                == null);
    }
}
