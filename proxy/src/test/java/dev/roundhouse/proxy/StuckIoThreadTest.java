package dev.roundhouse.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.roundhouse.proxy.testing.ProxyFixture;
import dev.roundhouse.testing.Http;
import dev.roundhouse.testing.TestBackend;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** A stuck I/O thread serves none of its connections: {@code /healthz} says so, so a liveness probe restarts the proxy. */
class StuckIoThreadTest {

    @Test
    void healthzAnswers503WhileAnIoThreadIsStuckAnd200OnceItRunsAgain() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        try (TestBackend backend = TestBackend.start("b");
                RoundhouseProxy proxy = ProxyFixture.start(ProxyFixture.env(
                        "BACKENDS", backend.url(), "HEALTH_CHECK_PATH", "/health", "IO_STALL_TIMEOUT", "2s"))) {
            String healthz = "http://127.0.0.1:" + proxy.metricsPort() + "/healthz";
            assertThat(Http.get(healthz).statusCode()).isEqualTo(200);

            proxy.ioThreads().get(0).execute(() -> {
                try {
                    release.await(30, TimeUnit.SECONDS); // a handler that blocks its I/O thread, as a bug would
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });

            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
                HttpResponse<String> stuck = Http.get(healthz);
                assertThat(stuck.statusCode()).isEqualTo(503);
                assertThat(stuck.body()).startsWith("unhealthy: I/O thread 1 has not run for");
            });
            release.countDown();
            await().atMost(Duration.ofSeconds(10)).until(() -> Http.get(healthz).statusCode() == 200);
        } finally {
            release.countDown();
        }
    }
}
