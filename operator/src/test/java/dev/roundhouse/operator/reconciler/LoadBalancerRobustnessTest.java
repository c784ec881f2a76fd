package dev.roundhouse.operator.reconciler;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.roundhouse.operator.api.v1alpha1.BackendSpec;
import dev.roundhouse.operator.api.v1alpha1.LoadBalancer;
import dev.roundhouse.operator.api.v1alpha1.ServiceSpec;
import dev.roundhouse.operator.testing.OperatorCluster;
import dev.roundhouse.poolformat.PoolDocument;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.ResourceRequirementsBuilder;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * No object a user can create, and no edit a user can make to an owned object, leaves a LoadBalancer stuck or its
 * status lying: ownership by owner reference (labels can be lost), derived names another object already has, an
 * invalid spec held whole, and failures retried until they end, said in a line.
 */
class LoadBalancerRobustnessTest {

    private static final String NS = OperatorCluster.NS;
    private static final Duration WAIT = OperatorCluster.WAIT;

    private static OperatorCluster cluster;
    private static KubernetesClient client;

    @BeforeAll
    static void start() {
        cluster = OperatorCluster.start();
        client = cluster.client;
    }

    @AfterAll
    static void stop() {
        if (cluster != null) {
            cluster.close();
        }
    }

    // ---- ownership ------------------------------------------------------------------------------

    @Test
    void ownedObjectsThatLostTheirLabelsAreFoundByTheirOwnerAndRepaired() throws Exception {
        cluster.create(OperatorCluster.loadBalancer("relabel", "http://10.20.0.1:8080"));
        await().atMost(WAIT)
                .until(() -> cluster.pool("relabel") != null
                        && client.services().inNamespace(NS).withName("relabel").get() != null);

        // A user strips the labels (the operator's caches select by them) from the ConfigMap and the Service.
        client.configMaps()
                .inNamespace(NS)
                .withName("relabel-pool")
                .edit(cm -> new ConfigMapBuilder(cm)
                        .editMetadata()
                        .withLabels(Map.of())
                        .endMetadata()
                        .build());
        client.services()
                .inNamespace(NS)
                .withName("relabel")
                .edit(s -> new ServiceBuilder(s)
                        .editMetadata()
                        .withLabels(Map.of("team", "web"))
                        .endMetadata()
                        .build());
        cluster.edit("relabel", lb -> {
            lb.getSpec().setBackends(List.of(backend("http://10.20.0.2:8080")));
            return lb;
        });

        await().atMost(WAIT)
                .untilAsserted(() -> assertThat(cluster.poolDocument("relabel").backends())
                        .extracting(PoolDocument.BackendEntry::url)
                        .as("the later spec change reached the pool")
                        .containsExactly("http://10.20.0.2:8080"));
        assertThat(cluster.pool("relabel").getMetadata().getLabels())
                .containsEntry("app.kubernetes.io/managed-by", "roundhouse-operator");
        assertThat(client.services()
                        .inNamespace(NS)
                        .withName("relabel")
                        .get()
                        .getMetadata()
                        .getLabels())
                .containsEntry("app.kubernetes.io/managed-by", "roundhouse-operator")
                .as("labels of the user's own are left")
                .containsEntry("team", "web");
        await().atMost(WAIT)
                .untilAsserted(
                        () -> assertThat(cluster.condition("relabel", "Ready").getReason())
                                .isIn("ProxiesNotReady", "ProxiesReady"));
    }

    @Test
    void aForeignObjectUnderADerivedNameIsLeftAloneNothingElseIsCreatedAndItConvergesOnceItGoes() {
        client.configMaps()
                .inNamespace(NS)
                .resource(new ConfigMapBuilder()
                        .withNewMetadata()
                        .withName("clash-pool")
                        .endMetadata()
                        .withData(Map.of("team", "payments"))
                        .build())
                .create();

        cluster.create(OperatorCluster.loadBalancer("clash", "http://10.21.0.1:8080"));

        cluster.awaitCondition("clash", "Ready", "False", "NameConflict");
        assertThat(cluster.condition("clash", "Ready").getMessage())
                .startsWith(
                        "ConfigMap default/clash-pool exists and is not owned by this LoadBalancer: delete or rename it");
        ConfigMap foreign = cluster.pool("clash");
        assertThat(foreign.getData()).as("not changed").isEqualTo(Map.of("team", "payments"));
        assertThat(foreign.getMetadata().getOwnerReferences()).as("not adopted").isNullOrEmpty();
        assertThat(cluster.deployment("clash")).as("nothing else created").isNull();
        assertThat(client.services().inNamespace(NS).withName("clash").get()).isNull();
        assertThat(client.serviceAccounts()
                        .inNamespace(NS)
                        .withName("clash-proxy")
                        .get())
                .isNull();
        assertThat(client.rbac().roles().inNamespace(NS).withName("clash-proxy").get())
                .isNull();
        assertThat(client.rbac()
                        .roleBindings()
                        .inNamespace(NS)
                        .withName("clash-proxy")
                        .get())
                .isNull();

        client.configMaps().inNamespace(NS).withName("clash-pool").delete();

        await().atMost(WAIT)
                .until(() -> cluster.deployment("clash") != null
                        && cluster.pool("clash") != null
                        && cluster.pool("clash").getData().containsKey("pool.json"));
        cluster.awaitCondition("clash", "Ready", "False", "ProxiesNotReady");
    }

