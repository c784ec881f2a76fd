package dev.roundhouse.testing.apiserver;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Only the subresources a real server serves: the base class would read or write the object itself. */
class SubresourceTest {

    private static final String DEMO = "/apis/roundhouse.dev/v1alpha1/namespaces/default/loadbalancers/demo";

    private static EmbeddedApiServer server;

    @BeforeAll
    static void start() {
        server = new EmbeddedApiServer().start();
        server.applyCrds(TestFiles.LOAD_BALANCER_CRD);
        server.applyYaml(TestFiles.LOAD_BALANCER_SAMPLE);
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private static String spec() {
        return RawHttp.get(server, DEMO, null).json().path("spec").toString();
    }

    @Test
    void aScaleTheCrdDoesNotDeclareIsNotFoundAndChangesNothing() {
        server.applyCrdYaml("""
        apiVersion: apiextensions.k8s.io/v1
        kind: CustomResourceDefinition
        metadata: {name: widgets.example.dev}
        spec:
          group: example.dev
          scope: Namespaced
          names: {kind: Widget, plural: widgets, singular: widget}
          versions:
            - name: v1
              served: true
              storage: true
              subresources: {status: {}}
              schema:
                openAPIV3Schema:
                  type: object
                  properties:
                    spec: {type: object, properties: {replicas: {type: integer}}}
                    status: {type: object, x-kubernetes-preserve-unknown-fields: true}
        """);
        server.applyYaml("""
        apiVersion: example.dev/v1
        kind: Widget
        metadata: {name: w, namespace: default}
        spec: {replicas: 1}
        """);
        String widget = "/apis/example.dev/v1/namespaces/default/widgets/w";

        RawHttp.Response scaled = RawHttp.patch(
                server, widget + "/scale", "application/merge-patch+json", "{\"spec\": {\"replicas\": 5}}");

        assertThat(scaled.code()).isEqualTo(404);
        assertThat(scaled.json().path("reason").asText()).isEqualTo("NotFound");
        assertThat(RawHttp.get(server, widget + "/scale", null).code()).isEqualTo(404);
        assertThat(RawHttp.get(server, widget, null).json().at("/spec/replicas").asInt())
                .isEqualTo(1);
    }

    @Test
    void aDeclaredScaleReadsAndSetsTheReplicasTheCrdNames() {
        RawHttp.Response scale = RawHttp.get(server, DEMO + "/scale", null);
        assertThat(scale.code()).as(scale.body()).isEqualTo(200);
        assertThat(scale.json().path("kind").asText()).isEqualTo("Scale");
        assertThat(scale.json().path("apiVersion").asText()).isEqualTo("autoscaling/v1");
        assertThat(scale.json().at("/metadata/name").asText()).isEqualTo("demo");
        assertThat(scale.json().at("/spec/replicas").asInt())
                .isEqualTo(RawHttp.get(server, DEMO, null)
                        .json()
                        .at("/spec/replicas")
                        .asInt());

        // What kubectl scale sends, and what an autoscaler writes.
        RawHttp.Response patched =
                RawHttp.patch(server, DEMO + "/scale", "application/merge-patch+json", "{\"spec\": {\"replicas\": 5}}");
        assertThat(patched.code()).as(patched.body()).isEqualTo(200);
        assertThat(patched.json().at("/spec/replicas").asInt()).isEqualTo(5);
        assertThat(RawHttp.get(server, DEMO, null).json().at("/spec/replicas").asInt())
                .isEqualTo(5);

        RawHttp.Response put = RawHttp.put(
                server,
                DEMO + "/scale",
                "application/json",
                "{\"apiVersion\": \"autoscaling/v1\", \"kind\": \"Scale\", \"metadata\": {\"name\": \"demo\"},"
                        + " \"spec\": {\"replicas\": 3}}");
        assertThat(put.code()).as(put.body()).isEqualTo(200);
        assertThat(RawHttp.get(server, DEMO, null).json().at("/spec/replicas").asInt())
                .isEqualTo(3);

        // The object's own schema still holds: at most 100 replicas.
        RawHttp.Response tooMany = RawHttp.patch(
                server, DEMO + "/scale", "application/merge-patch+json", "{\"spec\": {\"replicas\": 200}}");
        assertThat(tooMany.code()).isEqualTo(422);
        assertThat(tooMany.json().path("message").asText())
                .contains("spec.replicas in body should be less than or equal to 100");
        assertThat(RawHttp.get(server, DEMO, null).json().at("/spec/replicas").asInt())
                .isEqualTo(3);

        // The status the autoscaler reads: the paths the CRD names.
        RawHttp.patch(
                server,
                DEMO + "/status",
                "application/merge-patch+json",
                "{\"status\": {\"replicas\": 3, \"selector\": \"app.kubernetes.io/instance=demo\"}}");
        JsonNode status = RawHttp.get(server, DEMO + "/scale", null).json().path("status");
        assertThat(status.path("replicas").asInt()).isEqualTo(3);
        assertThat(status.path("selector").asText()).isEqualTo("app.kubernetes.io/instance=demo");
    }

    @Test
    void anUnknownSubresourceIsNotFoundAndDeclaredStatusIsServed() {
        assertThat(RawHttp.get(server, DEMO + "/bogus", null).code()).isEqualTo(404);
        assertThat(RawHttp.get(server, "/api/v1/namespaces/default/configmaps/x/scale", null)
                        .code())
                .isEqualTo(404);

        RawHttp.Response status = RawHttp.patch(
                server, DEMO + "/status", "application/merge-patch+json", "{\"status\": {\"observedGeneration\": 1}}");
        assertThat(status.code()).as(status.body()).isEqualTo(200);
        assertThat(status.json().at("/status/observedGeneration").asInt()).isEqualTo(1);
    }

    @Test
    void pathsAreReadIntoTheirParts() {
        assertThat(ResourcePath.parse("/apis/roundhouse.dev/v1alpha1/namespaces/default/loadbalancers/demo/scale"))
                .isEqualTo(new ResourcePath("roundhouse.dev", "v1alpha1", "default", "loadbalancers", "demo", "scale"));
        assertThat(ResourcePath.parse("/api/v1/namespaces/default/configmaps"))
                .isEqualTo(new ResourcePath("", "v1", "default", "configmaps", null, null));
        assertThat(ResourcePath.parse("/api/v1/namespaces/default/status"))
                .isEqualTo(new ResourcePath("", "v1", null, "namespaces", "default", "status"));
        assertThat(ResourcePath.parse("/api/v1/namespaces/default"))
                .isEqualTo(new ResourcePath("", "v1", null, "namespaces", "default", null));
        assertThat(ResourcePath.parse("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/x.y"))
                .isEqualTo(
                        new ResourcePath("apiextensions.k8s.io", "v1", null, "customresourcedefinitions", "x.y", null));
        assertThat(ResourcePath.parse("/apis/roundhouse.dev")).isNull();
    }
}
