package dev.roundhouse.e2e.docs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.roundhouse.operator.api.v1alpha1.LoadBalancerStatus;
import dev.roundhouse.proxy.RoundhouseProxy;
import dev.roundhouse.proxy.config.ProxySettings;
import dev.roundhouse.testing.TestBackend;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Iterator;
import java.util.Map;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/**
 * docs/status.md tells the truth: its {@code /status} example has exactly the fields a real proxy writes, and its
 * LoadBalancer status example has only fields the LoadBalancer's status has.
 */
class StatusDocTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** Every field path of a document, array elements merged: {@code backends[].health.lastCheck.at}. */
    private static TreeSet<String> paths(JsonNode node, String prefix, TreeSet<String> into) {
        if (node.isObject()) {
            for (Iterator<Map.Entry<String, JsonNode>> i = node.fields(); i.hasNext(); ) {
                Map.Entry<String, JsonNode> field = i.next();
                String path = prefix.isEmpty() ? field.getKey() : prefix + "." + field.getKey();
                into.add(path);
                paths(field.getValue(), path, into);
            }
        } else if (node.isArray()) {
            for (JsonNode element : node) {
                paths(element, prefix + "[]", into);
            }
        }
        return into;
    }

    @Test
    void theStatusExampleHasTheFieldsAProxyWrites() throws Exception {
        JsonNode example = JSON.readTree(
                Docs.fencedBlocks(Docs.read("docs/status.md"), "json").get(0));
        try (TestBackend up = TestBackend.start("up");
                TestBackend down = TestBackend.start("down")) {
            RoundhouseProxy proxy = RoundhouseProxy.start(ProxySettings.fromEnvironment(Map.of(
                    "PORT", "0",
                    "METRICS_PORT", "0",
                    "BACKENDS", up.url() + "," + down.url(),
                    "HEALTH_CHECK_PATH", "/health",
                    "HEALTH_CHECK_INTERVAL", "50ms",
                    "UNHEALTHY_THRESHOLD", "1")));
            try {
                down.stop(); // a failed check has a reason
                try {
                    proxy.reloader().apply("a test", "{"); // a rejected document
                } catch (dev.roundhouse.poolformat.InvalidPoolDocumentException expected) {
                    // kept the last good pool
                }
                HttpClient http = HttpClient.newHttpClient();
                URI status = URI.create("http://127.0.0.1:" + proxy.metricsPort() + "/status");
                await().atMost(Duration.ofSeconds(10))
                        .until(() -> http.send(
                                        HttpRequest.newBuilder(status).build(), HttpResponse.BodyHandlers.ofString())
                                .body()
                                .contains("\"out-of-rotation\""));
                JsonNode real = JSON.readTree(
                        http.send(HttpRequest.newBuilder(status).build(), HttpResponse.BodyHandlers.ofString())
                                .body());
                assertThat(paths(example, "", new TreeSet<>()))
                        .as("the fields of docs/status.md's example, against a real proxy's")
                        .isEqualTo(paths(real, "", new TreeSet<>()));
            } finally {
                proxy.close();
            }
        }
    }

    @Test
    void theLoadBalancerExampleHasOnlyFieldsOfTheStatus() throws Exception {
        JsonNode example =
                Docs.yaml(Docs.fencedBlocks(Docs.read("docs/status.md"), "yaml").get(0));
        ObjectMapper strict = new ObjectMapper().enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);
        LoadBalancerStatus status = strict.treeToValue(example.get("status"), LoadBalancerStatus.class);
        assertThat(status.getHealthy()).isEqualTo("2/3");
        assertThat(status.getBackendHealth()).hasSize(2);
    }
}
