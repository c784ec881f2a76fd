package dev.roundhouse.testing.apiserver;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.fabric8.kubernetes.api.model.ConditionBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class TableTest {

    private static final String TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,"
            + "application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";
    private static EmbeddedApiServer server;
    private static KubernetesClient client;

    @BeforeAll
    static void start() {
        server = new EmbeddedApiServer().start();
        client = server.client();
        server.applyCrds(TestFiles.WIDGET_CRD);
        client.resource(Widget.named("ready", 80)).create();
        client.resources(Widget.class).withName("ready").editStatus(w -> {
            w.setStatus(new Widget.Status());
            w.getStatus().setBackends(2);
            w.getStatus()
                    .setConditions(List.of(
                            new ConditionBuilder()
                                    .withType("Progressing")
                                    .withStatus("False")
                                    .build(),
                            new ConditionBuilder()
                                    .withType("Ready")
                                    .withStatus("True")
                                    .build()));
            return w;
        });
        client.resource(Widget.named("pending", 81)).create();
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    @Test
    void customResourceListsAnswerTablesWithThePrinterColumns() {
        RawHttp.Response response =
                RawHttp.get(server, "/apis/test.roundhouse.dev/v1/namespaces/default/widgets?limit=500", TABLE);

        assertThat(response.code()).isEqualTo(200);
        JsonNode table = response.json();
        assertThat(table.path("kind").asText()).isEqualTo("Table");
        assertThat(table.path("apiVersion").asText()).isEqualTo("meta.k8s.io/v1");
        assertThat(table.path("columnDefinitions").findValuesAsText("name"))
                .containsExactly("Name", "Ready", "Backends", "Port", "Age");
        assertThat(table.path("columnDefinitions").get(3).path("priority").asInt())
                .isEqualTo(1);
        assertThat(table.path("rows")).hasSize(2);

        JsonNode ready = row(table, "ready");
        assertThat(ready.path("cells").get(1).asText()).isEqualTo("True");
        assertThat(ready.path("cells").get(2).isInt()).isTrue();
        assertThat(ready.path("cells").get(2).asInt()).isEqualTo(2);
        assertThat(ready.path("cells").get(3).asInt()).isEqualTo(80);
        assertThat(ready.path("cells").get(4).asText()).matches("\\d+s");
        assertThat(ready.at("/object/kind").asText()).isEqualTo("PartialObjectMetadata");
        assertThat(ready.at("/object/metadata/namespace").asText()).isEqualTo("default");

        JsonNode pending = row(table, "pending");
        assertThat(pending.path("cells").get(1).isNull()).isTrue();
        assertThat(pending.path("cells").get(2).isNull()).isTrue();
    }

    @Test
    void singleObjectsAndIncludeObject() {
        JsonNode table = RawHttp.get(
                        server,
                        "/apis/test.roundhouse.dev/v1/namespaces/default/widgets/ready?includeObject=Object",
                        TABLE)
                .json();
        assertThat(table.path("rows")).hasSize(1);
        assertThat(table.at("/rows/0/object/kind").asText()).isEqualTo("Widget");
        assertThat(table.at("/rows/0/object/spec/port").asInt()).isEqualTo(80);

        assertThat(RawHttp.get(server, "/apis/test.roundhouse.dev/v1/namespaces/default/widgets/absent", TABLE)
                        .code())
                .isEqualTo(404);
    }

    @Test
    void otherKindsAndPlainRequestsAreUnchanged() {
        client.resource(Desired.configMap("plain")).create();
        JsonNode configMaps = RawHttp.get(server, "/api/v1/namespaces/default/configmaps", TABLE)
                .json();
        assertThat(configMaps.path("kind").asText()).isNotEqualTo("Table");
        assertThat(configMaps.path("items")).hasSize(1);

        JsonNode widgets = RawHttp.get(server, "/apis/test.roundhouse.dev/v1/namespaces/default/widgets", null)
                .json();
        assertThat(widgets.path("kind").asText()).isNotEqualTo("Table");
        assertThat(widgets.path("items")).hasSize(2);
    }

    @Test
    void printerColumnPaths() {
        JsonNode widget = client.getKubernetesSerialization()
                .convertValue(client.resources(Widget.class).withName("ready").get(), JsonNode.class);
        assertThat(Tables.JsonPath.first(widget, ".status.conditions[?(@.type==\"Ready\")].status")
                        .asText())
                .isEqualTo("True");
        assertThat(Tables.JsonPath.first(widget, "{.status.conditions[?(@.type=='Progressing')].status}")
                        .asText())
                .isEqualTo("False");
        assertThat(Tables.JsonPath.first(widget, ".spec.backends[1].address").asText())
                .isEqualTo("10.0.0.2");
        assertThat(Tables.JsonPath.all(widget, ".spec.backends[*].name"))
                .extracting(JsonNode::asText)
                .containsExactly("a", "b");
        assertThat(Tables.JsonPath.first(widget, ".metadata.creationTimestamp")).isNotNull();
        assertThat(Tables.JsonPath.first(widget, ".status.nothing.here")).isNull();
        assertThat(Tables.JsonPath.first(widget, ".status.conditions[?(@.type==\"Absent\")].status"))
                .isNull();
    }

    @Test
    void agesAreShownAsKubectlShowsThem() {
        assertThat(Tables.humanDuration(java.time.Duration.ofSeconds(45))).isEqualTo("45s");
        assertThat(Tables.humanDuration(java.time.Duration.ofSeconds(200))).isEqualTo("3m20s");
        assertThat(Tables.humanDuration(java.time.Duration.ofMinutes(90))).isEqualTo("90m");
        assertThat(Tables.humanDuration(java.time.Duration.ofMinutes(270))).isEqualTo("4h30m");
        assertThat(Tables.humanDuration(java.time.Duration.ofHours(30))).isEqualTo("30h");
        assertThat(Tables.humanDuration(java.time.Duration.ofHours(76))).isEqualTo("3d4h");
        assertThat(Tables.humanDuration(java.time.Duration.ofDays(400))).isEqualTo("400d");
        assertThat(Tables.humanDuration(java.time.Duration.ofDays(800))).isEqualTo("2y70d");
    }

    private static JsonNode row(JsonNode table, String name) {
        for (JsonNode row : table.path("rows")) {
            if (row.path("cells").get(0).asText().equals(name)) {
                return row;
            }
        }
        throw new AssertionError("no row " + name + " in " + table);
    }
}
