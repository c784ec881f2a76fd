package dev.roundhouse.operator.reconciler;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.roundhouse.operator.api.v1alpha1.HealthCheckSpec;
import dev.roundhouse.operator.api.v1alpha1.LoadBalancer;
import dev.roundhouse.operator.api.v1alpha1.MetricsSpec;
import dev.roundhouse.operator.api.v1alpha1.ServiceMonitorSpec;
import dev.roundhouse.operator.api.v1alpha1.ServiceRefSpec;
import dev.roundhouse.operator.testing.OperatorCluster;
import dev.roundhouse.poolformat.PoolDocument;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The operator against the embedded API server, in the server-side-apply mode production
 * clusters use. One operator for the whole class; each test uses its own LoadBalancer names.
 */
class LoadBalancerReconcilerTest {

    private static final String NS = OperatorCluster.NS;
    private static final Duration WAIT = OperatorCluster.WAIT;

    private static OperatorCluster cluster;
    private static KubernetesClient client;

    @BeforeAll
    static void startOperator() {
        cluster = OperatorCluster.start();
        client = cluster.client;
    }

    @AfterAll
    static void stop() {
        if (cluster != null) {
            cluster.close();
        }
    }

    private static LoadBalancer loadBalancer(String name, String... urls) {
        return OperatorCluster.loadBalancer(name, urls);
    }

    private static LoadBalancer create(LoadBalancer lb) {
        return cluster.create(lb);
    }

    private static void edit(String name, java.util.function.UnaryOperator<LoadBalancer> change) {
        cluster.edit(name, change);
    }

    private static LoadBalancer get(String name) {
        return cluster.get(name);
    }

    private static ConfigMap pool(String name) {
        return cluster.pool(name);
    }

    private static Deployment deployment(String name) {
        return cluster.deployment(name);
    }

    private static PoolDocument poolDocument(String name) throws Exception {
        return cluster.poolDocument(name);
    }

    private static Condition condition(String name, String type) {
        return cluster.condition(name, type);
    }

    private static void awaitCondition(String name, String type, String status, String reason) {
        cluster.awaitCondition(name, type, status, reason);
    }

    private static void markProxiesReady(String name) {
        cluster.markProxiesReady(name);
    }

    @Test
    void aLoadBalancerGetsItsPoolProxiesServiceAndRbacOwnedByIt() throws Exception {
        LoadBalancer lb = create(loadBalancer("shop", "http://10.1.0.1:8080", "http://10.1.0.2:8080"));
        await().atMost(WAIT)
                .until(() -> pool("shop") != null
                        && deployment("shop") != null
                        && client.services().inNamespace(NS).withName("shop").get() != null
                        && client.rbac()
                                        .roleBindings()
                                        .inNamespace(NS)
                                        .withName("shop-proxy")
                                        .get()
                                != null);

        assertThat(poolDocument("shop").backends())
                .extracting(PoolDocument.BackendEntry::url)
                .containsExactly("http://10.1.0.1:8080", "http://10.1.0.2:8080");
        Deployment d = deployment("shop");
        assertThat(d.getSpec().getTemplate().getSpec().getContainers().get(0).getImage())
                .isEqualTo("example.org/roundhouse-proxy:test");
        assertThat(d.getSpec().getTemplate().getSpec().getContainers().get(0).getEnv())
                .anySatisfy(e -> {
                    assertThat(e.getName()).isEqualTo("POOL_CONFIGMAP");
                    assertThat(e.getValue()).isEqualTo("shop-pool");
                });
        await().atMost(WAIT)
                .until(() -> client.services()
                                        .inNamespace(NS)
                                        .withName("shop-metrics")
                                        .get()
                                != null
                        && client.policy()
                                        .v1()
                                        .podDisruptionBudget()
                                        .inNamespace(NS)
                                        .withName("shop-proxy")
                                        .get()
                                != null);
        List<HasMetadata> owned = List.of(
                pool("shop"),
                d,
                client.services().inNamespace(NS).withName("shop").get(),
                client.services().inNamespace(NS).withName("shop-metrics").get(),
                client.policy()
                        .v1()
                        .podDisruptionBudget()
                        .inNamespace(NS)
                        .withName("shop-proxy")
                        .get(),
                client.serviceAccounts().inNamespace(NS).withName("shop-proxy").get(),
                client.rbac().roles().inNamespace(NS).withName("shop-proxy").get(),
                client.rbac()
                        .roleBindings()
                        .inNamespace(NS)
                        .withName("shop-proxy")
                        .get());
        String uid = get("shop").getMetadata().getUid();
        for (HasMetadata object : owned) {
            assertThat(object.getMetadata().getOwnerReferences())
                    .as(object.getKind() + " owner")
                    .singleElement()
                    .satisfies(o -> {
                        assertThat(o.getUid()).isEqualTo(uid);
                        assertThat(o.getKind()).isEqualTo("LoadBalancer");
                    });
            assertThat(object.getMetadata().getLabels()).containsEntry("app.kubernetes.io/instance", "shop");
        }
        assertThat(lb.getMetadata().getName()).isEqualTo("shop");
    }

