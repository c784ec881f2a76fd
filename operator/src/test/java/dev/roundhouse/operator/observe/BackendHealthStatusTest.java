package dev.roundhouse.operator.observe;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.roundhouse.operator.api.v1alpha1.BackendHealthStatus;
import dev.roundhouse.operator.api.v1alpha1.LoadBalancer;
import dev.roundhouse.operator.model.Conditions;
import dev.roundhouse.operator.testing.OperatorCluster;
import dev.roundhouse.operator.testing.StatusServer;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.fabric8.kubernetes.client.Watch;
import io.fabric8.kubernetes.client.Watcher;
import io.fabric8.kubernetes.client.WatcherException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The proxies' view of the backends in the LoadBalancer's status: found at the ready endpoints of the metrics
 * Service, folded, written only when a state changes and at most once every 10 s, with Events when a backend leaves
 * or rejoins rotation everywhere.
 */
class BackendHealthStatusTest {

    private static final String A = "http://10.9.3.1:8080";
    private static final String B = "http://10.9.3.2:8080";
    private static final String C = "http://10.9.3.3:8080";

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

    /** What the EndpointSlice controller would write for one ready proxy pod of {@code lb}. */
    private static void proxyEndpoint(String lb, String name, StatusServer proxy, boolean ready) {
        cluster.client
                .resource(new EndpointSliceBuilder()
                        .withNewMetadata()
                        .withName(name)
                        .withNamespace(OperatorCluster.NS)
                        .addToLabels("kubernetes.io/service-name", lb + "-metrics")
                        .endMetadata()
                        .withAddressType("IPv4")
                        .addNewPort()
                        .withName("metrics")
                        .withPort(proxy.port())
                        .withProtocol("TCP")
                        .endPort()
                        .addNewEndpoint()
                        .withAddresses("127.0.0.1")
                        .withNewConditions()
                        .withReady(ready)
                        .withServing(ready)
                        .withTerminating(false)
                        .endConditions()
                        .endEndpoint()
                        .build())
                .serverSideApply();
    }

    private static LoadBalancer lb(String name) {
        return cluster.client
                .resources(LoadBalancer.class)
                .inNamespace(OperatorCluster.NS)
                .withName(name)
                .get();
    }

    private static Condition condition(LoadBalancer lb, String type) {
        return lb.getStatus().getConditions().stream()
                .filter(c -> c.getType().equals(type))
                .findFirst()
                .orElseThrow();
    }

    private static List<Event> events(String lb, String reason) {
        return cluster.client.v1().events().inNamespace(OperatorCluster.NS).list().getItems().stream()
                .filter(e -> e.getInvolvedObject().getName().equals(lb)
                        && e.getReason().equals(reason))
                .toList();
    }

