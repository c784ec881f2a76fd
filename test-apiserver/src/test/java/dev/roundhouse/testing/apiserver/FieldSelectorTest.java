package dev.roundhouse.testing.apiserver;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.fabric8.kubernetes.api.model.EventBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Lists selected by the fields a real server selects Events by, and lists of the kind the client asked for. */
class FieldSelectorTest {

    private static final String EVENTS = "/api/v1/namespaces/default/events";

    private static EmbeddedApiServer server;
    private static KubernetesClient client;

    @BeforeAll
    static void start() {
        server = new EmbeddedApiServer().start();
        client = server.client();
        event("a.1", "a", "uid-a", "NameConflict", "Warning");
        event("a.2", "a", "uid-a", "Scaled", "Normal");
        event("b.1", "b", "uid-b", "NameConflict", "Warning");
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private static void event(String name, String object, String uid, String reason, String type) {
        client.v1()
                .events()
                .inNamespace("default")
                .resource(new EventBuilder()
                        .withNewMetadata()
                        .withName(name)
                        .endMetadata()
                        .withNewInvolvedObject()
                        .withApiVersion("roundhouse.dev/v1alpha1")
                        .withKind("LoadBalancer")
                        .withNamespace("default")
                        .withName(object)
                        .withUid(uid)
                        .endInvolvedObject()
                        .withReason(reason)
                        .withType(type)
                        .withMessage("m")
                        .withNewSource("roundhouse-operator", null)
                        .build())
                .create();
    }

    private static List<String> selected(String selector) {
        RawHttp.Response answer = RawHttp.get(
                server, EVENTS + "?fieldSelector=" + URLEncoder.encode(selector, StandardCharsets.UTF_8), null);
        assertThat(answer.code()).as(answer.body()).isEqualTo(200);
        assertThat(answer.json().path("kind").asText()).isEqualTo("EventList");
        return answer.json().path("items").findValuesAsText("name").stream()
                .filter(n -> n.contains("."))
                .sorted()
                .toList();
    }

    @Test
    void eventsAreSelectedByTheirObjectReasonTypeAndSource() {
        assertThat(selected("involvedObject.name=a")).containsExactly("a.1", "a.2");
        // what kubectl describe sends
        assertThat(selected("involvedObject.name=a,involvedObject.namespace=default,involvedObject.kind=LoadBalancer,"
                        + "involvedObject.uid=uid-a"))
                .containsExactly("a.1", "a.2");
        assertThat(selected("involvedObject.uid==uid-b")).containsExactly("b.1");
        assertThat(selected("reason=NameConflict,type!=Normal")).containsExactly("a.1", "b.1");
        assertThat(selected("involvedObject.name=a,metadata.name=a.2")).containsExactly("a.2");
        assertThat(selected("source=roundhouse-operator")).containsExactly("a.1", "a.2", "b.1");
        assertThat(selected("involvedObject.name=c")).isEmpty();
    }

    @Test
    void aFieldTheKindCannotBeSelectedByIsRefusedAsByARealServer() {
        RawHttp.Response answer = RawHttp.get(server, EVENTS + "?fieldSelector=spec.x%3D1", null);
        assertThat(answer.code()).isEqualTo(400);
        assertThat(answer.json().path("message").asText()).isEqualTo("field label not supported: spec.x");
        assertThat(RawHttp.get(server, "/api/v1/namespaces/default/configmaps?fieldSelector=reason%3Dx", null)
                        .code())
                .isEqualTo(400);
        assertThat(RawHttp.get(server, EVENTS + "?watch=true&fieldSelector=reason%3Dx", null)
                        .code())
                .as("a watch the embedded server cannot select is refused, not answered with everything")
                .isEqualTo(400);
    }

    @Test
    void listsAreOfTheirKind() {
        JsonNode configMaps = RawHttp.get(server, "/api/v1/namespaces/default/configmaps", null)
                .json();
        assertThat(configMaps.path("kind").asText()).isEqualTo("ConfigMapList");
        assertThat(configMaps.path("apiVersion").asText()).isEqualTo("v1");
        JsonNode deployments =
                RawHttp.get(server, "/apis/apps/v1/deployments", null).json();
        assertThat(deployments.path("kind").asText()).isEqualTo("DeploymentList");
        assertThat(deployments.path("apiVersion").asText()).isEqualTo("apps/v1");
        assertThat(client.v1()
                        .events()
                        .inNamespace("default")
                        .withField("involvedObject.name", "b")
                        .list()
                        .getItems())
                .extracting(e -> e.getMetadata().getName())
                .containsExactly("b.1");
    }
}