    @Test
    void scalingThroughTheScaleSubresourceReachesTheDeploymentAndTheStatusGivesAnAutoscalerItsSelector() {
        create(loadBalancer("scaled", "http://10.1.2.1:8080"));
        await().atMost(WAIT).until(() -> deployment("scaled") != null);

        // What kubectl scale and a HorizontalPodAutoscaler do: write the LoadBalancer's scale, not the Deployment.
        client.resources(LoadBalancer.class).inNamespace(NS).withName("scaled").scale(4);

        await().atMost(WAIT).until(() -> deployment("scaled").getSpec().getReplicas() == 4);
        await().atMost(WAIT)
                .until(() -> get("scaled").getStatus() != null
                        && get("scaled").getStatus().getSelector() != null);
        assertThat(get("scaled").getStatus().getSelector())
                .isEqualTo("app.kubernetes.io/instance=scaled,app.kubernetes.io/name=roundhouse-proxy");
        assertThat(get("scaled").getStatus().getReplicas()).isNotNull();
    }

    @Test
    void aDisruptionBudgetOnlyWhileThereAreTwoReplicasOrMore() {
        create(loadBalancer("budget", "http://10.1.1.1:8080")); // two replicas by default
        var budgets = client.policy().v1().podDisruptionBudget().inNamespace(NS);
        await().atMost(WAIT).until(() -> budgets.withName("budget-proxy").get() != null);
        assertThat(budgets.withName("budget-proxy")
                        .get()
                        .getSpec()
                        .getMaxUnavailable()
                        .getIntVal())
                .isEqualTo(1);

        // With one replica a budget of none unavailable would block every node drain: it goes.
        edit("budget", lb -> {
            lb.getSpec().setReplicas(1);
            return lb;
        });
        await().atMost(WAIT).until(() -> budgets.withName("budget-proxy").get() == null);

        edit("budget", lb -> {
            lb.getSpec().setReplicas(3);
            return lb;
        });
        await().atMost(WAIT).until(() -> budgets.withName("budget-proxy").get() != null);
    }

    @Test
    void statusReportsReadinessBackendsAndTheObservedGeneration() {
        create(loadBalancer("status", "http://10.2.0.1:8080"));
        awaitCondition("status", "Ready", "False", "ProxiesNotReady");
        assertThat(get("status").getStatus().getObservedGeneration()).isEqualTo(1L);
        String notReadySince = condition("status", "Ready").getLastTransitionTime();

        markProxiesReady("status");

        awaitCondition("status", "Ready", "True", "ProxiesReady");
        awaitCondition("status", "Progressing", "False", "Stable");
        awaitCondition("status", "Degraded", "False", "AsExpected");
        LoadBalancer lb = get("status");
        assertThat(lb.getStatus().getBackends()).isEqualTo(1);
        assertThat(lb.getStatus().getReadyReplicas()).isEqualTo(2);
        assertThat(condition("status", "Ready").getLastTransitionTime()).isNotNull();
        assertThat(notReadySince).isNotNull();
    }