    @Test
    void aBackendOutOfRotationEverywhereShowsInTheStatusAtMostOnceEveryTenSeconds() throws Exception {
        try (StatusServer proxy = new StatusServer()) {
            proxy.set(A, "in-rotation");
            proxy.set(B, "in-rotation");
            proxy.set(C, "in-rotation");
            cluster.create(OperatorCluster.loadBalancer("seen", A, B, C));
            await().atMost(OperatorCluster.WAIT)
                    .ignoreExceptions()
                    .until(() -> lb("seen").getStatus().getHealthy().equals("?/3")); // no proxy yet
            assertThat(condition(lb("seen"), Conditions.BACKENDS_HEALTHY).getStatus())
                    .isEqualTo("Unknown");

            proxyEndpoint("seen", "seen-metrics-1", proxy, true);
            await().atMost(OperatorCluster.WAIT)
                    .ignoreExceptions()
                    .until(() -> lb("seen").getStatus().getHealthy().equals("3/3"));
            LoadBalancer healthy = lb("seen");
            assertThat(healthy.getStatus().getBackendHealth())
                    .extracting(
                            BackendHealthStatus::getUrl,
                            BackendHealthStatus::getInRotation,
                            BackendHealthStatus::getProxies)
                    .containsExactly(
                            org.assertj.core.groups.Tuple.tuple(A, 1, 1),
                            org.assertj.core.groups.Tuple.tuple(B, 1, 1),
                            org.assertj.core.groups.Tuple.tuple(C, 1, 1));
            assertThat(condition(healthy, Conditions.BACKENDS_HEALTHY).getStatus())
                    .isEqualTo("True");

            // Every status write from here on, with when it was seen.
            List<long[]> writes = new CopyOnWriteArrayList<>();
            List<String> healthyColumns = new CopyOnWriteArrayList<>();
            long watchStarted = System.nanoTime();
            try (Watch watch = cluster.client
                    .resources(LoadBalancer.class)
                    .inNamespace(OperatorCluster.NS)
                    .withName("seen")
                    .watch(new Watcher<>() {
                        @Override
                        public void eventReceived(Action action, LoadBalancer lb) {
                            if (action == Action.MODIFIED) {
                                writes.add(new long[] {System.nanoTime()});
                                healthyColumns.add(lb.getStatus().getHealthy());
                            }
                        }

                        @Override
                        public void onClose(WatcherException cause) {}
                    })) {
                // B flaps ten times and ends out of rotation: one write, 10 s after the last one at most.
                for (int i = 0; i < 10; i++) {
                    proxy.set(B, "out-of-rotation");
                    proxy.set(B, "in-rotation");
                }
                proxy.set(B, "out-of-rotation");
                await().atMost(Duration.ofSeconds(30))
                        .ignoreExceptions()
                        .until(() -> lb("seen").getStatus().getHealthy().equals("2/3"));
                assertThat(healthyColumns).containsExactly("2/3");
                // The 3/3 write was before the watch started: the 2/3 one waited out the 10 s since.
                assertThat(writes.get(0)[0] - watchStarted)
                        .isGreaterThan(Duration.ofSeconds(5).toNanos());
            }
            LoadBalancer out = lb("seen");
            assertThat(out.getStatus().getBackendHealth().get(0).getUrl()).isEqualTo(B); // trouble first
            assertThat(out.getStatus().getBackendHealth().get(0).getState()).isEqualTo("out-of-rotation");
            Condition backendsHealthy = condition(out, Conditions.BACKENDS_HEALTHY);
            assertThat(backendsHealthy.getStatus()).isEqualTo("False");
            assertThat(backendsHealthy.getReason()).isEqualTo("BackendsOutOfRotation");
            assertThat(backendsHealthy.getMessage()).isEqualTo("out of rotation on every ready proxy: " + B);
            assertThat(events("seen", "BackendOutOfRotation")).singleElement().satisfies(e -> {
                assertThat(e.getType()).isEqualTo("Warning");
                assertThat(e.getMessage()).contains(B);
            });
            assertThat(condition(out, Conditions.READY).getStatus())
                    .isEqualTo(condition(healthy, Conditions.READY).getStatus());

            proxy.set(B, "in-rotation");
            await().atMost(Duration.ofSeconds(30))
                    .ignoreExceptions()
                    .until(() -> lb("seen").getStatus().getHealthy().equals("3/3"));
            assertThat(events("seen", "BackendBackInRotation"))
                    .singleElement()
                    .satisfies(e -> assertThat(e.getType()).isEqualTo("Normal"));
        }
    }

