package dev.roundhouse.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.roundhouse.e2e.local.LocalCluster;
import dev.roundhouse.e2e.local.LocalKubelet.RunningProxy;
import dev.roundhouse.e2e.testing.Cluster;
import dev.roundhouse.e2e.testing.SharedCluster;
import dev.roundhouse.operator.api.v1alpha1.LoadBalancer;
import dev.roundhouse.testing.TestBackend;
import io.fabric8.kubernetes.api.model.OwnerReference;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.discovery.v1.Endpoint;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointPort;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The local runner publishes the proxies' endpoints as the EndpointSlice controller would, so that whoever reads the
 * metrics Service's slices (Prometheus, the operator) finds each ready proxy's metrics port on 127.0.0.1.
 */
@ExtendWith(SharedCluster.class)
class EndpointSlicesE2ETest {

    private static final Duration WAIT = Duration.ofSeconds(60);

    private final List<TestBackend> backends =
            List.of(TestBackend.start("backend-a"), TestBackend.start("backend-b"), TestBackend.start("backend-c"));
    private final Cluster cluster;

    EndpointSlicesE2ETest(LocalCluster local) {
        cluster = new Cluster(local, "e2e-endpoint-slices");
    }

    @AfterEach
    void cleanUp() {
        cluster.deleteLoadBalancers();
        backends.forEach(TestBackend::close);
    }

    @Test
    void theProxysServicesHaveEndpointSlicesThatFollowItsPod() throws Exception {
        cluster.applyOrFail(Cluster.sample(backends));
        cluster.awaitReady("demo");
        RunningProxy proxy = cluster.awaitProxy("demo");

        EndpointSlice metrics = awaitSlice("demo-metrics", s -> ready(s) && !ports(s).isEmpty());
        assertThat(ports(metrics)).containsExactlyEntriesOf(Map.of("metrics", proxy.metricsPort()));
        Endpoint endpoint = metrics.getEndpoints().get(0);
        assertThat(endpoint.getAddresses()).containsExactly("127.0.0.1");
        assertThat(endpoint.getConditions().getServing()).isTrue();
        assertThat(endpoint.getConditions().getTerminating()).isFalse();
        assertThat(endpoint.getTargetRef().getKind()).isEqualTo("Pod");
        assertThat(endpoint.getTargetRef().getName()).startsWith("demo-proxy-");
        assertThat(metrics.getAddressType()).isEqualTo("IPv4");
        assertThat(metrics.getPorts().get(0).getProtocol()).isEqualTo("TCP");
        assertThat(Cluster.get(URI.create("http://127.0.0.1:" + ports(metrics).get("metrics") + "/readyz"))
                        .statusCode())
                .as("GET /readyz on the slice's metrics port")
                .isEqualTo(200);

        Service metricsService = service("demo-metrics");
        assertThat(metrics.getMetadata().getName()).startsWith("demo-metrics-");
        assertThat(metrics.getMetadata().getLabels())
                .containsEntry("kubernetes.io/service-name", "demo-metrics")
                .containsEntry("endpointslice.kubernetes.io/managed-by", "endpointslice-controller.k8s.io")
                .as("the Service's labels, copied")
                .containsAllEntriesOf(metricsService.getMetadata().getLabels());
        OwnerReference owner = metrics.getMetadata().getOwnerReferences().get(0);
        assertThat(owner.getKind()).isEqualTo("Service");
        assertThat(owner.getName()).isEqualTo("demo-metrics");
        assertThat(owner.getUid()).isEqualTo(metricsService.getMetadata().getUid());
        assertThat(owner.getController()).isTrue();

        EndpointSlice traffic = awaitSlice("demo", s -> ready(s) && ports(s).size() == 2);
        assertThat(ports(traffic)).isEqualTo(Map.of("http", proxy.port(), "https", proxy.tlsPort()));
        assertThat(traffic.getEndpoints().get(0).getTargetRef().getName())
                .as("one pod behind both Services")
                .isEqualTo(endpoint.getTargetRef().getName());

        // A sync with nothing changed writes nothing (the kubelet syncs every 250 ms).
        long before = sliceWrites();
        Awaitility.await("no EndpointSlice write while nothing changes")
                .during(Duration.ofSeconds(2))
                .atMost(Duration.ofSeconds(5))
                .pollInterval(Duration.ofMillis(100))
                .until(() -> sliceWrites() == before);

        // Deleted by someone else: written again, as the controller would.
        cluster.local().client().resource(metrics).delete();
        EndpointSlice rewritten = awaitSlice(
                "demo-metrics",
                s -> ready(s)
                        && !s.getMetadata()
                                .getUid()
                                .equals(metrics.getMetadata().getUid()));
        assertThat(rewritten.getMetadata().getName())
                .isEqualTo(metrics.getMetadata().getName());

        // Scaled to zero: the pod drains (the proxy's shutdown delay), its endpoint terminating, then it goes.
        scale(0);
        EndpointSlice draining = awaitSlice(
                "demo-metrics",
                s -> Boolean.TRUE.equals(s.getEndpoints().get(0).getConditions().getTerminating()));
        assertThat(draining.getMetadata().getName())
                .isEqualTo(metrics.getMetadata().getName());
        assertThat(draining.getEndpoints().get(0).getConditions().getReady())
                .as("never ready while terminating")
                .isFalse();
        awaitNoSlices("demo-metrics");
        awaitNoSlices("demo");

        // A new pod, a new slice.
        scale(1);
        RunningProxy again = cluster.awaitProxy("demo");
        EndpointSlice back = awaitSlice("demo-metrics", s -> ready(s) && !ports(s).isEmpty());
        assertThat(back.getMetadata().getName())
                .isNotEqualTo(metrics.getMetadata().getName());
        assertThat(ports(back)).containsEntry("metrics", again.metricsPort());

        // The LoadBalancer deleted: its Services go, and their slices with them.
        cluster.deleteLoadBalancers();
        awaitNoSlices("demo-metrics");
        awaitNoSlices("demo");
    }