    @Test
    void aForeignServiceWithTheLoadBalancersNameIsNotTakenOver() {
        client.services()
                .inNamespace(NS)
                .resource(new ServiceBuilder()
                        .withNewMetadata()
                        .withName("web")
                        .endMetadata()
                        .withNewSpec()
                        .addNewPort()
                        .withPort(443)
                        .endPort()
                        .endSpec()
                        .build())
                .create();

        cluster.create(OperatorCluster.loadBalancer("web", "http://10.22.0.1:8080"));

        cluster.awaitCondition("web", "Ready", "False", "NameConflict");
        assertThat(cluster.condition("web", "Ready").getMessage()).startsWith("Service default/web exists");
        var service = client.services().inNamespace(NS).withName("web").get();
        assertThat(service.getMetadata().getOwnerReferences()).isNullOrEmpty();
        assertThat(service.getSpec().getPorts())
                .singleElement()
                .satisfies(p -> assertThat(p.getPort()).isEqualTo(443));
        assertThat(cluster.pool("web")).isNull();
        assertThat(cluster.deployment("web")).isNull();
    }

    // ---- an invalid spec is all or nothing -----------------------------------------------------

    @Test
    void anInvalidSpecChangesNothingNotEvenTheDeploymentAndSaysWhichGenerationIsHeld() throws Exception {
        cluster.create(OperatorCluster.loadBalancer("held", "http://10.23.0.1:8080"));
        await().atMost(WAIT).until(() -> cluster.deployment("held") != null && cluster.pool("held") != null);
        String deploymentVersion = cluster.deployment("held").getMetadata().getResourceVersion();
        String poolVersion = cluster.pool("held").getMetadata().getResourceVersion();

        // One edit: a duplicate backend (invalid) and a memory limit (which alone would roll the proxies).
        cluster.edit("held", lb -> {
            lb.getSpec().setBackends(List.of(backend("http://10.23.0.1:8080"), backend("http://10.23.0.1:8080")));
            lb.getSpec()
                    .setResources(new ResourceRequirementsBuilder()
                            .withLimits(Map.of("memory", new Quantity("300Mi")))
                            .build());
            return lb;
        });

        long generation = cluster.get("held").getMetadata().getGeneration();
        cluster.awaitCondition("held", "Ready", "False", "InvalidSpec");
        assertThat(cluster.condition("held", "Ready").getMessage())
                .startsWith("generation " + generation + " of the spec is invalid: ")
                .endsWith("nothing was changed, the proxies run the last valid spec");
        Condition progressing = cluster.condition("held", "Progressing");
        assertThat(progressing.getReason()).isEqualTo("SpecHeld");
        assertThat(progressing.getMessage()).isEqualTo("generation " + generation + " is held until the spec is valid");
        assertThat(cluster.deployment("held").getMetadata().getResourceVersion())
                .as("no rollout")
                .isEqualTo(deploymentVersion);
        assertThat(cluster.pool("held").getMetadata().getResourceVersion()).isEqualTo(poolVersion);

        cluster.edit("held", lb -> {
            lb.getSpec().setBackends(List.of(backend("http://10.23.0.1:8080")));
            return lb;
        });
        await().atMost(WAIT)
                .untilAsserted(() -> assertThat(cluster.deployment("held")
                                .getSpec()
                                .getTemplate()
                                .getSpec()
                                .getContainers()
                                .get(0)
                                .getResources()
                                .getLimits())
                        .containsEntry("memory", new Quantity("300Mi")));
    }

    @Test
    void aLoadBalancerThatWasNeverValidSaysNothingWasCreated() {
        LoadBalancer lb = OperatorCluster.loadBalancer("never", "http://10.24.0.1:8080", "http://10.24.0.1:8080");

        cluster.create(lb);

        cluster.awaitCondition("never", "Ready", "False", "InvalidSpec");
        assertThat(cluster.condition("never", "Ready").getMessage()).endsWith("nothing is created until it is valid");
        assertThat(cluster.pool("never")).isNull();
        assertThat(cluster.deployment("never")).isNull();
    }

