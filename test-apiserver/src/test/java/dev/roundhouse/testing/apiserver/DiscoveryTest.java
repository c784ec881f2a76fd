package dev.roundhouse.testing.apiserver;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.api.model.APIResource;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.GenericKubernetesResourceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class DiscoveryTest {

    private EmbeddedApiServer server;
    private KubernetesClient client;

    @BeforeEach
    void start() {
        server = new EmbeddedApiServer().start();
        client = server.client();
    }

    @AfterEach
    void stop() {
        server.close();
    }

    @Test
    void versionAndCoreGroup() {
        assertThat(client.getKubernetesVersion().getMajor()).isEqualTo("1");
        assertThat(client.getKubernetesVersion().getMinor()).isEqualTo("32");

        JsonNode api = RawHttp.get(server, "/api?timeout=32s", null).json();
        assertThat(api.path("kind").asText()).isEqualTo("APIVersions");
        assertThat(api.path("versions").get(0).asText()).isEqualTo("v1");

        RawHttp.Response core = RawHttp.get(server, "/api/v1?timeout=32s", null);
        assertThat(core.contentType()).startsWith("application/json");
        assertThat(names(core.json()))
                .contains(
                        "configmaps",
                        "services",
                        "serviceaccounts",
                        "pods",
                        "events",
                        "endpoints",
                        "namespaces",
                        "secrets",
                        "services/status");
        JsonNode configMaps = resource(core.json(), "configmaps");
        assertThat(configMaps.path("kind").asText()).isEqualTo("ConfigMap");
        assertThat(configMaps.path("namespaced").asBoolean()).isTrue();
        assertThat(configMaps.path("shortNames").get(0).asText()).isEqualTo("cm");
        assertThat(resource(core.json(), "namespaces").path("namespaced").asBoolean())
                .isFalse();
    }

    @Test
    void builtInGroups() {
        JsonNode apis = RawHttp.get(server, "/apis?timeout=32s", null).json();
        assertThat(apis.path("kind").asText()).isEqualTo("APIGroupList");
        assertThat(apis.path("groups").findValuesAsText("name"))
                .containsExactly(
                        "apps",
                        "rbac.authorization.k8s.io",
                        "discovery.k8s.io",
                        "coordination.k8s.io",
                        "policy",
                        "apiextensions.k8s.io");
        assertThat(names(RawHttp.get(server, "/apis/policy/v1", null).json()))
                .containsExactly("poddisruptionbudgets", "poddisruptionbudgets/status");

        assertThat(names(RawHttp.get(server, "/apis/apps/v1?timeout=32s", null).json()))
                .contains("deployments");
        assertThat(names(RawHttp.get(server, "/apis/rbac.authorization.k8s.io/v1", null)
                        .json()))
                .containsExactly("roles", "rolebindings", "clusterroles", "clusterrolebindings");
        assertThat(names(RawHttp.get(server, "/apis/discovery.k8s.io/v1", null).json()))
                .containsExactly("endpointslices");
        assertThat(names(RawHttp.get(server, "/apis/coordination.k8s.io/v1", null)
                        .json()))
                .containsExactly("leases");
        assertThat(names(RawHttp.get(server, "/apis/apiextensions.k8s.io/v1", null)
                        .json()))
                .contains("customresourcedefinitions");
        assertThat(RawHttp.get(server, "/apis/apps", null)
                        .json()
                        .at("/preferredVersion/version")
                        .asText())
                .isEqualTo("v1");
        assertThat(RawHttp.get(server, "/apis/no.such.group/v1", null).code()).isEqualTo(404);
    }

    @Test
    void customResourceDefinitionsAreDiscoveredFromStorage() {
        assertThat(RawHttp.get(server, "/apis/test.roundhouse.dev/v1", null).code())
                .isEqualTo(404);

        server.applyCrds(TestFiles.WIDGET_CRD);

        JsonNode list = RawHttp.get(server, "/apis/test.roundhouse.dev/v1?timeout=32s", null)
                .json();
        assertThat(list.path("kind").asText()).isEqualTo("APIResourceList");
        assertThat(list.path("groupVersion").asText()).isEqualTo("test.roundhouse.dev/v1");
        JsonNode widgets = resource(list, "widgets");
        assertThat(widgets.path("kind").asText()).isEqualTo("Widget");
        assertThat(widgets.path("singularName").asText()).isEqualTo("widget");
        assertThat(widgets.path("namespaced").asBoolean()).isTrue();
        assertThat(widgets.path("shortNames").get(0).asText()).isEqualTo("wg");
        assertThat(widgets.path("verbs").toString()).contains("\"patch\"", "\"watch\"");
        assertThat(names(list)).containsExactly("widgets", "widgets/status");

        assertThat(RawHttp.get(server, "/apis", null).json().path("groups").findValuesAsText("name"))
                .contains("test.roundhouse.dev");

        // Fabric8's generic resources find plural and scope through discovery.
        APIResource viaClient =
                client.getApiResources("test.roundhouse.dev/v1").getResources().get(0);
        assertThat(viaClient.getName()).isEqualTo("widgets");
        GenericKubernetesResource generic = new GenericKubernetesResourceBuilder()
                .withApiVersion("test.roundhouse.dev/v1")
                .withKind("Widget")
                .withNewMetadata()
                .withName("generic")
                .endMetadata()
                .withAdditionalProperties(Map.of("spec", Map.of("port", 81)))
                .build();
        server.applyYaml(client.getKubernetesSerialization().asYaml(generic));
        assertThat(client.resources(Widget.class)
                        .withName("generic")
                        .get()
                        .getSpec()
                        .getPort())
                .isEqualTo(81);

        client.apiextensions()
                .v1()
                .customResourceDefinitions()
                .withName("widgets.test.roundhouse.dev")
                .delete();
        assertThat(RawHttp.get(server, "/apis/test.roundhouse.dev/v1", null).code())
                .isEqualTo(404);
    }

    @Test
    void serviceMonitorsAppearOnlyOnceTheirCrdExists() {
        assertThat(RawHttp.get(server, "/apis", null).json().path("groups").findValuesAsText("name"))
                .doesNotContain("monitoring.coreos.com");
        assertThat(client.supports("monitoring.coreos.com/v1", "ServiceMonitor"))
                .isFalse();

        server.applyCrds(TestFiles.SERVICE_MONITOR_CRD);

        assertThat(RawHttp.get(server, "/apis", null).json().path("groups").findValuesAsText("name"))
                .contains("monitoring.coreos.com");
        assertThat(names(RawHttp.get(server, "/apis/monitoring.coreos.com/v1", null)
                        .json()))
                .containsExactly("servicemonitors");
        assertThat(client.supports("monitoring.coreos.com/v1", "ServiceMonitor"))
                .isTrue();
    }

    @Test
    void openApiV3SaysEveryKindTakesFieldValidationAndV2IsAbsent() {
        assertThat(RawHttp.get(server, "/openapi/v2?timeout=32s", null).code()).isEqualTo(404);

        JsonNode root = RawHttp.get(server, "/openapi/v3", null).json();
        String url = root.at("/paths/api~1v1/serverRelativeURL").asText();
        assertThat(url).startsWith("/openapi/v3/api/v1?hash=");
        JsonNode core = RawHttp.get(server, url, null).json();
        JsonNode patch = core.at("/paths/~1api~1v1~1namespaces~1{namespace}~1configmaps~1{name}/patch");
        assertThat(patch.path("x-kubernetes-group-version-kind"))
                .isEqualTo(new ObjectMapper()
                        .createObjectNode()
                        .put("group", "")
                        .put("version", "v1")
                        .put("kind", "ConfigMap"));
        assertThat(patch.path("parameters").findValuesAsText("name")).containsExactly("fieldValidation");
        assertThat(root.at("/paths/apis~1apps~1v1/serverRelativeURL").asText()).startsWith("/openapi/v3/apis/apps/v1");
        assertThat(RawHttp.get(server, "/openapi/v3/apis/nothing.example/v1", null)
                        .code())
                .isEqualTo(404);
    }

    private static List<String> names(JsonNode resourceList) {
        return resourceList.path("resources").findValuesAsText("name");
    }

    private static JsonNode resource(JsonNode resourceList, String name) {
        for (JsonNode r : resourceList.path("resources")) {
            if (r.path("name").asText().equals(name)) {
                return r;
            }
        }
        throw new AssertionError("no " + name + " in " + resourceList);
    }
}