    /** Writes of this namespace's EndpointSlices the API server has received. */
    private long sliceWrites() {
        return cluster.local().apiServer().writes().stream()
                .filter(w -> w.path().contains("/namespaces/" + cluster.namespace() + "/endpointslices"))
                .count();
    }

    private void scale(int replicas) {
        cluster.local()
                .client()
                .resources(LoadBalancer.class)
                .inNamespace(cluster.namespace())
                .withName("demo")
                .edit(lb -> {
                    lb.getSpec().setReplicas(replicas);
                    return lb;
                });
    }

    private Service service(String name) {
        return cluster.local()
                .client()
                .services()
                .inNamespace(cluster.namespace())
                .withName(name)
                .get();
    }

    private List<EndpointSlice> slices(String service) {
        return cluster.local()
                .client()
                .discovery()
                .v1()
                .endpointSlices()
                .inNamespace(cluster.namespace())
                .withLabel("kubernetes.io/service-name", service)
                .list()
                .getItems();
    }

    /** The Service's one slice, once it is as {@code wanted} says. */
    private EndpointSlice awaitSlice(String service, java.util.function.Predicate<EndpointSlice> wanted) {
        return Awaitility.await("the EndpointSlice of " + service)
                .atMost(WAIT)
                .pollInterval(Duration.ofMillis(50))
                .until(() -> slices(service), s -> s.size() == 1 && wanted.test(s.get(0)))
                .get(0);
    }

    private void awaitNoSlices(String service) {
        Awaitility.await("no EndpointSlice of " + service)
                .atMost(WAIT)
                .pollInterval(Duration.ofMillis(100))
                .until(() -> slices(service), List::isEmpty);
    }

    private static boolean ready(EndpointSlice slice) {
        return slice.getEndpoints().size() == 1
                && Boolean.TRUE.equals(
                        slice.getEndpoints().get(0).getConditions().getReady());
    }

    private static Map<String, Integer> ports(EndpointSlice slice) {
        return slice.getPorts().stream().collect(Collectors.toMap(EndpointPort::getName, EndpointPort::getPort));
    }
}
