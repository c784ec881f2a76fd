package dev.roundhouse.testing.apiserver;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

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
    String before = spec();

    RawHttp.Response scaled = RawHttp.patch(server, DEMO + "/scale", "application/merge-patch+json",
        "{\"spec\": {\"replicas\": 5}}");

    assertThat(scaled.code()).isEqualTo(404);
    assertThat(scaled.json().path("reason").asText()).isEqualTo("NotFound");
    assertThat(RawHttp.get(server, DEMO + "/scale", null).code()).isEqualTo(404);
    assertThat(spec()).isEqualTo(before);
  }

  @Test
  void anUnknownSubresourceIsNotFoundAndDeclaredStatusIsServed() {
    assertThat(RawHttp.get(server, DEMO + "/bogus", null).code()).isEqualTo(404);
    assertThat(RawHttp.get(server, "/api/v1/namespaces/default/configmaps/x/scale", null).code()).isEqualTo(404);

    RawHttp.Response status = RawHttp.patch(server, DEMO + "/status", "application/merge-patch+json",
        "{\"status\": {\"observedGeneration\": 1}}");
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
        .isEqualTo(new ResourcePath("apiextensions.k8s.io", "v1", null, "customresourcedefinitions", "x.y", null));
    assertThat(ResourcePath.parse("/apis/roundhouse.dev")).isNull();
  }
}
