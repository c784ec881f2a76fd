package dev.roundhouse.testing.apiserver;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.ManagedFieldsEntry;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.DeploymentBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.Watch;
import io.fabric8.kubernetes.client.Watcher;
import io.fabric8.kubernetes.client.WatcherException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class ServerSideApplyTest {

    private static EmbeddedApiServer server;
    private static KubernetesClient client;

    @BeforeAll
    static void start() {
        server = new EmbeddedApiServer().start();
        client = server.client();
        server.applyCrds(TestFiles.WIDGET_CRD);
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private static <T extends io.fabric8.kubernetes.api.model.HasMetadata> T apply(T object, String manager) {
        return client.resource(object).fieldManager(manager).forceConflicts().serverSideApply();
    }

    @Test
    void applyCreatesAsAPostWouldThenMergesIntoTheStoredObject() {
        ConfigMap created = apply(
                new ConfigMapBuilder()
                        .withNewMetadata()
                        .withName("merge")
                        .withLabels(Map.of("app", "x"))
                        .endMetadata()
                        .withData(Map.of("a", "1"))
                        .build(),
                "x");

        assertThat(created.getMetadata().getUid()).isNotBlank();
        assertThat(created.getMetadata().getResourceVersion()).isNotBlank();
        assertThat(created.getMetadata().getCreationTimestamp()).isNotBlank();
        assertThat(created.getMetadata().getNamespace()).isEqualTo("default");
        assertThat(created.getData()).containsExactly(Map.entry("a", "1"));

        ConfigMap merged = apply(
                new ConfigMapBuilder()
                        .withNewMetadata()
                        .withName("merge")
                        .withLabels(Map.of("tier", "web"))
                        .endMetadata()
                        .withData(Map.of("b", "2"))
                        .build(),
                "y");

        assertThat(merged.getMetadata().getUid())
                .isEqualTo(created.getMetadata().getUid());
        assertThat(merged.getMetadata().getCreationTimestamp())
                .isEqualTo(created.getMetadata().getCreationTimestamp());
        assertThat(Long.parseLong(merged.getMetadata().getResourceVersion()))
                .isGreaterThan(Long.parseLong(created.getMetadata().getResourceVersion()));
        assertThat(merged.getData()).isEqualTo(Map.of("a", "1", "b", "2"));
        assertThat(merged.getMetadata().getLabels()).isEqualTo(Map.of("app", "x", "tier", "web"));
        assertThat(merged.getMetadata().getManagedFields())
                .extracting(ManagedFieldsEntry::getManager)
                .containsExactly("x", "y");
        assertThat(client.configMaps().withName("merge").get().getData()).isEqualTo(Map.of("a", "1", "b", "2"));
    }

    @Test
    void applyingTheSameObjectTwiceChangesNothingAndSendsOneWatchEvent() throws Exception {
        BlockingQueue<String> events = new LinkedBlockingQueue<>();
        Watch watch = client.configMaps().watch(new Watcher<>() {
            @Override
            public void eventReceived(Action action, ConfigMap cm) {
                events.add(action + " " + cm.getMetadata().getName());
            }

            @Override
            public void onClose(WatcherException cause) {
                // nothing to release
            }
        });
        try {
            // Markers before and after: events arrive in order on one watch, so the second marker's event proves that
            // every event about the applied object has arrived.
            client.resource(marker("before")).create();
            awaitEvent(events, "ADDED before", new ArrayList<>());

            ConfigMap first = apply(Desired.configMap("twice"), "x");
            ConfigMap second = apply(Desired.configMap("twice"), "x");
            client.resource(marker("after")).create();
            List<String> seen = new ArrayList<>();
            awaitEvent(events, "ADDED after", seen);

            assertThat(second.getMetadata().getResourceVersion())
                    .isEqualTo(first.getMetadata().getResourceVersion());
            assertThat(second.getMetadata().getGeneration())
                    .isEqualTo(first.getMetadata().getGeneration());
            assertThat(second.getMetadata().getManagedFields())
                    .isEqualTo(first.getMetadata().getManagedFields());
            assertThat(seen).filteredOn(e -> e.endsWith(" twice")).containsExactly("ADDED twice");
        } finally {
            watch.close();
        }
    }

    private static ConfigMap marker(String name) {
        return new ConfigMapBuilder()
                .withNewMetadata()
                .withName(name)
                .endMetadata()
                .build();
    }

    private static void awaitEvent(BlockingQueue<String> events, String expected, List<String> seen)
            throws InterruptedException {
        for (int i = 0; i < 1000; i++) {
            String event = events.poll(10, TimeUnit.SECONDS);
            assertThat(event).as("watch event; seen so far: %s", seen).isNotNull();
            seen.add(event);
            if (event.equals(expected)) {
                return;
            }
        }
        throw new AssertionError("no " + expected + " among " + seen);
    }

    @Test
    void managedFieldsDescribeExactlyTheAppliedFields() {
        ConfigMap applied = apply(
                new ConfigMapBuilder()
                        .withNewMetadata()
                        .withName("fields")
                        .withLabels(Map.of("app", "x"))
                        .endMetadata()
                        .withData(Map.of("key", "value"))
                        .build(),
                "x");

        assertThat(applied.getMetadata().getManagedFields()).hasSize(1);
        ManagedFieldsEntry entry = applied.getMetadata().getManagedFields().get(0);
        assertThat(entry.getManager()).isEqualTo("x");
        assertThat(entry.getOperation()).isEqualTo("Apply");
        assertThat(entry.getApiVersion()).isEqualTo("v1");
        assertThat(entry.getFieldsType()).isEqualTo("FieldsV1");
        assertThat(entry.getTime()).isNotBlank();
        assertThat(entry.getSubresource()).isNull();
        assertThat(entry.getFieldsV1().getAdditionalProperties())
                .isEqualTo(Map.of(
                        "f:data", Map.of("f:key", Map.of()),
                        "f:metadata", Map.of("f:labels", Map.of("f:app", Map.of()))));
    }

    @Test
    @SuppressWarnings("unchecked")
    void managedFieldsKeyListsOfObjectsLikeKubernetes() {
        Deployment applied = apply(Desired.deployment("keyed"), "x");

        Map<String, Object> fields =
                applied.getMetadata().getManagedFields().get(0).getFieldsV1().getAdditionalProperties();
        Map<String, Object> podSpec = (Map<String, Object>)
                ((Map<String, Object>) ((Map<String, Object>) fields.get("f:spec")).get("f:template")).get("f:spec");
        Map<String, Object> containers = (Map<String, Object>) podSpec.get("f:containers");
        assertThat(containers).containsOnlyKeys("k:{\"name\":\"proxy\"}");
        Map<String, Object> proxy = (Map<String, Object>) containers.get("k:{\"name\":\"proxy\"}");
        assertThat(proxy).containsKeys(".", "f:name", "f:image", "f:env", "f:ports", "f:resources");
        assertThat(proxy.get("f:args")).isEqualTo(Map.of()); // a list of strings is atomic
        assertThat((Map<String, Object>) proxy.get("f:ports"))
                .containsOnlyKeys(
                        "k:{\"containerPort\":8080,\"protocol\":\"TCP\"}",
                        "k:{\"containerPort\":9090,\"protocol\":\"TCP\"}");
        assertThat((Map<String, Object>) proxy.get("f:env"))
                .containsOnlyKeys("k:{\"name\":\"JAVA_OPTS\"}", "k:{\"name\":\"POD_NAME\"}");
        assertThat(((Map<String, Object>) fields.get("f:metadata"))).containsOnlyKeys("f:labels", "f:annotations");
        assertThat(fields).doesNotContainKeys("f:apiVersion", "f:kind", "f:status");
    }

    @Test
    void generationMovesOnlyWhenTheSpecChanges() {
        Deployment first = apply(Desired.deployment("generation"), "x");
        assertThat(first.getMetadata().getGeneration()).isEqualTo(1L);

        Deployment relabelled = apply(
                new DeploymentBuilder(Desired.deployment("generation"))
                        .editMetadata()
                        .addToLabels("extra", "yes")
                        .endMetadata()
                        .build(),
                "x");
        assertThat(relabelled.getMetadata().getGeneration()).isEqualTo(1L);
        assertThat(relabelled.getMetadata().getResourceVersion())
                .isNotEqualTo(first.getMetadata().getResourceVersion());

        Deployment scaled = apply(
                new DeploymentBuilder(Desired.deployment("generation"))
                        .editSpec()
                        .withReplicas(5)
                        .endSpec()
                        .build(),
                "x");
        assertThat(scaled.getMetadata().getGeneration()).isEqualTo(2L);
        assertThat(scaled.getSpec().getReplicas()).isEqualTo(5);
    }

    @Test
    void appliedListsReplaceStoredListsWhole() {
        apply(
                new DeploymentBuilder(Desired.deployment("lists"))
                        .editSpec()
                        .editTemplate()
                        .editSpec()
                        .addNewContainer()
                        .withName("sidecar")
                        .withImage("busybox")
                        .endContainer()
                        .endSpec()
                        .endTemplate()
                        .endSpec()
                        .build(),
                "x");

        Deployment reapplied = apply(Desired.deployment("lists"), "x");

        assertThat(reapplied.getSpec().getTemplate().getSpec().getContainers())
                .extracting(c -> c.getName())
                .containsExactly("proxy");
    }

    @Test
    void statusApplyChangesOnlyTheStatusAndMainApplyIgnoresIt() {
        Widget created = apply(Widget.named("status", 80), "x");
        assertThat(created.getStatus()).isNull();

        Widget withStatus = Widget.named("status", 9999);
        withStatus.setStatus(new Widget.Status());
        withStatus.getStatus().setBackends(3);
        Widget afterStatus = client.resource(withStatus)
                .subresource("status")
                .patch(new PatchContext.Builder()
                        .withPatchType(PatchType.SERVER_SIDE_APPLY)
                        .withFieldManager("controller")
                        .withForce(true)
                        .build());

        assertThat(afterStatus.getSpec().getPort()).isEqualTo(80);
        assertThat(afterStatus.getStatus().getBackends()).isEqualTo(3);
        assertThat(afterStatus.getMetadata().getGeneration())
                .isEqualTo(created.getMetadata().getGeneration());
        ManagedFieldsEntry statusEntry = afterStatus.getMetadata().getManagedFields().stream()
                .filter(e -> e.getManager().equals("controller"))
                .findFirst()
                .orElseThrow();
        assertThat(statusEntry.getSubresource()).isEqualTo("status");
        assertThat(statusEntry.getFieldsV1().getAdditionalProperties())
                .isEqualTo(Map.of("f:status", Map.of("f:backends", Map.of())));

        withStatus.getStatus().setBackends(7); // the status subresource ignores status in a main-resource apply
        Widget afterMain = apply(withStatus, "x");
        assertThat(afterMain.getSpec().getPort()).isEqualTo(9999);
        assertThat(afterMain.getStatus().getBackends()).isEqualTo(3);
        assertThat(afterMain.getMetadata().getGeneration()).isEqualTo(2L);

        Widget missing = Widget.named("no-such-widget", 1);
        assertThatThrownBy(() -> client.resource(missing)
                        .subresource("status")
                        .patch(new PatchContext.Builder()
                                .withPatchType(PatchType.SERVER_SIDE_APPLY)
                                .withFieldManager("controller")
                                .build()))
                .isInstanceOfSatisfying(
                        KubernetesClientException.class,
                        e -> assertThat(e.getCode()).isEqualTo(404));
    }

    @Test
    void resourceVersionInAnAppliedObjectIsAPrecondition() {
        // JOSDK creates with resourceVersion "1" to mean "only if it does not exist yet".
        ConfigMap createOnly = Desired.configMap("precondition");
        createOnly.getMetadata().setResourceVersion("1");
        ConfigMap created = apply(createOnly, "x");
        assertThat(created.getMetadata().getResourceVersion()).isNotEqualTo("1");

        ConfigMap again = Desired.configMap("precondition");
        again.getMetadata().setResourceVersion("1");
        assertThatThrownBy(() -> apply(again, "x"))
                .isInstanceOfSatisfying(
                        KubernetesClientException.class,
                        e -> assertThat(e.getCode()).isEqualTo(409));

        ConfigMap current = Desired.configMap("precondition");
        current.getMetadata().setResourceVersion(created.getMetadata().getResourceVersion());
        current.getData().put("mode", "least-connections");
        assertThat(apply(current, "x").getData()).containsEntry("mode", "least-connections");
    }

    @Test
    void applyAcceptsYamlBodiesAndRequiresAFieldManager() {
        String yaml = String.join(
                "\n",
                "apiVersion: v1",
                "kind: ConfigMap",
                "metadata:",
                "  name: from-yaml",
                "  labels:",
                "    app: yaml",
                "data:",
                "  port: \"8080\"",
                "");
        String path = "/api/v1/namespaces/default/configmaps/from-yaml";

        RawHttp.Response created =
                RawHttp.patch(server, path + "?fieldManager=kubectl&force=true", "application/apply-patch+yaml", yaml);
        assertThat(created.code()).isEqualTo(201);
        assertThat(client.configMaps().withName("from-yaml").get().getData()).containsEntry("port", "8080");

        RawHttp.Response unchanged =
                RawHttp.patch(server, path + "?fieldManager=kubectl", "application/apply-patch+yaml", yaml);
        assertThat(unchanged.code()).isEqualTo(200);
        assertThat(unchanged.json().at("/metadata/resourceVersion"))
                .isEqualTo(created.json().at("/metadata/resourceVersion"));

        assertThat(RawHttp.patch(server, path, "application/apply-patch+yaml", yaml)
                        .code())
                .isEqualTo(422);
    }

    @Test
    void mergePatchRemovesNullsAndReplacesLists() {
        client.resource(Desired.deployment("merge-patch")).create();

        Deployment patched = client.apps()
                .deployments()
                .withName("merge-patch")
                .patch(
                        PatchContext.of(PatchType.JSON_MERGE),
                        "{\"metadata\":{\"annotations\":{\"roundhouse.dev/config-hash\":null}},"
                                + "\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"only\",\"image\":\"x\"}]}}}}");

        assertThat(patched.getMetadata().getAnnotations()).doesNotContainKey("roundhouse.dev/config-hash");
        assertThat(patched.getSpec().getTemplate().getSpec().getContainers())
                .hasSize(1)
                .first()
                .satisfies(c -> assertThat(c.getPorts()).isEmpty());
        assertThat(patched.getMetadata().getGeneration()).isEqualTo(2L);
    }

    @Test
    void strategicMergePatchMergesBuiltInKeyedLists() {
        client.resource(new DeploymentBuilder(Desired.deployment("strategic"))
                        .editSpec()
                        .editTemplate()
                        .editSpec()
                        .addNewContainer()
                        .withName("sidecar")
                        .withImage("busybox")
                        .endContainer()
                        .endSpec()
                        .endTemplate()
                        .endSpec()
                        .build())
                .create();

        // What kubectl apply sends for a changed image and a removed container.
        Deployment patched = client.apps()
                .deployments()
                .withName("strategic")
                .patch(
                        PatchContext.of(PatchType.STRATEGIC_MERGE),
                        "{\"spec\":{\"template\":{\"spec\":{"
                                + "\"$setElementOrder/containers\":[{\"name\":\"proxy\"}],"
                                + "\"containers\":[{\"name\":\"proxy\",\"image\":\"roundhouse/proxy:0.2.0\"},"
                                + "{\"$patch\":\"delete\",\"name\":\"sidecar\"}]}}}}");

        var containers = patched.getSpec().getTemplate().getSpec().getContainers();
        assertThat(containers).hasSize(1);
        assertThat(containers.get(0).getImage()).isEqualTo("roundhouse/proxy:0.2.0");
        assertThat(containers.get(0).getPorts()).hasSize(2); // kept: merged by name, not replaced
        assertThat(patched.getSpec().getTemplate().getSpec().getAdditionalProperties())
                .isEmpty();
    }
}
