package dev.roundhouse.e2e.local;

import static org.assertj.core.api.Assertions.assertThat;

import dev.roundhouse.testing.TestBackend;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The proxy process the local runner starts: it serves, and it ends with the runner that started it. */
class ProxyProcessTest {

    @Test
    void proxyServesAndStopsWhenItsRunnerIsGone(@TempDir Path dir) throws Exception {
        try (TestBackend backend = TestBackend.start("backend-a")) {
            int port = LocalKubelet.freePort();
            ProxyProcess proxy = ProxyProcess.start(
                    Map.of(
                            "PORT", String.valueOf(port),
                            "METRICS_PORT", String.valueOf(LocalKubelet.freePort()),
                            "BIND_ADDRESS", "127.0.0.1",
                            "BACKENDS", backend.url()),
                    dir.resolve("proxy.log"));
            try {
                Awaitility.await("proxy ready").atMost(Duration.ofSeconds(30)).until(proxy::ready);
                HttpResponse<String> response = HttpClient.newHttpClient()
                        .send(
                                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/"))
                                        .build(),
                                HttpResponse.BodyHandlers.ofString());
                assertThat(response.body()).isEqualTo("backend-a");

                proxy.closeInput(); // what the runner's death does to the pipe

                Awaitility.await("proxy gone").atMost(Duration.ofSeconds(30)).until(() -> !proxy.isAlive());
                assertThat(proxy.exitCode()).isZero();
            } finally {
                proxy.stop(Duration.ofSeconds(5));
            }
        }
    }
}
