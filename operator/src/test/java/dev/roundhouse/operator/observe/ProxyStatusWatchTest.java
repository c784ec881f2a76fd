package dev.roundhouse.operator.observe;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.roundhouse.operator.api.v1alpha1.LoadBalancer;
import dev.roundhouse.operator.testing.StatusServer;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/** The watch of a LoadBalancer's proxies ends with the LoadBalancer, whatever order the operator's threads run in. */
class ProxyStatusWatchTest {

    private static LoadBalancer loadBalancer(String uid) {
        LoadBalancer lb = new LoadBalancer();
        lb.setMetadata(new ObjectMetaBuilder()
                .withNamespace("default")
                .withName("gone")
                .withUid(uid)
                .build());
        return lb;
    }

    /**
     * On a cluster, deleting a LoadBalancer makes the garbage collector delete what it owned, and those deletes
     * trigger reconciles that may still be running when the delete is seen: one that ends after it must not start
     * asking the deleted LoadBalancer's proxies again, for good.
     */
    @Test
    void aReconcileEndingAfterItsLoadBalancersDeleteDoesNotWatchItsProxiesAgain() {
        ProxyStatusWatch watch = new ProxyStatusWatch();
        try (StatusServer proxy = new StatusServer()) {
            watch.start();
            URI base = URI.create("http://127.0.0.1:" + proxy.port());
            LoadBalancer deleted = loadBalancer(UUID.randomUUID().toString());

            watch.onResourceDeleted(deleted);
            watch.track(deleted, List.of(base), List.of());

            await().during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(3)).until(() -> proxy.requests.get() == 0);
            assertThat(watch.published(io.javaoperatorsdk.operator.processing.event.ResourceID.fromResource(deleted)))
                    .isNull();

            // One created again under the same name is another LoadBalancer (another uid): watched.
            watch.track(loadBalancer(UUID.randomUUID().toString()), List.of(base), List.of());
            await().atMost(Duration.ofSeconds(10)).until(() -> proxy.requests.get() > 0);
        } finally {
            watch.stop();
        }
    }
}
