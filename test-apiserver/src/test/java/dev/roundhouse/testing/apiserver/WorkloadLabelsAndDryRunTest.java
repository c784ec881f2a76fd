package dev.roundhouse.testing.apiserver;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.Status;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.DeploymentBuilder;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudgetBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Labels inside built-in specs (a Deployment's pod template and selector, a PodDisruptionBudget's selector) are
 * checked as a real API server checks them, and a dry run ({@code dryRun=All}, as {@code kubectl diff} and
 * {@code --dry-run=server} send) is validated and answered but stores nothing.
 */
class WorkloadLabelsAndDryRunTest {

    private static EmbeddedApiServer server;
    private static KubernetesClient client;

    @BeforeAll
    static void start() {
        server = new EmbeddedApiServer().start();
        client = server.client();
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private static Deployment deployment(String name, Map<String, String> selector, Map<String, String> podLabels) {
        return new DeploymentBuilder()
                .withNewMetadata()
                .withName(name)
                .withNamespace("default")
                .endMetadata()
                .withNewSpec()
                .withNewSelector()
                .withMatchLabels(selector)
                .endSelector()
                .withNewTemplate()
                .withNewMetadata()
                .withLabels(podLabels)
                .endMetadata()
                .withNewSpec()
                .addNewContainer()
                .withName("proxy")
                .withImage("example.org/proxy:1")
                .endContainer()
                .endSpec()
                .endTemplate()
                .endSpec()
                .build();
    }

    @Test
    void aPodTemplateLabelValueARealServerRefusesIsRefused() {
        Status status = Refused.asInvalid(() -> client.resource(
                        deployment("bad-template", Map.of("app", "web"), Map.of("app", "web", "tier", "front end!")))
                .create());

        assertThat(status.getMessage())
                .startsWith("Deployment.apps \"bad-template\" is invalid: spec.template.metadata.labels: Invalid value:"
                        + " \"front end!\": a valid label must be an empty string");
    }

    @Test
    void aSelectorKeyOrValueARealServerRefusesIsRefused() {
        Status status = Refused.asInvalid(
                () -> client.resource(deployment("bad-selector", Map.of("app", "-web"), Map.of("app", "-web")))
                        .create());
        assertThat(status.getMessage())
                .contains("spec.selector.matchLabels: Invalid value: \"-web\"")
                .contains("spec.template.metadata.labels: Invalid value: \"-web\"");

        Status budget = Refused.asInvalid(() -> client.resource(new PodDisruptionBudgetBuilder()
                        .withNewMetadata()
                        .withName("bad-budget")
                        .withNamespace("default")
                        .endMetadata()
                        .withNewSpec()
                        .withNewSelector()
                        .withMatchLabels(Map.of("not a key!", "web"))
                        .endSelector()
                        .endSpec()
                        .build())
                .create());
        assertThat(budget.getMessage())
                .startsWith("PodDisruptionBudget.policy \"bad-budget\" is invalid: spec.selector.matchLabels: Invalid"
                        + " value: \"not a key!\"");
    }

    @Test
    void aSelectorThatDoesNotMatchTheTemplateIsRefusedAndAValidDeploymentIsStored() {
        Status status = Refused.asInvalid(
                () -> client.resource(deployment("mismatch", Map.of("app", "web"), Map.of("app", "shop")))
                        .create());
        assertThat(status.getMessage()).contains("`selector` does not match template `labels`");

        client.resource(deployment("fine", Map.of("app", "web"), Map.of("app", "web", "tier", "front")))
                .create();
        assertThat(client.apps()
                        .deployments()
                        .inNamespace("default")
                        .withName("fine")
                        .get())
                .isNotNull();
    }

    @Test
    void aDryRunIsValidatedAndAnsweredButStoresNothing() {
        ConfigMap stored = client.resource(new ConfigMapBuilder()
                        .withNewMetadata()
                        .withName("kept")
                        .withNamespace("default")
                        .endMetadata()
                        .withData(Map.of("k", "v1"))
                        .build())
                .create();
        String version = stored.getMetadata().getResourceVersion();
        server.resetWriteCount();

        // create
        ConfigMap created = client.resource(new ConfigMapBuilder()
                        .withNewMetadata()
                        .withName("never")
                        .withNamespace("default")
                        .endMetadata()
                        .build())
                .dryRun()
                .create();
        assertThat(created.getMetadata().getUid()).isNotNull();
        assertThat(client.configMaps().inNamespace("default").withName("never").get())
                .isNull();
        // invalid: refused as the real write would be
        Refused.asInvalid(() -> client.resource(deployment("dry-bad", Map.of("app", "web"), Map.of("app", "x y")))
                .dryRun()
                .create());
        // update, merge patch, server-side apply, delete
        ConfigMap changed =
                new ConfigMapBuilder(stored).withData(Map.of("k", "v2")).build();
        assertThat(client.resource(changed).dryRun().update().getData()).containsEntry("k", "v2");
        assertThat(client.configMaps()
                        .inNamespace("default")
                        .withName("kept")
                        .dryRun()
                        .patch(PatchContext.of(PatchType.JSON_MERGE), "{\"data\":{\"k\":\"v3\"}}")
                        .getData())
                .containsEntry("k", "v3");
        ConfigMap applied = new ConfigMapBuilder()
                .withNewMetadata()
                .withName("kept")
                .withNamespace("default")
                .endMetadata()
                .withData(Map.of("k", "v4"))
                .build();
        assertThat(client.resource(applied)
                        .dryRun()
                        .fieldManager("diff")
                        .forceConflicts()
                        .serverSideApply()
                        .getData())
                .containsEntry("k", "v4");
        client.configMaps().inNamespace("default").withName("kept").dryRun().delete();

        ConfigMap after =
                client.configMaps().inNamespace("default").withName("kept").get();
        assertThat(after.getData()).isEqualTo(Map.of("k", "v1"));
        assertThat(after.getMetadata().getResourceVersion()).isEqualTo(version);
        assertThat(server.writes()).as("nothing written").isEmpty();
    }
}
