package dev.roundhouse.proxy.health;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.roundhouse.proxy.RoundhouseProxy;
import dev.roundhouse.proxy.testing.Closeables;
import dev.roundhouse.proxy.testing.ProxyFixture;
import dev.roundhouse.testing.TestBackend;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

class HealthCheckTest {

    @RegisterExtension
    final Closeables closeables = new Closeables();

    private RoundhouseProxy proxy(String backends) {
        return closeables.add(ProxyFixture.start(ProxyFixture.env(
                "BACKENDS", backends,
                "HEALTH_CHECK_PATH", "/health",
                "HEALTH_CHECK_INTERVAL", "50ms",
                "HEALTH_CHECK_TIMEOUT", "1s",
                "UNHEALTHY_THRESHOLD", "2",
                "HEALTHY_THRESHOLD", "3")));
    }

    @Test
    void failingChecksTakeABackendOutOfRotationAndPassingOnesBringItBack() {
        TestBackend a = closeables.add(TestBackend.start("a"));
        TestBackend b = closeables.add(TestBackend.start("b"));
        RoundhouseProxy proxy = proxy(a.url() + "," + b.url());
        await().atMost(Duration.ofSeconds(5)).until(() -> a.healthChecks.get() >= 2 && b.healthChecks.get() >= 2);

        a.healthy = false;
        await().atMost(Duration.ofSeconds(5))
                .until(() -> proxy.pool().snapshot().healthyCount() == 1);
        int aHits = a.hits.get();
        for (int i = 0; i < 10; i++) {
            assertThat(ProxyFixture.get(proxy, "/").body()).isEqualTo("b");
        }
        assertThat(a.hits.get()).isEqualTo(aHits);
        assertThat(ProxyFixture.metrics(proxy)).contains("roundhouse_backends_healthy 1.0", "roundhouse_backends 2.0");
        int checksWhileOut = a.healthChecks.get();
        await().atMost(Duration.ofSeconds(5)).until(() -> a.healthChecks.get() > checksWhileOut + 2); // still probed

        a.healthy = true;
        await().atMost(Duration.ofSeconds(5))
                .until(() -> proxy.pool().snapshot().healthyCount() == 2);
        int before = a.hits.get();
        for (int i = 0; i < 10; i++) {
            ProxyFixture.get(proxy, "/");
        }
        assertThat(a.hits.get() - before).isEqualTo(5);
    }

    @Test
    void aStoppedBackendIsTakenOutAndReturnsWhenItIsBack() {
        TestBackend a = closeables.add(TestBackend.start("a"));
        TestBackend b = closeables.add(TestBackend.start("b"));
        RoundhouseProxy proxy = proxy(a.url() + "," + b.url());

        a.stop();
        await().atMost(Duration.ofSeconds(5))
                .until(() -> !proxy.pool().snapshot().backend(a.url()).health().isHealthy());
        a.restart();
        await().atMost(Duration.ofSeconds(5))
                .until(() -> proxy.pool().snapshot().backend(a.url()).health().isHealthy());
        assertThat(proxy.pool().snapshot().rotation().size()).isEqualTo(2);
    }

    @Test
    void whenEveryCheckFailsThePoolPanicsAndStillTriesAllBackends() {
        TestBackend a = closeables.add(TestBackend.start("a"));
        a.healthy = false; // a wrong health endpoint: the backend itself still serves
        RoundhouseProxy proxy = proxy(a.url());

        await().atMost(Duration.ofSeconds(5))
                .until(() -> proxy.pool().snapshot().healthyCount() == 0);

        assertThat(proxy.pool().snapshot().panic()).isTrue();
        assertThat(ProxyFixture.get(proxy, "/").statusCode()).isEqualTo(200);
    }
}