    // ---- failures: a line, one aggregated event, retried until they end -----------------------------

    @Test
    void aFailureIsSaidInALineWithOneEventAndRetriedUntilItEndsWithoutAnyChange() {
        // The API server refuses the writes of this LoadBalancer's metrics Service for a while, as an outage would
        // (a path part: "/services/flaky" would refuse both Services, and either could be reported first).
        cluster.api.refuseWrites("/services/flaky-metrics");
        try {
            cluster.create(OperatorCluster.loadBalancer("flaky", "http://10.25.0.1:8080"));

            cluster.awaitCondition("flaky", "Ready", "False", "ReconcileFailed");
            String message = cluster.condition("flaky", "Ready").getMessage();
            assertThat(message)
                    .as("a line, not a stack trace")
                    .doesNotContain("\n")
                    .doesNotContain("\tat ")
                    .hasSizeLessThanOrEqualTo(1024)
                    .isEqualTo("Service default/flaky-metrics could not be written: Internal error occurred: the test "
                            + "refuses writes to /services/flaky-metrics");
            await().atMost(WAIT)
                    .untilAsserted(() -> assertThat(events("flaky"))
                            .singleElement()
                            .satisfies(e -> {
                                assertThat(e.getType()).isEqualTo("Warning");
                                assertThat(e.getReason()).isEqualTo("ReconcileFailed");
                                assertThat(e.getMessage()).isEqualTo(message);
                            }));
        } finally {
            cluster.api.refuseWrites(null);
        }
        // Nothing about the LoadBalancer changes: the retries alone bring it round.
        await().atMost(Duration.ofSeconds(40))
                .until(() -> client.services()
                                .inNamespace(NS)
                                .withName("flaky-metrics")
                                .get()
                        != null);
        cluster.awaitCondition("flaky", "Ready", "False", "ProxiesNotReady");
        assertThat(events("flaky")).as("one event for the one failure").hasSize(1);
    }

    @Test
    void theSameProblemAgainRaisesTheCountOfItsEventInsteadOfAddingOne() {
        cluster.create(OperatorCluster.loadBalancer("twice", "http://10.26.0.1:8080"));
        await().atMost(WAIT).until(() -> cluster.deployment("twice") != null);

        for (int round = 1; round <= 2; round++) {
            cluster.edit("twice", lb -> {
                lb.getSpec().setBackends(List.of(backend("http://10.26.0.1:8080"), backend("http://10.26.0.1:8080")));
                return lb;
            });
            cluster.awaitCondition("twice", "Ready", "False", "InvalidSpec");
            cluster.edit("twice", lb -> {
                lb.getSpec().setBackends(List.of(backend("http://10.26.0.1:8080")));
                return lb;
            });
            cluster.awaitCondition("twice", "Ready", "False", "ProxiesNotReady");
        }

        assertThat(events("twice")).singleElement().satisfies(e -> {
            assertThat(e.getReason()).isEqualTo("InvalidSpec");
            assertThat(e.getCount()).isEqualTo(2);
        });
    }

    @Test
    void aServiceAnnotationTheApiServerRefusesIsReportedInTheApiServersWords() {
        LoadBalancer lb = OperatorCluster.loadBalancer("annotated", "http://10.27.0.1:8080");
        ServiceSpec service = new ServiceSpec();
        service.setAnnotations(Map.of("not a key!", "x"));
        lb.getSpec().setService(service);

        cluster.create(lb);

        cluster.awaitCondition("annotated", "Ready", "False", "ReconcileFailed");
        assertThat(cluster.condition("annotated", "Ready").getMessage())
                .startsWith("Service default/annotated could not be written: Service \"annotated\" is invalid: "
                        + "metadata.annotations: Invalid value: \"not a key!\"")
                .doesNotContain("\n");
    }

    private static List<Event> events(String name) {
        List<Event> events = new ArrayList<>();
        for (Event e : client.v1().events().inNamespace(NS).list().getItems()) {
            if (e.getInvolvedObject() != null
                    && name.equals(e.getInvolvedObject().getName())
                    && "LoadBalancer".equals(e.getInvolvedObject().getKind())) {
                events.add(e);
            }
        }
        return events;
    }

    private static BackendSpec backend(String url) {
        BackendSpec b = new BackendSpec();
        b.setUrl(url);
        return b;
    }
}
