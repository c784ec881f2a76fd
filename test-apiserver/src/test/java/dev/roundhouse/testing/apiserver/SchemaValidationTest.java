package dev.roundhouse.testing.apiserver;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;
import static org.junit.jupiter.params.provider.Arguments.arguments;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.GenericKubernetesResourceList;
import io.fabric8.kubernetes.api.model.Status;
import io.fabric8.kubernetes.api.model.StatusCause;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.Watch;
import io.fabric8.kubernetes.client.Watcher;
import io.fabric8.kubernetes.client.WatcherException;
import io.fabric8.kubernetes.client.dsl.NonNamespaceOperation;
import io.fabric8.kubernetes.client.dsl.Resource;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Custom resources checked against their CRD's schema: the test Gadget CRD has every construct checked. */
class SchemaValidationTest {

    private static final ResourceDefinitionContext GADGETS = new ResourceDefinitionContext.Builder()
            .withGroup("test.roundhouse.dev")
            .withVersion("v1")
            .withPlural("gadgets")
            .withKind("Gadget")
            .withNamespaced(true)
            .build();
    private static final String GADGETS_COLLECTION = "/apis/test.roundhouse.dev/v1/namespaces/default/gadgets";
    private static final String GADGETS_PATH = GADGETS_COLLECTION + "/";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    private static EmbeddedApiServer server;
    private static KubernetesClient client;

