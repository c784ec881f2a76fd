package dev.roundhouse.operator.faults;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.roundhouse.operator.OperatorSettings;
import dev.roundhouse.operator.RoundhouseOperator;
import dev.roundhouse.operator.api.v1alpha1.BackendSpec;
import dev.roundhouse.operator.api.v1alpha1.LoadBalancer;
import dev.roundhouse.operator.api.v1alpha1.LoadBalancerSpec;
import dev.roundhouse.operator.model.Labels;
import dev.roundhouse.poolformat.PoolDocumentCodec;
import dev.roundhouse.testing.Http;
import dev.roundhouse.testing.apiserver.EmbeddedApiServer;
import dev.roundhouse.testing.apiserver.Write;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.OwnerReference;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.DeploymentStatusBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Fault: the operator dies in the middle of reconciling a batch of LoadBalancers (its API connections cut, as when
 * its pod is killed), the cluster changes while it is away (a LoadBalancer deleted and created again under the same
 * name, another one edited), and a new operator takes over. In the end every LoadBalancer is Ready with exactly one
 * of each object it owns, every object is owned by a LoadBalancer that exists (the one of its name, by uid), the
 * edit is applied, and an operator with nothing to do writes nothing.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class OperatorRestartMidReconcileTest {

    private static final String NS = "default";
    private static final int COUNT = 30;
    private static final Duration CONVERGE = Duration.ofSeconds(90);
    private static final String MANAGED = "app.kubernetes.io/managed-by";
    private static final String INSTANCE = "app.kubernetes.io/instance";
    private static final OperatorSettings SETTINGS =
            new OperatorSettings(Set.of(), "example.org/roundhouse-proxy:test", "info", 0, false, NS);

    private EmbeddedApiServer api;
    private KubernetesClient client;
    private SharedIndexInformer<Deployment> kubelet;
    private RoundhouseOperator operator;

    @AfterEach
    void stop() {
        if (operator != null) {
            operator.close();
        }
        if (kubelet != null) {
            kubelet.close();
        }
        if (api != null) {
            api.close();
        }
    }

    private static String name(int i) {
        return String.format("lb-%02d", i);
    }

    private static LoadBalancer loadBalancer(String name, String backend) {
        LoadBalancer lb = new LoadBalancer();
        lb.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace(NS).build());
        LoadBalancerSpec spec = new LoadBalancerSpec();
        BackendSpec b = new BackendSpec();
        b.setUrl(backend);
        spec.setBackends(List.of(b));
        lb.setSpec(spec);
        return lb;
    }

    private static String backend(int i) {
        return "http://10.9." + i + ".1:8080";
    }

    private List<LoadBalancer> loadBalancers() {
        return client.resources(LoadBalancer.class).inNamespace(NS).list().getItems();
    }

    private static boolean ready(LoadBalancer lb) {
        if (lb.getStatus() == null || lb.getStatus().getConditions() == null) {
            return false;
        }
        return lb.getStatus().getConditions().stream()
                .anyMatch(c -> "Ready".equals(c.getType()) && "True".equals(c.getStatus()));
    }

    private long readyCount() {
        return loadBalancers().stream()
                .filter(OperatorRestartMidReconcileTest::ready)
                .count();
    }

    /**
     * Plays the kubelet and the Deployment controller for every Deployment the operator makes: all replicas up
     * to date and ready, as soon as it sees the Deployment (and again after each change of its spec).
     */
    private void startKubelet(KubernetesClient kubeletClient) {
        kubelet = kubeletClient
                .apps()
                .deployments()
                .inNamespace(NS)
                .withLabel(MANAGED, "roundhouse-operator")
                .inform(
                        new ResourceEventHandler<>() {
                            @Override
                            public void onAdd(Deployment d) {
                                markReady(kubeletClient, d);
                            }

                            @Override
                            public void onUpdate(Deployment before, Deployment d) {
                                markReady(kubeletClient, d);
                            }

                            @Override
                            public void onDelete(Deployment d, boolean finalStateUnknown) {}
                        },
                        0);
    }

    private static void markReady(KubernetesClient kubeletClient, Deployment d) {
        int replicas = Objects.requireNonNullElse(d.getSpec().getReplicas(), 1);
        var s = d.getStatus();
        if (s != null
                && Objects.equals(s.getObservedGeneration(), d.getMetadata().getGeneration())
                && Objects.equals(s.getReadyReplicas(), replicas)
                && Objects.equals(s.getUpdatedReplicas(), replicas)) {
            return;
        }
        d.setStatus(new DeploymentStatusBuilder()
                .withObservedGeneration(d.getMetadata().getGeneration())
                .withReplicas(replicas)
                .withUpdatedReplicas(replicas)
                .withReadyReplicas(replicas)
                .withAvailableReplicas(replicas)
                .build());
        try {
            kubeletClient.apps().deployments().inNamespace(NS).resource(d).updateStatus();
        } catch (KubernetesClientException e) {
            // 409: the Deployment changed meanwhile; its update event brings the new version here again
        }
    }

    /** Writes since the last reset that the operator made (the test's kubelet writes only Deployment status). */
    private List<Write> operatorWrites() {
        return api.writes().stream()
                .filter(w -> !(w.method().equals("PUT")
                        && w.path().matches("/apis/apps/v1/namespaces/.*/deployments/.*/status.*")))
                .toList();
    }

    private double unchangedReconciles() {
        String scrape =
                Http.get("http://127.0.0.1:" + operator.httpPort() + "/metrics").body();
        return scrape.lines()
                .filter(l -> l.startsWith("roundhouse_operator_reconciles_total{status=\"unchanged\"}"))
                .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1)))
                .sum();
    }

    /** Killed as soon as the first LoadBalancer is Ready: the others are somewhere in their reconcile. */
    @Test
    void anOperatorKilledOnceSomeAreReadyIsReplacedWithoutDuplicateOrOrphanedObjects() throws Exception {
        killMidBatchThenTakeOver(() -> readyCount() >= 1, atKill -> {
            long ready = atKill.stream()
                    .filter(OperatorRestartMidReconcileTest::ready)
                    .count();
            assertThat(ready).as("killed mid-batch: some but not all Ready").isBetween(1L, COUNT - 1L);
        });
    }

    /**
     * Killed after its first twenty writes (the server's own count, read without a request, so the kill comes
     * within milliseconds): most LoadBalancers have none or only some of their objects.
     */
    @Test
    void anOperatorKilledWhileCreatingObjectsIsReplacedWithoutDuplicateOrOrphanedObjects() throws Exception {
        killMidBatchThenTakeOver(() -> api.writeCount() >= 20, atKill -> {
            long objects = ownedObjectsPerLoadBalancer().values().stream()
                    .mapToLong(Long::longValue)
                    .sum();
            assertThat(objects)
                    .as("killed while creating: objects of the %d LoadBalancers", COUNT)
                    .isBetween(1L, (long) ownedKinds().size() * COUNT - 1);
        });
    }

    private void killMidBatchThenTakeOver(
            java.util.concurrent.Callable<Boolean> killWhen,
            java.util.function.Consumer<List<LoadBalancer>> checkAtKill)
            throws Exception {
        api = new EmbeddedApiServer().start();
        api.applyCrds(Path.of("..", "crds", "loadbalancers.roundhouse.dev-v1.yml"));
        client = api.client();
        startKubelet(api.newClient());

        // A batch waiting for the operator, which reaches the API server through a relay the test can cut.
        for (int i = 0; i < COUNT; i++) {
            client.resource(loadBalancer(name(i), backend(i))).create();
        }
        KillSwitch killSwitch = new KillSwitch(api.port());
        api.resetWriteCount();
        operator = RoundhouseOperator.start(SETTINGS, killSwitch.client());

        // The kill: every connection of the operator is reset at once (requests in flight are lost, whether or not
        // the server applied them), as when its pod dies; then its threads are stopped, writing nothing more.
        await().atMost(CONVERGE).pollInterval(Duration.ofMillis(5)).until(killWhen);
        killSwitch.kill();
        operator.close();
        operator = null;
        List<LoadBalancer> atKill = loadBalancers();
        long readyAtKill =
                atKill.stream().filter(OperatorRestartMidReconcileTest::ready).count();
        Map<String, Long> objectsAtKill = ownedObjectsPerLoadBalancer();
        System.out.printf(
                "Operator killed with %d of %d LoadBalancers Ready, %d objects; per LoadBalancer: %s%n",
                readyAtKill,
                COUNT,
                objectsAtKill.values().stream().mapToLong(Long::longValue).sum(),
                objectsAtKill);
        checkAtKill.accept(atKill);

        // While no operator runs: a LoadBalancer that has objects is deleted and created again (a new uid under the
        // same name), and another one gets another backend.
        String recreated = atKill.stream()
                .map(lb -> lb.getMetadata().getName())
                .filter(objectsAtKill::containsKey)
                .findFirst()
                .orElseThrow();
        String oldUid = client.resources(LoadBalancer.class)
                .inNamespace(NS)
                .withName(recreated)
                .get()
                .getMetadata()
                .getUid();
        client.resources(LoadBalancer.class).inNamespace(NS).withName(recreated).delete();
        await().atMost(Duration.ofSeconds(10))
                .until(() -> client.resources(LoadBalancer.class)
                                .inNamespace(NS)
                                .withName(recreated)
                                .get()
                        == null);
        // The garbage collector deletes the old one's objects: the operator leaves them alone until they are gone
        // (NameConflict meanwhile), never takes them over.
        List<List<? extends HasMetadata>> everyKind =
                new java.util.ArrayList<>(ownedKinds().values());
        everyKind.add(client.policy()
                .v1()
                .podDisruptionBudget()
                .inNamespace(NS)
                .list()
                .getItems());
        for (List<? extends HasMetadata> objects : everyKind) {
            for (HasMetadata o : objects) {
                if (Objects.requireNonNullElse(o.getMetadata().getOwnerReferences(), List.<OwnerReference>of()).stream()
                        .anyMatch(ref -> oldUid.equals(ref.getUid()))) {
                    await().atMost(Duration.ofSeconds(10))
                            .until(() -> client.resource(o).get() == null);
                }
            }
        }
        int recreatedIndex = Integer.parseInt(recreated.substring(3));
        client.resource(loadBalancer(recreated, backend(recreatedIndex))).create();
        String edited = atKill.stream()
                .filter(lb -> !ready(lb))
                .map(lb -> lb.getMetadata().getName())
                .filter(n -> !n.equals(recreated))
                .findFirst()
                .orElseThrow();
        String editedBackend = "http://10.99.0.1:8080";
        client.resources(LoadBalancer.class).inNamespace(NS).withName(edited).edit(lb -> {
            lb.getSpec().getBackends().get(0).setUrl(editedBackend);
            return lb;
        });

        // A new operator in the same JVM takes over.
        long restartedAt = System.nanoTime();
        operator = RoundhouseOperator.start(SETTINGS, api.newClient());
        await().atMost(CONVERGE)
                .pollInterval(Duration.ofMillis(50))
                .untilAsserted(() -> assertThat(loadBalancers().stream()
                                .filter(lb -> !ready(lb))
                                .map(lb -> lb.getMetadata().getName() + ": "
                                        + (lb.getStatus() == null
                                                ? "no status"
                                                : lb.getStatus().getConditions()))
                                .toList())
                        .as("LoadBalancers not Ready")
                        .isEmpty());
        System.out.printf(
                "New operator: all %d Ready after %d ms%n", COUNT, (System.nanoTime() - restartedAt) / 1_000_000);

        Map<String, String> uids = loadBalancers().stream()
                .collect(Collectors.toMap(
                        lb -> lb.getMetadata().getName(), lb -> lb.getMetadata().getUid()));
        assertThat(uids).hasSize(COUNT);
        assertThat(uids.get(recreated)).isNotEqualTo(oldUid);
        assertExactlyOneOwnedObjectOfEachKindPerLoadBalancer(uids);
        assertThat(PoolDocumentCodec.parse(client.configMaps()
                                .inNamespace(NS)
                                .withName(edited + "-pool")
                                .get()
                                .getData()
                                .get("pool.json"))
                        .backends())
                .singleElement()
                .satisfies(b -> assertThat(b.url()).isEqualTo(editedBackend));

        // Quiet once converged: nothing written while the operator runs with nothing to do ...
        awaitNoWritesFor(Duration.ofSeconds(2));
        api.resetWriteCount();
        await().during(Duration.ofSeconds(3))
                .atMost(Duration.ofSeconds(5))
                .pollInterval(Duration.ofMillis(100))
                .until(() -> api.writes().isEmpty());

        // ... nor by yet another operator, which reconciles every LoadBalancer once as it starts.
        operator.close();
        operator = RoundhouseOperator.start(SETTINGS, api.newClient());
        await().atMost(CONVERGE).pollInterval(Duration.ofMillis(100)).until(() -> unchangedReconciles() >= COUNT);
        assertThat(operatorWrites())
                .as("writes by operators with nothing to do")
                .isEmpty();
        assertExactlyOneOwnedObjectOfEachKindPerLoadBalancer(uids);
    }

    /** The objects the operator creates for every LoadBalancer, by kind (no ServiceMonitor: none asks for one). */
    private Map<String, List<? extends HasMetadata>> ownedKinds() {
        Map<String, List<? extends HasMetadata>> kinds = new HashMap<>();
        kinds.put("ConfigMap", client.configMaps().inNamespace(NS).list().getItems());
        kinds.put(
                "Deployment", client.apps().deployments().inNamespace(NS).list().getItems());
        // The traffic Service and the metrics Service apart: one of each per LoadBalancer.
        Map<Boolean, List<Service>> services = client.services().inNamespace(NS).list().getItems().stream()
                .collect(Collectors.partitioningBy(s -> s.getMetadata().getLabels() != null
                        && "metrics".equals(s.getMetadata().getLabels().get(Labels.COMPONENT))));
        kinds.put("Service", services.get(false));
        kinds.put("metrics Service", services.get(true));
        kinds.put(
                "ServiceAccount",
                client.serviceAccounts().inNamespace(NS).list().getItems());
        kinds.put("Role", client.rbac().roles().inNamespace(NS).list().getItems());
        kinds.put(
                "RoleBinding",
                client.rbac().roleBindings().inNamespace(NS).list().getItems());
        return kinds;
    }

    /** Objects of the owned kinds carrying the operator's label, per LoadBalancer name (instance label). */
    private Map<String, Long> ownedObjectsPerLoadBalancer() {
        return ownedKinds().values().stream()
                .flatMap(List::stream)
                .filter(o -> o.getMetadata().getLabels() != null
                        && "roundhouse-operator"
                                .equals(o.getMetadata().getLabels().get(MANAGED)))
                .collect(Collectors.groupingBy(
                        o -> o.getMetadata().getLabels().get(INSTANCE), java.util.TreeMap::new, Collectors.counting()));
    }

    private void assertExactlyOneOwnedObjectOfEachKindPerLoadBalancer(Map<String, String> uids) {
        Set<String> liveUids = Set.copyOf(uids.values());
        for (Map.Entry<String, List<? extends HasMetadata>> kind : ownedKinds().entrySet()) {
            List<? extends HasMetadata> objects = kind.getValue();
            // Orphans: anything owned by a LoadBalancer that does not exist (any object, labelled or not).
            for (HasMetadata o : objects) {
                for (OwnerReference ref :
                        Objects.requireNonNullElse(o.getMetadata().getOwnerReferences(), List.<OwnerReference>of())) {
                    if ("LoadBalancer".equals(ref.getKind())) {
                        assertThat(liveUids)
                                .as(
                                        "%s %s is owned by LoadBalancer uid %s",
                                        kind.getKey(), o.getMetadata().getName(), ref.getUid())
                                .contains(ref.getUid());
                    }
                }
            }
            List<? extends HasMetadata> managed = objects.stream()
                    .filter(o -> o.getMetadata().getLabels() != null
                            && "roundhouse-operator"
                                    .equals(o.getMetadata().getLabels().get(MANAGED)))
                    .toList();
            Map<String, List<HasMetadata>> byInstance = managed.stream()
                    .collect(Collectors.groupingBy(
                            o -> o.getMetadata().getLabels().get(INSTANCE)));
            assertThat(byInstance.keySet())
                    .as("LoadBalancers with a %s", kind.getKey())
                    .isEqualTo(uids.keySet());
            for (Map.Entry<String, List<HasMetadata>> e : byInstance.entrySet()) {
                assertThat(e.getValue())
                        .as("%ss of %s", kind.getKey(), e.getKey())
                        .singleElement()
                        .satisfies(o -> assertThat(o.getMetadata().getOwnerReferences())
                                .as(
                                        "owners of %s %s",
                                        kind.getKey(), o.getMetadata().getName())
                                .singleElement()
                                .satisfies(ref -> {
                                    assertThat(ref.getKind()).isEqualTo("LoadBalancer");
                                    assertThat(ref.getController()).isTrue();
                                    assertThat(ref.getName()).isEqualTo(e.getKey());
                                    assertThat(ref.getUid()).isEqualTo(uids.get(e.getKey()));
                                }));
            }
        }
    }

    /** Waits (bounded) until the write count has not moved for {@code quiet}. */
    private void awaitNoWritesFor(Duration quiet) {
        AtomicInteger last = new AtomicInteger(-1);
        AtomicLong since = new AtomicLong(System.nanoTime());
        await().atMost(CONVERGE).pollInterval(Duration.ofMillis(100)).until(() -> {
            int now = api.writeCount();
            if (now != last.getAndSet(now)) {
                since.set(System.nanoTime());
            }
            return System.nanoTime() - since.get() >= quiet.toNanos();
        });
    }
}
