package dev.roundhouse.e2e.chart;

import static dev.roundhouse.e2e.chart.ChartFixture.CHART;
import static dev.roundhouse.e2e.chart.ChartFixture.only;
import static dev.roundhouse.e2e.chart.ChartFixture.render;
import static dev.roundhouse.e2e.chart.ChartFixture.template;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * values.schema.json refuses bad values before anything renders, saying which value and why (Helm 3 validates
 * the merged values, --set included, against it on install, upgrade, template and lint).
 */
class ValuesSchemaTest {

    private static final String REFUSED = "values don't meet the specifications of the schema(s)";

    @ParameterizedTest(name = "{0}={1}")
    @CsvSource(delimiter = '|', quoteCharacter = '`', textBlock = """
            logLevel                          | loud        | at '/logLevel': value must be one of 'trace', 'debug', 'info', 'warn', 'error', 'off'
            logFormat                         | xml         | at '/logFormat': value must be one of 'json', 'text'
            replicas                          | 0           | at '/replicas': minimum: got 0, want 1
            replicas                          | two         | at '/replicas': got string, want integer
            leaderElection                    | yes         | at '/leaderElection': got string, want boolean
            colour                            | red         | at '': additional properties 'colour' not allowed
            image.tg                          | 1.0         | at '/image': additional properties 'tg' not allowed
            metrics.serviceMonitor.enable     | true        | at '/metrics/serviceMonitor': additional properties 'enable' not allowed
            grafanaDashboard.folder           | Roundhouse  | at '/grafanaDashboard': additional properties 'folder' not allowed
            image.repository                  | ``          | at '/image/repository': minLength: got 0, want 1
            proxyImage.repository             | a b         | at '/proxyImage/repository': 'a b' does not match pattern
            proxyImage.tag                    | latest!     | at '/proxyImage/tag': 'latest!' does not match pattern
            image.pullPolicy                  | Sometimes   | at '/image/pullPolicy': value must be one of 'Always', 'IfNotPresent', 'Never'
            watchNamespaces[0]                | Team_A      | at '/watchNamespaces/0': 'Team_A' does not match pattern '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$'
            podDisruptionBudget.minAvailable  | half        | at '/podDisruptionBudget/minAvailable': 'oneOf' failed, none matched
            metrics.serviceMonitor.interval   | 30 seconds  | at '/metrics/serviceMonitor/interval': '30 seconds' does not match pattern
            grafanaDashboard.labels.grafana_dashboard | 1   | at '/grafanaDashboard/labels/grafana_dashboard': got number, want string
            """)
    void badValueIsRefusedNamingTheValue(String key, String value, String message) {
        assertThatThrownBy(() -> template().set(key, value).call())
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining(REFUSED)
                .hasMessageContaining(message);
    }

    @Test
    void duplicateWatchNamespacesAreRefused() {
        assertThatThrownBy(() -> template()
                        .set("watchNamespaces[0]", "team-a")
                        .set("watchNamespaces[1]", "team-a")
                        .call())
                .hasMessageContaining(REFUSED)
                .hasMessageContaining("at '/watchNamespaces': items at 0 and 1 are equal");
    }

    @Test
    void goodValuesPassIncludingAParentChartsGlobals() {
        Deployment deployment = only(
                render(template()
                        .set("global.imageRegistry", "registry.example")
                        .set("watchNamespaces[0]", "team-a")
                        .set("image.repository", "registry.example:5000/roundhouse/operator")
                        .set("image.tag", "0.1.0-rc.1")
                        .set("podDisruptionBudget.minAvailable", "50%")
                        .set("metrics.serviceMonitor.interval", "1m30s")
                        .set("logLevel", "off")),
                Deployment.class);
        assertThat(deployment
                        .getSpec()
                        .getTemplate()
                        .getSpec()
                        .getContainers()
                        .get(0)
                        .getImage())
                .isEqualTo("registry.example:5000/roundhouse/operator:0.1.0-rc.1");
    }

    /** values.yaml documents every value: whatever the schema lets through at a closed level is in it. */
    @Test
    void everyValueTheSchemaKnowsIsInValuesYaml() throws IOException {
        ObjectMapper json = new ObjectMapper();
        JsonNode schema = json.readTree(CHART.resolve("values.schema.json").toFile());
        JsonNode values = new ObjectMapper(new YAMLFactory())
                .readTree(CHART.resolve("values.yaml").toFile());
        List<String> undocumented = new ArrayList<>();
        collectUndocumented(schema, schema, values, "", undocumented);
        // Helm's own, and the two PodDisruptionBudget settings that must stay unset unless chosen (one or the other)
        assertThat(undocumented)
                .containsExactlyInAnyOrder(
                        "global", "podDisruptionBudget.minAvailable", "podDisruptionBudget.maxUnavailable");
    }

    private static void collectUndocumented(
            JsonNode root, JsonNode schema, JsonNode values, String path, List<String> undocumented) {
        if (schema.has("$ref")) {
            schema = root.at(schema.get("$ref").asText().substring(1));
        }
        JsonNode properties = schema.get("properties");
        if (properties == null) {
            return;
        }
        assertThat(schema.path("additionalProperties").asBoolean(true))
                .as("%s is closed", path.isEmpty() ? "(root)" : path)
                .isFalse();
        for (Iterator<Map.Entry<String, JsonNode>> it = properties.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> property = it.next();
            String name = (path.isEmpty() ? "" : path + ".") + property.getKey();
            JsonNode value = values == null ? null : values.get(property.getKey());
            if (value == null) {
                undocumented.add(name);
            } else {
                collectUndocumented(root, property.getValue(), value, name, undocumented);
            }
        }
    }
}
