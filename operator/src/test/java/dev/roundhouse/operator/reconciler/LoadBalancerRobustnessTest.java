package dev.roundhouse.operator.reconciler;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.roundhouse.operator.api.v1alpha1.BackendSpec;
import dev.roundhouse.operator.api.v1alpha1.LoadBalancer;
import dev.roundhouse.operator.api.v1alpha1.ServiceRefSpec;
import dev.roundhouse.operator.api.v1alpha1.ServiceSpec;
import dev.roundhouse.operator.testing.LogCapture;
import dev.roundhouse.operator.testing.OperatorCluster;
import dev.roundhouse.poolformat.PoolDocument;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.OwnerReference;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
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

    /**
     * A LoadBalancer held invalid (nothing of it is created meanwhile), its {@code <name>-metrics} Service put there
     * first on port 9999 with a non-controller reference to it and the {@code extra} references, then the spec made
     * valid.
     */
    private void metricsServiceBeforeTheLoadBalancer(String name, String network, List<OwnerReference> extra) {
        LoadBalancer lb = cluster.create(
                OperatorCluster.loadBalancer(name, "http://" + network + ":8080", "http://" + network + ":8080"));
        cluster.awaitCondition(name, "Ready", "False", "InvalidSpec");
        List<OwnerReference> references = new java.util.ArrayList<>(extra);
        references.add(new OwnerReferenceBuilder()
                .withApiVersion(lb.getApiVersion())
                .withKind("LoadBalancer")
                .withName(name)
                .withUid(lb.getMetadata().getUid())
                .build());
        client.services()
                .inNamespace(NS)
                .resource(new ServiceBuilder()
                        .withNewMetadata()
                        .withName(name + "-metrics")
                        .withLabels(Map.of("app.kubernetes.io/managed-by", "roundhouse-operator"))
                        .withOwnerReferences(references)
                        .endMetadata()
                        .withNewSpec()
                        .addNewPort()
                        .withPort(9999)
                        .endPort()
                        .endSpec()
                        .build())
                .create();
        cluster.edit(name, l -> {
            l.getSpec().setBackends(List.of(backend("http://" + network + ":8080")));
            return l;
        });
    }

    /**
     * What an earlier Roundhouse wrote (its labels and a reference to the LoadBalancer's uid, without {@code
     * controller: true}) is adopted on upgrade, not a NameConflict: the reference becomes the controller and the
     * object is brought to what the LoadBalancer asks.
     */
    @Test
    void anObjectAnEarlierRoundhouseWroteIsAdoptedOnUpgrade() {
        metricsServiceBeforeTheLoadBalancer("earlier", "10.28.0.1", List.of());

        cluster.awaitCondition("earlier", "Ready", "False", "ProxiesNotReady");
        await().atMost(WAIT).untilAsserted(() -> {
            var adopted = client.services()
                    .inNamespace(NS)
                    .withName("earlier-metrics")
                    .get();
            assertThat(adopted.getMetadata().getOwnerReferences())
                    .singleElement()
                    .satisfies(r -> assertThat(r.getController()).as("adopted").isTrue());
            assertThat(adopted.getSpec().getPorts())
                    .singleElement()
                    .satisfies(p ->
                            assertThat(p.getPort()).as("brought to the spec").isNotEqualTo(9999));
        });
        assertThat(cluster.deployment("earlier")).isNotNull();
    }

    /** A reference to the LoadBalancer does not make an object ours when another controller owns it. */
    @Test
    void anObjectAnotherControllerOwnsIsNotAdoptedEvenWithAReferenceToTheLoadBalancer() {
        metricsServiceBeforeTheLoadBalancer(
                "shared",
                "10.29.0.1",
                List.of(new OwnerReferenceBuilder()
                        .withApiVersion("apps/v1")
                        .withKind("Deployment")
                        .withName("someone-else")
                        .withUid(java.util.UUID.randomUUID().toString())
                        .withController(true)
                        .build()));

        cluster.awaitCondition("shared", "Ready", "False", "NameConflict");
        var foreign =
                client.services().inNamespace(NS).withName("shared-metrics").get();
        assertThat(foreign.getSpec().getPorts())
                .singleElement()
                .satisfies(p -> assertThat(p.getPort()).as("not changed").isEqualTo(9999));
        assertNothingCreated("shared");
    }

    @Test
    void anObjectAnotherControllerOwnsIsANameConflictNotAdopted() {
        // The other controller's object: a reference to no existing owner would be garbage, on a cluster as here.
        String otherUid = client.configMaps()
                .inNamespace(NS)
                .resource(new ConfigMapBuilder()
                        .withNewMetadata()
                        .withName("someone-else")
                        .endMetadata()
                        .build())
                .create()
                .getMetadata()
                .getUid();
        client.configMaps()
                .inNamespace(NS)
                .resource(new ConfigMapBuilder()
                        .withNewMetadata()
                        .withName("controlled-pool")
                        .withLabels(Map.of("app.kubernetes.io/managed-by", "roundhouse-operator"))
                        .addNewOwnerReference()
                        .withApiVersion("v1")
                        .withKind("ConfigMap")
                        .withName("someone-else")
                        .withUid(otherUid)
                        .withController(true)
                        .endOwnerReference()
                        .endMetadata()
                        .withData(Map.of("pool.json", "{}"))
                        .build())
                .create();

        cluster.create(OperatorCluster.loadBalancer("controlled", "http://10.29.0.1:8080"));

        cluster.awaitCondition("controlled", "Ready", "False", "NameConflict");
        assertThat(cluster.condition("controlled", "Ready").getMessage())
                .startsWith("ConfigMap default/controlled-pool exists and is not owned by this LoadBalancer");
        ConfigMap foreign = cluster.pool("controlled");
        assertThat(foreign.getData()).isEqualTo(Map.of("pool.json", "{}"));
        assertThat(foreign.getMetadata().getOwnerReferences())
                .singleElement()
                .satisfies(r -> assertThat(r.getUid()).isEqualTo(otherUid));
        assertNothingCreated("controlled");
        assertThat(client.services().inNamespace(NS).withName("controlled").get())
                .isNull();

        client.configMaps().inNamespace(NS).withName("controlled-pool").delete();
        await().atMost(WAIT).until(() -> cluster.deployment("controlled") != null);
        cluster.awaitCondition("controlled", "Ready", "False", "ProxiesNotReady");
    }

    /**
     * A LoadBalancer deleted and created again under the same name while its objects are still there (the garbage
     * collector, held back here as a lagging controller manager would be, has not deleted them yet): they are an
     * earlier owner's, left alone until they go, and the status says the garbage collector is what it waits for.
     */
    @Test
    void objectsOfAnEarlierLoadBalancerOfTheSameNameAreLeftToTheGarbageCollector() throws Exception {
        LoadBalancer first = cluster.create(OperatorCluster.loadBalancer("reborn", "http://10.31.0.1:8080"));
        await().atMost(WAIT).until(() -> cluster.deployment("reborn") != null && cluster.pool("reborn") != null);
        String oldUid = first.getMetadata().getUid();
        AutoCloseable lagging = cluster.api.pauseGarbageCollection();
        try {
            client.resources(LoadBalancer.class)
                    .inNamespace(NS)
                    .withName("reborn")
                    .delete();
            await().atMost(WAIT).until(() -> cluster.get("reborn") == null);

            cluster.create(OperatorCluster.loadBalancer("reborn", "http://10.31.0.2:8080"));

            cluster.awaitCondition("reborn", "Ready", "False", "NameConflict");
            assertThat(cluster.condition("reborn", "Ready").getMessage())
                    .contains(
                            "belong to an earlier LoadBalancer of this name, deleted: the garbage collector deletes them")
                    .contains("ConfigMap default/reborn-pool")
                    .hasSizeLessThanOrEqualTo(1024);
            assertThat(cluster.pool("reborn").getMetadata().getOwnerReferences())
                    .as("not taken over")
                    .singleElement()
                    .satisfies(r -> assertThat(r.getUid()).isEqualTo(oldUid));
        } finally {
            lagging.close(); // the garbage collector catches up
        }

        await().atMost(WAIT)
                .untilAsserted(
                        () -> assertThat(cluster.pool("reborn").getMetadata().getOwnerReferences())
                                .singleElement()
                                .satisfies(r -> assertThat(r.getUid()).isNotEqualTo(oldUid)));
        cluster.awaitCondition("reborn", "Ready", "False", "ProxiesNotReady");
    }

    private static void assertNothingCreated(String name) {
        assertThat(cluster.deployment(name)).as("nothing else created").isNull();
        assertThat(client.serviceAccounts()
                        .inNamespace(NS)
                        .withName(name + "-proxy")
                        .get())
                .isNull();
        assertThat(client.rbac()
                        .roles()
                        .inNamespace(NS)
                        .withName(name + "-proxy")
                        .get())
                .isNull();
        assertThat(client.rbac()
                        .roleBindings()
                        .inNamespace(NS)
                        .withName(name + "-proxy")
                        .get())
                .isNull();
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

    // ---- messages: a line or a few, never a stack trace, at most 1 KiB --------------------------------

    @Test
    void threeHundredInvalidBackendsMakeAShortMessageNamingTheFirstAndCountingTheRest() {
        String[] urls = new String[300];
        java.util.Arrays.fill(urls, "http://10.32.0.1:8080");
        cluster.create(OperatorCluster.loadBalancer("many", urls));

        cluster.awaitCondition("many", "Ready", "False", "InvalidSpec");
        for (String type : List.of("Ready", "Degraded")) {
            assertThat(cluster.condition("many", type).getMessage())
                    .as(type)
                    .hasSizeLessThanOrEqualTo(1024)
                    .startsWith("generation 1 of the spec is invalid: backends[1].url: duplicate of backends[0]")
                    .containsPattern("; and \\d+ more; nothing is created until it is valid$")
                    .doesNotContain("\n")
                    .doesNotContain("\tat ");
        }
        await().atMost(WAIT)
                .untilAsserted(() -> assertThat(events("many"))
                        .singleElement()
                        .satisfies(e -> assertThat(e.getMessage())
                                .hasSizeLessThanOrEqualTo(1024)
                                .isEqualTo(cluster.condition("many", "Ready").getMessage())));
    }

    // ---- "the last good pool": only when there was one ------------------------------------------

    @Test
    void aNewLoadBalancerWhoseServiceIsMissingNeverSaysTheProxiesKeepALastGoodPool() {
        LoadBalancer lb = OperatorCluster.loadBalancer("nopool");
        ServiceRefSpec ref = new ServiceRefSpec();
        ref.setName("nowhere-yet");
        ref.setPort(80);
        lb.getSpec().setServiceRef(ref);
        cluster.create(lb);
        await().atMost(WAIT).until(() -> cluster.deployment("nopool") != null);

        // Another reconcile after the first status was written (the one that used to say "keep the last good
        // pool"): it shows in the ready replicas it reports.
        cluster.markProxiesReady("nopool");
        await().atMost(WAIT)
                .until(() -> cluster.get("nopool").getStatus() != null
                        && cluster.get("nopool").getStatus().getReadyReplicas() != null
                        && cluster.get("nopool").getStatus().getReadyReplicas() > 0);

        assertThat(cluster.condition("nopool", "Ready").getReason()).isEqualTo("ServiceNotFound");
        assertThat(cluster.condition("nopool", "Degraded").getMessage())
                .isEqualTo("Service default/nowhere-yet named in spec.serviceRef does not exist; the pool is empty"
                        + " until then");
    }

    @Test
    void aLoadBalancerWhosePoolHadBackendsSaysTheProxiesKeepIt() {
        cluster.create(OperatorCluster.loadBalancer("hadpool", "http://10.33.0.1:8080", "http://10.33.0.2:8080"));
        await().atMost(WAIT).until(() -> cluster.pool("hadpool") != null);

        cluster.edit("hadpool", l -> {
            ServiceRefSpec ref = new ServiceRefSpec();
            ref.setName("gone");
            ref.setPort(80);
            l.getSpec().setBackends(null);
            l.getSpec().setServiceRef(ref);
            return l;
        });

        cluster.awaitCondition("hadpool", "Ready", "False", "ServiceNotFound");
        assertThat(cluster.condition("hadpool", "Degraded").getMessage())
                .endsWith("; the proxies keep the last good pool (2 backends)");
    }

    // ---- retry: capped back-off, never giving up ------------------------------------------------------

    /**
     * JOSDK's own retry gives up after 5 attempts (about 26 s); a failure that lasts longer (an API server outage,
     * RBAC fixed an hour later) would then wait for some event. The registered retry never gives up and backs off to
     * 5 minutes, as its delays show without waiting for them.
     */
    @Test
    void aFailedLoadBalancerIsRetriedForeverWithABackOffCappedAtFiveMinutes() {
        var retry = cluster.operator().controllerConfiguration().getRetry();
        assertThat(retry).isInstanceOf(io.javaoperatorsdk.operator.processing.retry.GenericRetry.class);
        var execution = retry.initExecution();
        List<Long> delays = new ArrayList<>();
        for (int attempt = 0; attempt < 100; attempt++) {
            delays.add(execution
                    .nextDelay()
                    .orElseThrow(
                            () -> new AssertionError("gave up after " + execution.getAttemptCount() + " attempts")));
        }
        // (JOSDK waits the initial interval twice before it starts multiplying)
        assertThat(delays.subList(0, 10))
                .containsExactly(
                        2_000L, 2_000L, 4_000L, 8_000L, 16_000L, 32_000L, 64_000L, 128_000L, 256_000L, 300_000L);
        assertThat(delays.subList(10, 100)).allMatch(d -> d == 300_000L);
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
    void aServiceAnnotationTheApiServerRefusesIsReportedInTheApiServersWordsAndLoggedOnceAsJsonInFull()
            throws Exception {
        LoadBalancer lb = OperatorCluster.loadBalancer("annotated", "http://10.27.0.1:8080");
        ServiceSpec service = new ServiceSpec();
        service.setAnnotations(Map.of("not a key!", "x"));
        lb.getSpec().setService(service);

        try (LogCapture log = LogCapture.of(LoadBalancerReconciler.class)) {
            cluster.create(lb);

            cluster.awaitCondition("annotated", "Ready", "False", "ReconcileFailed");
            String message = cluster.condition("annotated", "Ready").getMessage();
            assertThat(message)
                    .startsWith("Service default/annotated could not be written: Service \"annotated\" is invalid: "
                            + "metadata.annotations: Invalid value: \"not a key!\"")
                    .doesNotContain("\n");
            // The retries that follow fail alike: still the one log entry, until the failure changes. A retry has
            // happened once the API server has refused the Service a second time.
            await().atMost(WAIT)
                    .until(() -> cluster.api.writes().stream()
                                    .filter(w -> w.path().matches(".*/services/annotated([?].*)?"))
                                    .count()
                            >= 2);
            assertThat(failuresOf(log, "annotated")).hasSize(1);

            var event = failuresOf(log, "annotated").get(0);
            var line = new com.fasterxml.jackson.databind.ObjectMapper().readTree(log.json(event));
            assertThat(line.path("log.level").asText()).isEqualTo("ERROR");
            assertThat(line.path("loadbalancer.namespace").asText()).isEqualTo(NS);
            assertThat(line.path("loadbalancer.name").asText()).isEqualTo("annotated");
            assertThat(line.path("message").asText())
                    .isEqualTo("Reconciling LoadBalancer default/annotated failed: " + message);
            assertThat(line.path("error.stack_trace").asText())
                    .as("the full error, in the log only")
                    .contains("\tat ")
                    .contains("not a key!");
        }
    }

    private static List<org.apache.logging.log4j.core.LogEvent> failuresOf(LogCapture log, String name) {
        return log.events().stream()
                .filter(e -> e.getLevel() == org.apache.logging.log4j.Level.ERROR
                        && name.equals(e.getContextData().getValue("loadbalancer.name")))
                .toList();
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