    @BeforeAll
    static void start() {
        server = new EmbeddedApiServer().start();
        client = server.client();
        server.applyCrds(TestFiles.GADGET_CRD);
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    static Stream<Arguments> invalidSpecs() {
        return Stream.of(
                arguments(
                        "replicas: 200",
                        "spec.replicas",
                        "FieldValueInvalid",
                        "spec.replicas: Invalid value: 200: spec.replicas in body should be less than or equal to 100"),
                arguments(
                        "replicas: -1",
                        "spec.replicas",
                        "FieldValueInvalid",
                        "spec.replicas: Invalid value: -1: spec.replicas in body should be greater than or equal to 0"),
                arguments(
                        "replicas: two",
                        "spec.replicas",
                        "FieldValueTypeInvalid",
                        "spec.replicas: Invalid value: \"string\": spec.replicas in body must be of type integer: \"string\""),
                arguments(
                        "ratio: 1",
                        "spec.ratio",
                        "FieldValueInvalid",
                        "spec.ratio: Invalid value: 1: spec.ratio in body should be less than 1"),
                arguments(
                        "ratio: 0.0",
                        "spec.ratio",
                        "FieldValueInvalid",
                        "spec.ratio: Invalid value: 0: spec.ratio in body should be greater than 0"),
                arguments(
                        "nickname: ab",
                        "spec.nickname",
                        "FieldValueInvalid",
                        "spec.nickname: Invalid value: \"ab\": spec.nickname in body should be at least 3 chars long"),
                arguments(
                        "nickname: abcdefghijk",
                        "spec.nickname",
                        "FieldValueTooLong",
                        "spec.nickname: Too long: may not be more than 10 bytes"),
                arguments(
                        "nickname: Abc",
                        "spec.nickname",
                        "FieldValueInvalid",
                        "spec.nickname: Invalid value: \"Abc\": spec.nickname in body should match '^[a-z]+$'"),
                arguments(
                        "nickname: admin",
                        "spec.nickname",
                        "FieldValueInvalid",
                        "spec.nickname: Invalid value: \"string\": admin is reserved"),
                arguments(
                        "size: huge",
                        "spec.size",
                        "FieldValueNotSupported",
                        "spec.size: Unsupported value: \"huge\": supported values: \"small\", \"medium\", \"large\""),
                arguments("size: null", "spec.size", "FieldValueRequired", "spec.size: Required value"),
                arguments(
                        "enabled: 'true'",
                        "spec.enabled",
                        "FieldValueTypeInvalid",
                        "spec.enabled: Invalid value: \"string\": spec.enabled in body must be of type boolean: \"string\""),
                arguments(
                        "tags: [a, b, c, d]",
                        "spec.tags",
                        "FieldValueTooMany",
                        "spec.tags: Too many: 4: must have at most 3 items"),
                arguments(
                        "labels: {team: 7}",
                        "spec.labels[team]",
                        "FieldValueTypeInvalid",
                        "spec.labels[team]: Invalid value: \"integer\": spec.labels[team] in body must be of type string: "
                                + "\"integer\""),
                arguments(
                        "quota: true",
                        "spec.quota",
                        "FieldValueTypeInvalid",
                        "spec.quota: Invalid value: \"boolean\": spec.quota in body must be of type integer,string: \"boolean\""),
                arguments(
                        "backends: [{url: 'ftp://x'}]",
                        "spec.backends[0].url",
                        "FieldValueInvalid",
                        "spec.backends[0].url: Invalid value: \"ftp://x\": spec.backends[0].url in body should match "
                                + "'^https?://[^\\s/?#@]+(:[0-9]{1,5})?/?$'"),
                arguments(
                        "backends: [{weight: 2}]",
                        "spec.backends[0].url",
                        "FieldValueRequired",
                        "spec.backends[0].url: Required value"),
                arguments(
                        "backends: []",
                        "spec.backends",
                        "FieldValueInvalid",
                        "spec.backends: Invalid value: 0: spec.backends in body should have at least 1 items"),
                arguments(
                        "backends: [{url: 'http://a', weight: 11}]",
                        "spec.backends[0]",
                        "FieldValueInvalid",
                        "spec.backends[0]: Invalid value: \"object\": a weight above 10 needs an https backend"),
                arguments(
                        "serviceRef: {name: web}",
                        "spec",
                        "FieldValueInvalid",
                        "spec: Invalid value: \"object\": set exactly one of spec.backends and spec.serviceRef"),
                arguments(
                        "backends: null",
                        "spec",
                        "FieldValueInvalid",
                        "spec: Invalid value: \"object\": set exactly one of spec.backends and spec.serviceRef"),
                arguments(
                        "{backends: null, serviceRef: {port: 80}}",
                        "spec.serviceRef.name",
                        "FieldValueRequired",
                        "spec.serviceRef.name: Required value"),
                arguments(
                        "port: 9090",
                        "spec",
                        "FieldValueInvalid",
                        "spec: Invalid value: \"object\": spec.port 9090 is the metrics port"),
                arguments(
                        "healthCheck: {interval: soon}",
                        "spec.healthCheck.interval",
                        "FieldValueInvalid",
                        "spec.healthCheck.interval: Invalid value: \"soon\": spec.healthCheck.interval in body should match "
                                + "'^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$'"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("invalidSpecs")
    void anInvalidCustomResourceIsRefusedLikeByKubernetes(
            String specPatch, String field, String reason, String problem) {
        Status status = Refused.asInvalid(
                () -> gadgets().resource(gadget("bad", specPatch)).create());

        assertThat(status.getMessage()).isEqualTo("Gadget.test.roundhouse.dev \"bad\" is invalid: " + problem);
        assertThat(status.getDetails().getName()).isEqualTo("bad");
        assertThat(status.getDetails().getGroup()).isEqualTo("test.roundhouse.dev");
        assertThat(status.getDetails().getKind()).isEqualTo("Gadget");
        assertThat(status.getDetails().getCauses()).singleElement().satisfies(cause -> {
            assertThat(cause.getField()).isEqualTo(field);
            assertThat(cause.getReason()).isEqualTo(reason);
            assertThat(field + ": " + cause.getMessage()).isEqualTo(problem);
        });
        assertThat(gadgets().withName("bad").get()).isNull();
    }

    @Test
    void everyProblemIsReportedAtOnce() {
        Status status =
                Refused.asInvalid(() -> gadgets().resource(gadget("bad", """
        replicas: 200
        nickname: Abc
        """)).create());

        assertThat(status.getMessage())
                .startsWith("Gadget.test.roundhouse.dev \"bad\" is invalid: [spec.replicas: ")
                .contains(", spec.nickname: Invalid value: \"Abc\"")
                .endsWith("]");
        assertThat(status.getDetails().getCauses())
                .extracting(StatusCause::getField, StatusCause::getReason)
                .containsExactly(
                        tuple("spec.replicas", "FieldValueInvalid"), tuple("spec.nickname", "FieldValueInvalid"));
    }

    @Test
    void aCustomResourceWithoutTheRequiredSpecIsRefused() {
        GenericKubernetesResource noSpec = gadget("bad", "{}");
        noSpec.getAdditionalProperties().remove("spec");

        Status status = Refused.asInvalid(() -> gadgets().resource(noSpec).create());

        assertThat(status.getMessage())
                .isEqualTo("Gadget.test.roundhouse.dev \"bad\" is invalid: spec: Required value");
    }

    @Test
    void aValidCustomResourceIsStoredWithItsDefaults() throws IOException {
        // The CRD also has a rule that does not compile: it is skipped, and does not block the write.
        GenericKubernetesResource created =
                gadgets().resource(gadget("good", """
        replicas: 3
        healthCheck: {path: /healthz}
        nickname: gizmo
        ratio: 0.5
        quota: 50%
        tags: [a, b]
        labels: {team: web}
        """)).create();

        JsonNode stored = json(gadgets().withName("good").get());
        assertThat(json(created)).isEqualTo(stored);
        assertThat(stored.get("spec")).isEqualTo(yaml("""
        size: small
        backends:
        - url: http://10.0.0.1:8080
          weight: 1
        replicas: 3
        healthCheck:
          path: /healthz
          interval: 30s
        nickname: gizmo
        ratio: 0.5
        quota: 50%
        tags: [a, b]
        labels: {team: web}
        port: 8080
        enabled: false
        """));
        // int-or-string takes either
        assertThat(gadgets().resource(gadget("good-int", "quota: 5")).create()).isNotNull();
    }

    @Test
    void unknownFieldsArePrunedUnlessTheSchemaPreservesThem() throws IOException {
        GenericKubernetesResource created = gadgets().resource(resource("""
        apiVersion: test.roundhouse.dev/v1
        kind: Gadget
        metadata:
          name: pruned
          labels: {app: pruned}
        unknownTop: 1
        spec:
          size: small
          colour: red
          backends:
          - {url: 'http://10.0.0.1', junk: true}
          healthCheck: {path: /x, extra: 1}
          extra: {anything: {deep: [1, 2]}}
          template: {apiVersion: v1, kind: ConfigMap, metadata: {name: t}, data: {k: v}}
          labels: {team: web}
        """)).create();

        JsonNode stored = json(gadgets().withName("pruned").get());
        assertThat(json(created)).isEqualTo(stored);
        assertThat(stored.has("unknownTop")).isFalse();
        assertThat(stored.at("/metadata/labels/app").asText()).isEqualTo("pruned");
        assertThat(stored.get("spec").has("colour")).isFalse();
        assertThat(stored.at("/spec/backends/0")).isEqualTo(yaml("{url: 'http://10.0.0.1', weight: 1}"));
        assertThat(stored.at("/spec/healthCheck")).isEqualTo(yaml("{path: /x, interval: 30s}"));
        assertThat(stored.at("/spec/extra")).isEqualTo(yaml("{anything: {deep: [1, 2]}}"));
        assertThat(stored.at("/spec/template"))
                .isEqualTo(yaml("{apiVersion: v1, kind: ConfigMap, metadata: {name: t}, data: {k: v}}"));
        assertThat(stored.at("/spec/labels")).isEqualTo(yaml("{team: web}"));
    }

    @Test
    void unknownFieldsAreWarnedOfByDefaultRefusedWhenStrictAndIgnoredWhenAsked() {
        String gadget = """
        apiVersion: test.roundhouse.dev/v1
        kind: Gadget
        metadata: {name: NAME}
        spec:
          size: small
          colour: red
          backends:
          - {url: 'http://10.0.0.1', junk: true}
        """;
        RawHttp.Response warned =
                RawHttp.post(server, GADGETS_COLLECTION, "application/yaml", gadget.replace("NAME", "warned"));
        assertThat(warned.code()).as(warned.body()).isEqualTo(201);
        assertThat(warned.warnings())
                .as("fieldValidation=Warn, the default: one Warning header per field")
                .containsExactlyInAnyOrder(
                        "299 - \"unknown field \\\"spec.colour\\\"\"",
                        "299 - \"unknown field \\\"spec.backends[0].junk\\\"\"");

        RawHttp.Response patched = RawHttp.patch(
                server, GADGETS_PATH + "warned", "application/merge-patch+json", "{\"spec\": {\"shade\": \"dark\"}}");
        assertThat(patched.code()).as(patched.body()).isEqualTo(200);
        assertThat(patched.warnings()).containsExactly("299 - \"unknown field \\\"spec.shade\\\"\"");

        RawHttp.Response strict = RawHttp.post(
                server,
                GADGETS_COLLECTION + "?fieldValidation=Strict",
                "application/yaml",
                gadget.replace("NAME", "strict"));
        assertThat(strict.code()).isEqualTo(400);
        assertThat(strict.json().path("reason").asText()).isEqualTo("BadRequest");
        assertThat(strict.json().path("message").asText())
                .isEqualTo(
                        "Gadget in version \"v1\" cannot be handled as a "
                                + "Gadget: strict decoding error: unknown field \"spec.colour\", unknown field \"spec.backends[0].junk\"");
        assertThat(gadgets().withName("strict").get()).as("nothing stored").isNull();

        RawHttp.Response ignored = RawHttp.post(
                server,
                GADGETS_COLLECTION + "?fieldValidation=Ignore",
                "application/yaml",
                gadget.replace("NAME", "ignored"));
        assertThat(ignored.code()).isEqualTo(201);
        assertThat(ignored.warnings()).isEmpty();

        RawHttp.Response unsupported = RawHttp.post(
                server,
                GADGETS_COLLECTION + "?fieldValidation=Loud",
                "application/yaml",
                gadget.replace("NAME", "loud"));
        assertThat(unsupported.code()).isEqualTo(400);
        assertThat(unsupported.json().path("message").asText()).contains("fieldValidation", "Loud");
    }

    @Test
    void nullIsKeptWhereNullableElseItTakesTheDefaultOrGoes() throws IOException {
        RawHttp.Response applied =
                RawHttp.patch(server, GADGETS_PATH + "nulls?fieldManager=test", "application/apply-patch+yaml", """
            apiVersion: test.roundhouse.dev/v1
            kind: Gadget
            metadata:
              name: nulls
            spec:
              size: small
              backends: [{url: 'http://10.0.0.1'}]
              note: null
              replicas: null
              nickname: null
            """);

        assertThat(applied.code()).as(applied.body()).isEqualTo(201);
        JsonNode spec = json(gadgets().withName("nulls").get()).get("spec");
        assertThat(spec.get("note").isNull()).isTrue();
        assertThat(spec.get("replicas").asInt()).isEqualTo(1);
        assertThat(spec.has("nickname")).isFalse();
    }

    @Test
    void everyKindOfWriteIsCheckedAndARefusedOneChangesNothingAndSendsNoEvent() throws Exception {
        GenericKubernetesResource target =
                gadgets().resource(gadget("target", "replicas: 2")).create();
        String version = target.getMetadata().getResourceVersion();
        BlockingQueue<String> events = new LinkedBlockingQueue<>();
        Watch watch = gadgets().watch(new Watcher<>() {
            @Override
            public void eventReceived(Action action, GenericKubernetesResource gadget) {
                events.add(action + " " + gadget.getMetadata().getName());
            }

            @Override
            public void onClose(WatcherException cause) {
                // nothing to release
            }
        });
        try {
            Resource<GenericKubernetesResource> stored = gadgets().withName("target");
            GenericKubernetesResource tooMany = gadget("target", "replicas: 200");
            String problem = "Gadget.test.roundhouse.dev \"target\" is invalid: spec.replicas: Invalid value: 200: "
                    + "spec.replicas in body should be less than or equal to 100";

            // PUT, JSON merge patch, strategic merge patch, JSON patch (edit), server-side apply.
            assertThat(Refused.asInvalid(() -> gadgets().resource(tooMany).update())
                            .getMessage())
                    .isEqualTo(problem);
            assertThat(Refused.asInvalid(() -> stored.patch(
                                    PatchContext.of(PatchType.JSON_MERGE), "{\"spec\":{\"replicas\":200}}"))
                            .getMessage())
                    .isEqualTo(problem);
            assertThat(Refused.asInvalid(() -> stored.patch(
                                    PatchContext.of(PatchType.STRATEGIC_MERGE), "{\"spec\":{\"replicas\":200}}"))
                            .getMessage())
                    .isEqualTo(problem);
            assertThat(Refused.asInvalid(() -> stored.edit(g -> {
                                spec(g).put("replicas", 200);
                                return g;
                            }))
                            .getMessage())
                    .isEqualTo(problem);
            assertThat(Refused.asInvalid(() -> gadgets()
                                    .resource(tooMany)
                                    .fieldManager("test")
                                    .forceConflicts()
                                    .serverSideApply())
                            .getMessage())
                    .isEqualTo(problem);
            RawHttp.Response applied = RawHttp.patch(
                    server, GADGETS_PATH + "target?fieldManager=test", "application/apply-patch+yaml", """
              apiVersion: test.roundhouse.dev/v1
              kind: Gadget
              metadata: {name: target}
              spec: {replicas: 200}
              """);
            assertThat(applied.code()).isEqualTo(422);
            assertThat(applied.json().path("message").asText()).isEqualTo(problem);
            assertThat(applied.json().at("/details/causes/0/field").asText()).isEqualTo("spec.replicas");
            // An apply that would create an invalid object creates nothing.
            assertThat(Refused.asInvalid(() -> gadgets()
                                    .resource(gadget("never", "replicas: 200"))
                                    .fieldManager("test")
                                    .serverSideApply())
                            .getMessage())
                    .contains("\"never\" is invalid");
            assertThat(gadgets().withName("never").get()).isNull();

            gadgets().resource(gadget("marker", "{}")).create();
            List<String> seen = new ArrayList<>();
            while (!seen.contains("ADDED marker")) {
                String event = events.poll(10, TimeUnit.SECONDS);
                assertThat(event).as("watch events so far: %s", seen).isNotNull();
                seen.add(event);
            }
            assertThat(seen).doesNotContain("MODIFIED target").doesNotContain("ADDED never");
            assertThat(stored.get().getMetadata().getResourceVersion()).isEqualTo(version);
            assertThat(json(stored.get()).at("/spec/replicas").asInt()).isEqualTo(2);
        } finally {
            watch.close();
        }
    }

    @Test
    void defaultsComeBackWhenAWriteRemovesTheField() throws IOException {
        gadgets().resource(gadget("redefault", "replicas: 5")).create();

        GenericKubernetesResource patched = gadgets()
                .withName("redefault")
                .patch(PatchContext.of(PatchType.JSON_MERGE), "{\"spec\":{\"replicas\":null}}");

        assertThat(json(patched).at("/spec/replicas").asInt()).isEqualTo(1);
        assertThat(json(gadgets().withName("redefault").get())
                        .at("/spec/replicas")
                        .asInt())
                .isEqualTo(1);
    }

    @Test
    void statusWritesCheckTheStatus() throws IOException {
        gadgets().resource(gadget("with-status", "{}")).create();
        Resource<GenericKubernetesResource> gadget = gadgets().withName("with-status");

        Status unsupported = Refused.asInvalid(() -> gadget.editStatus(g -> {
            g.setAdditionalProperty("status", new HashMap<>(Map.of("phase", "Done")));
            return g;
        }));
        assertThat(unsupported.getMessage())
                .isEqualTo("Gadget.test.roundhouse.dev \"with-status\" is invalid: "
                        + "status.phase: Unsupported value: \"Done\": supported values: \"Pending\", \"Ready\"");

        GenericKubernetesResource negative = gadget.get();
        negative.setAdditionalProperty("status", Map.of("observedGeneration", -1));
        Status tooSmall = Refused.asInvalid(() -> gadgets().resource(negative).updateStatus());
        assertThat(tooSmall.getDetails().getCauses()).singleElement().satisfies(c -> {
            assertThat(c.getField()).isEqualTo("status.observedGeneration");
            assertThat(c.getMessage())
                    .isEqualTo(
                            "Invalid value: -1: status.observedGeneration in body should be greater than or equal to 0");
        });

        GenericKubernetesResource ready = gadget.get();
        ready.setAdditionalProperty("status", Map.of("phase", "Ready", "bogus", 1));
        gadgets().resource(ready).updateStatus();
        assertThat(json(gadget.get()).get("status")).isEqualTo(yaml("{phase: Ready}"));
    }

    @Test
    void kindsWithoutASchemaAndBuiltInKindsAreNotChecked() {
        server.applyCrds(TestFiles.WIDGET_CRD); // spec and status preserve unknown fields
        GenericKubernetesResource widget = resource("""
        apiVersion: test.roundhouse.dev/v1
        kind: Widget
        metadata: {name: free}
        spec: {anything: [1, 2], port: -5}
        """);

        GenericKubernetesResource created = client.resource(widget).create();

        assertThat(created.getAdditionalProperties().get("spec"))
                .isEqualTo(Map.of("anything", List.of(1, 2), "port", -5));
        assertThat(client.resource(Desired.configMap("built-in")).create().getData())
                .containsKey("mode");
    }

    // ---------------------------------------------------------------- helpers

    private static NonNamespaceOperation<
                    GenericKubernetesResource, GenericKubernetesResourceList, Resource<GenericKubernetesResource>>
            gadgets() {
        return client.genericKubernetesResources(GADGETS).inNamespace("default");
    }

    /** A valid Gadget named {@code name}, its spec changed by a JSON merge patch written in YAML. */
    private static GenericKubernetesResource gadget(String name, String specPatch) {
        ObjectNode gadget = (ObjectNode) yaml("""
        apiVersion: test.roundhouse.dev/v1
        kind: Gadget
        metadata:
          name: %s
        spec:
          size: small
          backends:
          - url: http://10.0.0.1:8080
        """.formatted(name));
        gadget.set("spec", Merge.mergePatch(gadget.get("spec"), yaml(specPatch)));
        return resource(gadget.toString());
    }

    private static GenericKubernetesResource resource(String yaml) {
        return client.getKubernetesSerialization().unmarshal(yaml, GenericKubernetesResource.class);
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> spec(GenericKubernetesResource resource) {
        return (Map<String, Object>) resource.getAdditionalProperties().get("spec");
    }

    private static JsonNode json(GenericKubernetesResource resource) throws IOException {
        return JSON.readTree(client.getKubernetesSerialization().asJson(resource));
    }

    private static JsonNode yaml(String text) {
        try {
            return YAML.readTree(text);
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }
}