    @Test
    void aServiceRefsMembersAreTheEntriesAsResolvedFromItsEndpointSlices() throws Exception {
        cluster.client
                .resource(new io.fabric8.kubernetes.api.model.ServiceBuilder()
                        .withNewMetadata()
                        .withName("members")
                        .withNamespace(OperatorCluster.NS)
                        .endMetadata()
                        .withNewSpec()
                        .addNewPort()
                        .withName("http")
                        .withPort(8080)
                        .endPort()
                        .endSpec()
                        .build())
                .create();
        cluster.client
                .resource(new EndpointSliceBuilder()
                        .withNewMetadata()
                        .withName("members-1")
                        .withNamespace(OperatorCluster.NS)
                        .addToLabels("kubernetes.io/service-name", "members")
                        .endMetadata()
                        .withAddressType("IPv4")
                        .addNewPort()
                        .withName("http")
                        .withPort(8080)
                        .withProtocol("TCP")
                        .endPort()
                        .addNewEndpoint()
                        .withAddresses("10.9.4.1")
                        .withNewConditions()
                        .withReady(true)
                        .endConditions()
                        .endEndpoint()
                        .addNewEndpoint()
                        .withAddresses("10.9.4.2")
                        .withNewConditions()
                        .withReady(true)
                        .endConditions()
                        .endEndpoint()
                        .build())
                .create();
        try (StatusServer proxy = new StatusServer()) {
            proxy.set("http://10.9.4.1:8080", "in-rotation");
            proxy.set("http://10.9.4.2:8080", "breaker-open");
            proxyEndpoint("by-ref", "by-ref-metrics-1", proxy, true);
            LoadBalancer lb = OperatorCluster.loadBalancer("by-ref");
            lb.getSpec().setBackends(null);
            dev.roundhouse.operator.api.v1alpha1.ServiceRefSpec ref =
                    new dev.roundhouse.operator.api.v1alpha1.ServiceRefSpec();
            ref.setName("members");
            ref.setPort(8080);
            lb.getSpec().setServiceRef(ref);
            cluster.create(lb);

            await().atMost(OperatorCluster.WAIT).ignoreExceptions().untilAsserted(() -> {
                LoadBalancer seen = lb("by-ref");
                assertThat(seen.getStatus().getHealthy()).isEqualTo("1/2");
                assertThat(seen.getStatus().getBackendHealth())
                        .extracting(BackendHealthStatus::getUrl, BackendHealthStatus::getState)
                        .containsExactly(
                                org.assertj.core.groups.Tuple.tuple("http://10.9.4.2:8080", "breaker-open"),
                                org.assertj.core.groups.Tuple.tuple("http://10.9.4.1:8080", "in-rotation"));
                assertThat(condition(seen, Conditions.BACKENDS_HEALTHY).getMessage())
                        .isEqualTo("out of rotation on every ready proxy: http://10.9.4.2:8080");
            });
        }
    }

    @Test
    void aBackendOutOnOneProxyOfTwoIsNotHealthyEverywhereButNotOutOfRotation() throws Exception {
        try (StatusServer one = new StatusServer();
                StatusServer two = new StatusServer();
                StatusServer notReady = new StatusServer()) {
            for (StatusServer proxy : List.of(one, two)) {
                proxy.set(A, "in-rotation");
                proxy.set(B, "in-rotation");
            }
            one.set(B, "breaker-open");
            // Both proxies ready before the LoadBalancer comes, so that its first view has both.
            proxyEndpoint("split", "split-metrics-1", one, true);
            proxyEndpoint("split", "split-metrics-2", two, true);
            proxyEndpoint("split", "split-metrics-3", notReady, false);
            cluster.create(OperatorCluster.loadBalancer("split", A, B));

            await().atMost(OperatorCluster.WAIT).ignoreExceptions().untilAsserted(() -> {
                LoadBalancer lb = lb("split");
                assertThat(lb.getStatus().getHealthy()).isEqualTo("1/2");
                BackendHealthStatus b = lb.getStatus().getBackendHealth().get(0);
                assertThat(b.getUrl()).isEqualTo(B);
                assertThat(b.getInRotation()).isEqualTo(1);
                assertThat(b.getProxies()).isEqualTo(2);
                assertThat(b.getBreaker()).isEqualTo("open"); // the worst among them
                assertThat(b.getState()).isEqualTo("breaker-open");
                assertThat(condition(lb, Conditions.BACKENDS_HEALTHY).getStatus())
                        .isEqualTo("True");
            });
            assertThat(events("split", "BackendOutOfRotation")).isEmpty();
            assertThat(notReady.requests).hasValue(0); // a proxy that is not ready is not asked

            // A deleted LoadBalancer's proxies are no longer asked: answered at once, a watcher would ask each second.
            cluster.client.resource(lb("split")).delete();
            one.answerAtOnce();
            two.answerAtOnce();
            java.util.concurrent.atomic.AtomicInteger seen = new java.util.concurrent.atomic.AtomicInteger(-1);
            await().atMost(Duration.ofSeconds(20))
                    .pollInterval(Duration.ofMillis(500))
                    .until(() -> {
                        int now = one.requests.get() + two.requests.get();
                        return seen.getAndSet(now) == now; // none since the last look
                    });
            int settled = one.requests.get() + two.requests.get();
            await().during(Duration.ofSeconds(3))
                    .atMost(Duration.ofSeconds(5))
                    .until(() -> one.requests.get() + two.requests.get() == settled);
        }
    }
}
