package dev.roundhouse.testing.apiserver;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceAccount;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.DeploymentStatusBuilder;
import io.fabric8.kubernetes.api.model.rbac.Role;
import io.fabric8.kubernetes.api.model.rbac.RoleBinding;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.processing.dependent.kubernetes.SSABasedGenericKubernetesResourceMatcher;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * JOSDK 5.2.3's SSA matcher, run on what this server stores: an unchanged desired object must match (so a no-op
 * reconcile writes nothing), a changed one must not.
 */
class SsaMatcherTest {

    private static final String MANAGER = "roundhouse-operator";
    private static EmbeddedApiServer server;
    private static KubernetesClient client;
    private static Context<HasMetadata> context;
    /** The primary the dependents are owned by. */
    private static ConfigMap primary;

    @BeforeAll
    static void start() {
        server = new EmbeddedApiServer().start();
        client = server.client();
        server.applyCrds(TestFiles.WIDGET_CRD);
        context = JosdkContexts.forFieldManager(client, MANAGER);
        primary = client.configMaps()
                .inNamespace("default")
                .resource(new ConfigMapBuilder()
                        .withNewMetadata()
                        .withName("primary")
                        .endMetadata()
                        .build())
                .create();
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private record Case<T extends HasMetadata>(String kind, Supplier<T> desired, Consumer<T> change) {
        @Override
        public String toString() {
            return kind;
        }
    }

    static Stream<Arguments> kinds() {
        return Stream.of(
                        new Case<ConfigMap>(
                                "ConfigMap",
                                () -> Desired.configMap("m-cm"),
                                cm -> cm.getData().put("mode", "least-connections")),
                        new Case<Deployment>(
                                "Deployment",
                                () -> Desired.deployment("m-deploy"),
                                d -> d.getSpec()
                                        .getTemplate()
                                        .getSpec()
                                        .getContainers()
                                        .get(0)
                                        .setImage("roundhouse/proxy:0.2.0")),
                        new Case<Service>(
                                "Service",
                                () -> Desired.service("m-svc"),
                                s -> s.getSpec().getPorts().get(0).setTargetPort(new IntOrString(8081))),
                        new Case<ServiceAccount>(
                                "ServiceAccount",
                                () -> Desired.serviceAccount("m-sa"),
                                sa -> sa.setAutomountServiceAccountToken(true)),
                        new Case<Role>(
                                "Role",
                                () -> Desired.role("m-role"),
                                r -> r.getRules().get(0).getVerbs().add("delete")),
                        new Case<RoleBinding>(
                                "RoleBinding",
                                () -> Desired.roleBinding("m-rb"),
                                rb -> rb.getSubjects().get(0).setName("someone-else")),
                        new Case<Widget>(
                                "Widget (custom resource)",
                                () -> Widget.named("m-widget", 8080, "blue", "green"),
                                w -> w.getSpec().getBackends().get(1).setAddress("10.0.0.9")))
                .map(Arguments::of);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("kinds")
    <T extends HasMetadata> void unchangedDesiredMatchesAndChangedDoesNot(Case<T> c) {
        // Created as JOSDK creates: applied with resourceVersion "1", meaning "only if it does not exist".
        T created = withOwner(c.desired().get());
        created.getMetadata().setResourceVersion("1");
        T applied =
                client.resource(created).fieldManager(MANAGER).forceConflicts().serverSideApply();
        T actual = client.resource(applied).get();

        assertThat(matches(actual, withOwner(c.desired().get())))
                .as("unchanged %s", c)
                .isTrue();

        T changed = withOwner(c.desired().get());
        c.change().accept(changed);
        assertThat(matches(actual, changed)).as("changed %s", c).isFalse();

        T relabelled = withOwner(c.desired().get());
        relabelled.getMetadata().getLabels().put("extra", "label");
        assertThat(matches(actual, relabelled)).as("relabelled %s", c).isFalse();
    }

    @Test
    void fieldsOthersSetDoNotDisturbTheMatch() {
        client.resource(Desired.deployment("m-others"))
                .fieldManager(MANAGER)
                .forceConflicts()
                .serverSideApply();
        // Another manager adds an annotation, and the status is written as a controller would.
        client.resource(Desired.deployment("m-others")).edit(d -> {
            d.getMetadata().getAnnotations().put("kubectl.kubernetes.io/restartedAt", "now");
            return d;
        });
        client.apps().deployments().withName("m-others").editStatus(d -> {
            d.setStatus(new DeploymentStatusBuilder()
                    .withReplicas(2)
                    .withReadyReplicas(2)
                    .build());
            return d;
        });

        Deployment actual = client.apps().deployments().withName("m-others").get();
        assertThat(actual.getStatus().getReadyReplicas()).isEqualTo(2);
        assertThat(matches(actual, Desired.deployment("m-others"))).isTrue();
    }

    @Test
    void aManagerWithoutApplyEntryNeverMatches() {
        client.resource(Desired.configMap("m-created")).create();
        ConfigMap actual = client.configMaps().withName("m-created").get();
        assertThat(matches(actual, Desired.configMap("m-created"))).isFalse();
    }

    @Test
    void afterDroppingAFieldTheSmallerDesiredMatches() {
        ConfigMap big = Desired.configMap("m-smaller");
        big.getMetadata().setAnnotations(Map.of("note", "temporary"));
        client.resource(big).fieldManager(MANAGER).forceConflicts().serverSideApply();
        client.resource(Desired.configMap("m-smaller"))
                .fieldManager(MANAGER)
                .forceConflicts()
                .serverSideApply();

        ConfigMap actual = client.configMaps().withName("m-smaller").get();
        assertThat(matches(actual, Desired.configMap("m-smaller"))).isTrue();
    }

    private static boolean matches(HasMetadata actual, HasMetadata desired) {
        return SSABasedGenericKubernetesResourceMatcher.getInstance().matches(actual, desired, context);
    }

    /**
     * JOSDK adds an owner reference to the primary to every garbage-collected dependent. It names an object that
     * exists, or the server would collect the dependent, as a cluster does.
     */
    private static <T extends HasMetadata> T withOwner(T desired) {
        desired.getMetadata()
                .getOwnerReferences()
                .add(new OwnerReferenceBuilder()
                        .withApiVersion("v1")
                        .withKind("ConfigMap")
                        .withName(primary.getMetadata().getName())
                        .withUid(primary.getMetadata().getUid())
                        .withController(true)
                        .withBlockOwnerDeletion(false)
                        .build());
        return desired;
    }
}
