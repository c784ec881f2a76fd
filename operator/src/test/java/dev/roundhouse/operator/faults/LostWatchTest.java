package dev.roundhouse.operator.faults;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.roundhouse.operator.OperatorSettings;
import dev.roundhouse.operator.RoundhouseOperator;
import dev.roundhouse.operator.testing.LogCapture;
import dev.roundhouse.testing.Http;
import dev.roundhouse.testing.apiserver.EmbeddedApiServer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Set;
import org.apache.logging.log4j.Level;
import org.junit.jupiter.api.Test;

/**
 * Fault: the operator's watches end in an error the Kubernetes client does not retry (here its connections reset, and
 * every watch opened again first gets a message that is no watch event), so its informers give up. JOSDK's default
 * would end the JVM on the spot, whoever runs the operator; an embedded operator (the local mode, a test) keeps its
 * JVM, says in one line what it stopped watching and fails liveness with the same reason.
 */
class LostWatchTest {

    private static final OperatorSettings SETTINGS =
            new OperatorSettings(Set.of(), "example.org/roundhouse-proxy:test", "info", 0, false, "default");

    @Test
    void anEmbeddedOperatorThatStopsWatchingFailsLivenessAndLeavesItsJvmRunning() throws Exception {
        try (EmbeddedApiServer api = new EmbeddedApiServer().start();
                KillSwitch cut = new KillSwitch(api.port());
                LogCapture logs = LogCapture.of(RoundhouseOperator.class)) {
            api.applyCrds(Path.of("..", "crds", "loadbalancers.roundhouse.dev-v1.yml"));
            try (RoundhouseOperator operator = RoundhouseOperator.start(SETTINGS, cut.client())) {
                String healthz = "http://127.0.0.1:" + operator.httpPort() + "/healthz";
                await().atMost(Duration.ofSeconds(20))
                        .until(() -> Http.get(healthz).statusCode() == 200);

                cut.garbleWatches();
                cut.resetConnections();

                await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
                    var live = Http.get(healthz);
                    assertThat(live.statusCode()).isEqualTo(503);
                    assertThat(live.body()).matches("not ok: stopped watching \\w+ \\(.+\\)\n");
                });
                assertThat(logs.events())
                        .filteredOn(e -> e.getLevel() == Level.ERROR)
                        .singleElement()
                        .satisfies(e -> assertThat(e.getMessage().getFormattedMessage())
                                .matches("Stopped watching \\w+ \\(.+\\); liveness fails from now on")
                                .doesNotContain("\n"));
            }
        }
    }
}
