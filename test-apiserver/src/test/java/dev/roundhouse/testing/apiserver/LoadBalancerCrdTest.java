package dev.roundhouse.testing.apiserver;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.params.provider.Arguments.arguments;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.GenericKubernetesResourceList;
import io.fabric8.kubernetes.api.model.Status;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.NonNamespaceOperation;
import io.fabric8.kubernetes.client.dsl.Resource;
import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;
import java.io.IOException;
import java.nio.file.Files;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The project's own LoadBalancer CRD and sample against the validating server, as users apply them. */
class LoadBalancerCrdTest {

    private static final ResourceDefinitionContext LOAD_BALANCERS = new ResourceDefinitionContext.Builder()
            .withGroup("roundhouse.dev")
            .withVersion("v1alpha1")
            .withPlural("loadbalancers")
            .withKind("LoadBalancer")
            .withNamespaced(true)
            .build();
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    private static EmbeddedApiServer server;
    private static KubernetesClient client;

    @BeforeAll
    static void start() {
        server = new EmbeddedApiServer().start();
        client = server.client();
        server.applyCrds(TestFiles.LOAD_BALANCER_CRD);
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    @Test
    void theSampleIsAcceptedWithItsDefaultsFilledIn() throws IOException {
        GenericKubernetesResource created =
                loadBalancers().resource(sample("demo", "{}")).create();

        JsonNode spec = json(loadBalancers().withName("demo").get()).get("spec");
        assertThat(json(created).get("spec")).isEqualTo(spec);
        assertThat(spec.get("replicas").asInt()).as("set in the sample").isEqualTo(1);
        assertThat(spec.get("port").asInt()).isEqualTo(8080);
        assertThat(spec.get("backends"))
                .as("no default weight: the pool document gives absent weights 1")
                .hasSize(3)
                .allSatisfy(b -> assertThat(b.has("weight")).isFalse());
        assertThat(spec.get("healthCheck")).isEqualTo(yaml("""
        path: /healthz
        interval: 5s
        timeout: 2s
        healthyThreshold: 2
        unhealthyThreshold: 1
        """));
        assertThat(spec.at("/metrics/serviceMonitor")).isEqualTo(yaml("{enabled: false, interval: 30s}"));
        // Only objects that are present get defaults inside them.
        assertThat(spec.has("circuitBreaker")).isFalse();
        assertThat(spec.has("service")).isFalse();
    }

    static Stream<Arguments> invalidSpecs() {
        return Stream.of(
                arguments(
                        "serviceRef: {name: web, port: 80}",
                        "spec",
                        "spec: Invalid value: \"object\": set exactly one of spec.backends and spec.serviceRef"),
                arguments(
                        "backends: null",
                        "spec",
                        "spec: Invalid value: \"object\": set exactly one of spec.backends and spec.serviceRef"),
                arguments(
                        "replicas: 200",
                        "spec.replicas",
                        "spec.replicas: Invalid value: 200: spec.replicas in body should be less than or equal to 100"),
                arguments(
                        "port: 0",
                        "spec.port",
                        "spec.port: Invalid value: 0: spec.port in body should be greater than or equal to 1"),
                arguments(
                        "backends: [{url: 'ftp://x'}]",
                        "spec.backends[0].url",
                        "spec.backends[0].url: Invalid value: \"ftp://x\": spec.backends[0].url in body should match "
                                + "'^https?://[^\\s/?#@]+(:[0-9]{1,5})?/?$'"),
                arguments(
                        "backends: []",
                        "spec.backends",
                        "spec.backends: Invalid value: 0: spec.backends in body should have at least 1 items"),
                arguments(
                        "healthCheck: {interval: soon}",
                        "spec.healthCheck.interval",
                        "spec.healthCheck.interval: Invalid value: \"soon\": spec.healthCheck.interval in body should match "
                                + "'^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$'"),
                arguments(
                        "service: {loadBalancerClass: example.com/lb}",
                        "spec.service",
                        "spec.service: Invalid value: \"object\": spec.service.loadBalancerClass needs spec.service.type "
                                + "LoadBalancer"),
                arguments(
                        "service: {type: Ingress}",
                        "spec.service.type",
                        "spec.service.type: Invalid value: \"Ingress\": spec.service.type in body should match "
                                + "'^(ClusterIP|NodePort|LoadBalancer)$'"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("invalidSpecs")
    void anInvalidLoadBalancerIsRefused(String specPatch, String field, String problem) {
        Status status = Refused.asInvalid(
                () -> loadBalancers().resource(sample("bad", specPatch)).create());

        assertThat(status.getMessage()).isEqualTo("LoadBalancer.roundhouse.dev \"bad\" is invalid: " + problem);
        assertThat(status.getDetails().getCauses())
                .singleElement()
                .satisfies(cause -> assertThat(cause.getField()).isEqualTo(field));
        assertThat(loadBalancers().withName("bad").get()).isNull();
    }

    @Test
    void aLoadBalancerWithoutASpecIsRefused() throws IOException {
        GenericKubernetesResource empty = sample("nospec", "{}");
        empty.setAdditionalProperty("spec", null);
        empty.getAdditionalProperties().remove("spec");

        Status status = Refused.asInvalid(() -> loadBalancers().resource(empty).create());

        assertThat(status.getMessage())
                .isEqualTo("LoadBalancer.roundhouse.dev \"nospec\" is invalid: spec: Required value");
    }

    @ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(
            strings = {"1shop", "shop.v2", "a-name-of-sixty-four-characters-is-one-more-than-a-label-takes-xx"})
    void aNameThatWouldMakeAnInvalidServiceOrLabelIsRefused(String name) throws IOException {
        Status status = Refused.asInvalid(
                () -> loadBalancers().resource(sample(name, "{}")).create());

        assertThat(status.getMessage()).contains("metadata.name must be a DNS-1035 label of at most 63 characters");
    }

    @Test
    void aNameOfSixtyThreeCharactersIsAccepted() throws IOException {
        String name = "a-name-of-sixty-three-characters-is-as-long-as-a-label-can-be-x";
        assertThat(name).hasSize(63);

        loadBalancers().resource(sample(name, "{}")).create();
    }

    @Test
    void aServiceRefLoadBalancerIsAccepted() throws IOException {
        GenericKubernetesResource created =
                loadBalancers().resource(sample("by-ref", """
        backends: null
        serviceRef: {name: web, port: 80}
        """)).create();

        assertThat(json(created).at("/spec/serviceRef")).isEqualTo(yaml("{name: web, port: 80, scheme: http}"));
    }

    // ---------------------------------------------------------------- helpers

    private static NonNamespaceOperation<
                    GenericKubernetesResource, GenericKubernetesResourceList, Resource<GenericKubernetesResource>>
            loadBalancers() {
        return client.genericKubernetesResources(LOAD_BALANCERS).inNamespace("default");
    }

    /** samples/loadbalancer.yaml named {@code name}, its spec changed by a JSON merge patch written in YAML. */
    private static GenericKubernetesResource sample(String name, String specPatch) throws IOException {
        ObjectNode sample = (ObjectNode) yaml(Files.readString(TestFiles.LOAD_BALANCER_SAMPLE));
        ((ObjectNode) sample.get("metadata")).put("name", name);
        sample.set("spec", Merge.mergePatch(sample.get("spec"), yaml(specPatch)));
        return client.getKubernetesSerialization().unmarshal(sample.toString(), GenericKubernetesResource.class);
    }

    private static JsonNode json(GenericKubernetesResource resource) throws IOException {
        return JSON.readTree(client.getKubernetesSerialization().asJson(resource));
    }

    private static JsonNode yaml(String text) throws IOException {
        return YAML.readTree(text);
    }
}
