package dev.roundhouse.operator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.roundhouse.testing.Http;
import dev.roundhouse.testing.apiserver.EmbeddedApiServer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class OperatorProcessTest {

    @Test
    void settingsComeFromTheEnvironment() {
        OperatorSettings s = OperatorSettings.fromEnvironment(Map.of(
                "WATCH_NAMESPACES", "shop, payments", "PROXY_IMAGE", "registry.example/proxy:2", "HTTP_PORT", "9000"));

        assertThat(s.watchNamespaces()).containsExactlyInAnyOrder("shop", "payments");
        assertThat(s.proxyImage()).isEqualTo("registry.example/proxy:2");
        assertThat(s.httpPort()).isEqualTo(9000);
        assertThat(s.leaderElection()).isTrue();
        assertThat(OperatorSettings.fromEnvironment(Map.of()).watchesAllNamespaces())
                .isTrue();
        assertThatThrownBy(() -> OperatorSettings.fromEnvironment(Map.of("LOG_LEVEL", "chatty", "HTTP_PORT", "x")))
                .hasMessageContaining("LOG_LEVEL")
                .hasMessageContaining("HTTP_PORT");
    }

    @Test
    void probesAndMetricsAnswerAndLeaderElectionTakesTheLease() throws Exception {
        try (EmbeddedApiServer api = new EmbeddedApiServer().start()) {
            api.applyCrds(Path.of("..", "crds", "loadbalancers.roundhouse.dev-v1.yml"));
            try (RoundhouseOperator operator = RoundhouseOperator.start(
                    new OperatorSettings(Set.of(), "example.org/proxy:1", "info", 0, true, "default"),
                    api.newClient())) {
                String base = "http://127.0.0.1:" + operator.httpPort();
                await().atMost(Duration.ofSeconds(20))
                        .until(() -> Http.get(base + "/readyz").statusCode() == 200);
                assertThat(Http.get(base + "/healthz").statusCode()).isEqualTo(200);
                assertThat(Http.get(base + "/metrics").body()).contains("jvm_").contains("operator_sdk");
                await().atMost(Duration.ofSeconds(20))
                        .until(() -> api.client()
                                        .leases()
                                        .inNamespace("default")
                                        .withName("roundhouse-operator")
                                        .get()
                                != null);
            }
        }
    }
}