    /** Reconciles that found the status unchanged, from the operator's own metrics. */
    private static double unchangedReconciles() {
        String scrape = dev.roundhouse.testing.Http.get(
                        "http://127.0.0.1:" + cluster.operator().httpPort() + "/metrics")
                .body();
        return scrape.lines()
                .filter(l -> l.startsWith("roundhouse_operator_reconciles_total{status=\"unchanged\"}"))
                .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1)))
                .sum();
    }

    @Test
    void aReconcileWithNothingToDoWritesNothing() throws Exception {
        create(loadBalancer("quiet", "http://10.8.0.1:8080", "http://10.8.0.2:8080"));
        await().atMost(WAIT).until(() -> deployment("quiet") != null && pool("quiet") != null);
        markProxiesReady("quiet");
        awaitCondition("quiet", "Ready", "True", "ProxiesReady");

        // A restarted operator (or a resync) reconciles everything it finds: with nothing to
        // change, that must write nothing, or every GitOps sync would churn the cluster.
        cluster.stopOperator();
        cluster.api.resetWriteCount();
        cluster.startOperator();
        await().atMost(WAIT).until(() -> unchangedReconciles() >= 1);

        assertThat(cluster.api.writes())
                .as("writes by a reconcile with nothing to do")
                .isEmpty();
    }

    @Test
    void changingBackendsChangesOnlyTheConfigMap() throws Exception {
        create(loadBalancer("edit", "http://10.3.0.1:8080"));
        await().atMost(WAIT).until(() -> pool("edit") != null && deployment("edit") != null);
        String deploymentVersion = deployment("edit").getMetadata().getResourceVersion();

        edit("edit", lb -> {
            lb.getSpec().getBackends().get(0).setUrl("http://10.3.0.9:8080");
            return lb;
        });

        await().atMost(WAIT)
                .untilAsserted(() -> assertThat(poolDocument("edit").backends())
                        .extracting(PoolDocument.BackendEntry::url)
                        .containsExactly("http://10.3.0.9:8080"));
        assertThat(deployment("edit").getMetadata().getResourceVersion()).isEqualTo(deploymentVersion);
    }

    @Test
    void changingTheImageRollsTheDeployment() {
        create(loadBalancer("image", "http://10.4.0.1:8080"));
        await().atMost(WAIT).until(() -> deployment("image") != null);

        edit("image", lb -> {
            lb.getSpec().setImage("example.org/roundhouse-proxy:next");
            return lb;
        });

        await().atMost(WAIT)
                .untilAsserted(() -> assertThat(deployment("image")
                                .getSpec()
                                .getTemplate()
                                .getSpec()
                                .getContainers()
                                .get(0)
                                .getImage())
                        .isEqualTo("example.org/roundhouse-proxy:next"));
    }

    @Test
    void serviceRefFollowsTheReadyEndpointsOfTheService() throws Exception {
        client.resource(new ServiceBuilder()
                        .withNewMetadata()
                        .withName("web")
                        .withNamespace(NS)
                        .endMetadata()
                        .withNewSpec()
                        .addNewPort()
                        .withName("http")
                        .withPort(80)
                        .withNewTargetPort(8080)
                        .endPort()
                        .addToSelector("app", "web")
                        .endSpec()
                        .build())
                .create();
        client.resource(slice("web-1", endpoint("10.5.0.1", true, false), endpoint("10.5.0.2", false, false)))
                .create();
        LoadBalancer lb = loadBalancer("byref");
        ServiceRefSpec ref = new ServiceRefSpec();
        ref.setName("web");
        ref.setPort(80);
        lb.getSpec().setServiceRef(ref);
        create(lb);

        await().atMost(WAIT)
                .untilAsserted(() -> assertThat(poolDocument("byref").backends())
                        .extracting(PoolDocument.BackendEntry::url)
                        .containsExactly("http://10.5.0.1:8080"));

        client.resource(slice(
                        "web-1",
                        endpoint("10.5.0.1", true, true),
                        endpoint("10.5.0.2", true, false),
                        endpoint("10.5.0.3", true, false)))
                .update();
        await().atMost(WAIT)
                .untilAsserted(() -> assertThat(poolDocument("byref").backends())
                        .extracting(PoolDocument.BackendEntry::url)
                        .as("terminating endpoints leave, newly ready ones join")
                        .containsExactly("http://10.5.0.2:8080", "http://10.5.0.3:8080"));

        client.resource(slice("web-2", endpoint("10.5.1.1", true, false))).create();
        await().atMost(WAIT)
                .untilAsserted(
                        () -> assertThat(poolDocument("byref").backends()).hasSize(3));
        client.discovery()
                .v1()
                .endpointSlices()
                .inNamespace(NS)
                .withName("web-2")
                .delete();
        await().atMost(WAIT)
                .untilAsserted(
                        () -> assertThat(poolDocument("byref").backends()).hasSize(2));
    }

    private static io.fabric8.kubernetes.api.model.discovery.v1.Endpoint endpoint(
            String ip, boolean ready, boolean terminating) {
        return new io.fabric8.kubernetes.api.model.discovery.v1.EndpointBuilder()
                .withAddresses(ip)
                .withNewConditions()
                .withReady(ready && !terminating)
                .withServing(ready)
                .withTerminating(terminating)
                .endConditions()
                .build();
    }

    private static EndpointSlice slice(
            String name, io.fabric8.kubernetes.api.model.discovery.v1.Endpoint... endpoints) {
        return new EndpointSliceBuilder()
                .withNewMetadata()
                .withName(name)
                .withNamespace(NS)
                .addToLabels("kubernetes.io/service-name", "web")
                .endMetadata()
                .withAddressType("IPv4")
                .addNewPort()
                .withName("http")
                .withPort(8080)
                .withProtocol("TCP")
                .endPort()
                .withEndpoints(endpoints)
                .build();
    }

    @Test
    void aMissingServiceIsReportedWithAReasonAndAnEvent() {
        LoadBalancer lb = loadBalancer("orphan");
        ServiceRefSpec ref = new ServiceRefSpec();
        ref.setName("nowhere");
        ref.setPort(80);
        lb.getSpec().setServiceRef(ref);
        create(lb);

        awaitCondition("orphan", "Ready", "False", "ServiceNotFound");
        awaitCondition("orphan", "Degraded", "True", "ServiceNotFound");
        assertThat(condition("orphan", "Ready").getMessage()).contains("nowhere");
        await().atMost(WAIT)
                .untilAsserted(() -> assertThat(
                                client.v1().events().inNamespace(NS).list().getItems())
                        .anySatisfy(e -> {
                            assertThat(e.getInvolvedObject().getName()).isEqualTo("orphan");
                            assertThat(e.getReason()).isEqualTo("ServiceNotFound");
                        }));
    }

    @Test
    void anInvalidSpecIsReportedAsSuchWhileTheServiceItNamesIsMissing() {
        LoadBalancer lb = loadBalancer("wrong-and-orphan");
        ServiceRefSpec ref = new ServiceRefSpec();
        ref.setName("nowhere-either");
        ref.setPort(80);
        lb.getSpec().setServiceRef(ref);
        HealthCheckSpec health = new HealthCheckSpec();
        health.setInterval("2h"); // over the pool format's 1h limit: the spec's own fault, whatever the cluster holds
        lb.getSpec().setHealthCheck(health);
        create(lb);

        awaitCondition("wrong-and-orphan", "Ready", "False", "InvalidSpec");
        assertThat(condition("wrong-and-orphan", "Ready").getMessage()).contains("healthCheck.interval");
        assertThat(pool("wrong-and-orphan")).isNull();
        assertThat(deployment("wrong-and-orphan")).isNull();
    }

    @Test
    void valuesTheSchemaCannotCheckAreReportedAndTheLastGoodPoolKept() throws Exception {
        create(loadBalancer("tuned", "http://10.6.0.1:8080"));
        await().atMost(WAIT).until(() -> pool("tuned") != null);
        String good = pool("tuned").getData().get("pool.json");

        edit("tuned", lb -> {
            HealthCheckSpec health = new HealthCheckSpec();
            health.setInterval("2h"); // matches the schema's pattern, over the pool format's 1h limit
            lb.getSpec().setHealthCheck(health);
            lb.getSpec().getBackends().get(0).setUrl("http://10.6.0.2:8080");
            return lb;
        });

        awaitCondition("tuned", "Ready", "False", "InvalidSpec");
        assertThat(condition("tuned", "Ready").getMessage()).contains("healthCheck.interval");
        assertThat(pool("tuned").getData().get("pool.json")).isEqualTo(good);
    }

    @Test
    void aServiceMonitorWithoutItsCrdIsReportedNotFailed() {
        LoadBalancer lb = loadBalancer("monitored", "http://10.7.0.1:8080");
        MetricsSpec metrics = new MetricsSpec();
        ServiceMonitorSpec sm = new ServiceMonitorSpec();
        sm.setEnabled(true);
        metrics.setServiceMonitor(sm);
        lb.getSpec().setMetrics(metrics);
        create(lb);

        awaitCondition("monitored", "Degraded", "True", "ServiceMonitorUnavailable");
        assertThat(pool("monitored")).isNotNull();
    }
}
