package dev.roundhouse.proxy.health;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.roundhouse.proxy.RoundhouseProxy;
import dev.roundhouse.proxy.testing.Closeables;
import dev.roundhouse.proxy.testing.ProxyFixture;
import dev.roundhouse.proxy.testing.Transport;
import dev.roundhouse.testing.TestBackend;
import java.time.Duration;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class HealthCheckTest {

    @RegisterExtension
    final Closeables closeables = new Closeables();

    /** Checks reach plain and TLS backends alike: each test runs over both. */
    private Transport transport;

    private RoundhouseProxy proxy(String backends) {
        return closeables.add(ProxyFixture.start(transport.trusting(ProxyFixture.env(
                "BACKENDS", backends,
                "HEALTH_CHECK_PATH", "/health",
                "HEALTH_CHECK_INTERVAL", "50ms",
                "HEALTH_CHECK_TIMEOUT", "1s",
                "UNHEALTHY_THRESHOLD", "2",
                "HEALTHY_THRESHOLD", "3"))));
    }

    @ParameterizedTest
    @EnumSource(Transport.class)
    void failingChecksTakeABackendOutOfRotationAndPassingOnesBringItBack(Transport transport) {
        this.transport = transport;
        TestBackend a = closeables.add(transport.start("a"));
        TestBackend b = closeables.add(transport.start("b"));
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

    @ParameterizedTest
    @EnumSource(Transport.class)
    void aStoppedBackendIsTakenOutAndReturnsWhenItIsBack(Transport transport) {
        this.transport = transport;
        TestBackend a = closeables.add(transport.start("a"));
        TestBackend b = closeables.add(transport.start("b"));
        RoundhouseProxy proxy = proxy(a.url() + "," + b.url());

        a.stop();
        await().atMost(Duration.ofSeconds(5))
                .until(() -> !proxy.pool().snapshot().backend(a.url()).health().isHealthy());
        a.restart();
        await().atMost(Duration.ofSeconds(5))
                .until(() -> proxy.pool().snapshot().backend(a.url()).health().isHealthy());
        assertThat(proxy.pool().snapshot().rotation().size()).isEqualTo(2);
    }

    @ParameterizedTest
    @EnumSource(Transport.class)
    void whenEveryCheckFailsThePoolPanicsAndStillTriesAllBackends(Transport transport) {
        this.transport = transport;
        TestBackend a = closeables.add(transport.start("a"));
        a.healthy = false; // a wrong health endpoint: the backend itself still serves
        RoundhouseProxy proxy = proxy(a.url());

        await().atMost(Duration.ofSeconds(5))
                .until(() -> proxy.pool().snapshot().healthyCount() == 0);

        assertThat(proxy.pool().snapshot().panic()).isTrue();
        assertThat(ProxyFixture.get(proxy, "/").statusCode()).isEqualTo(200);
    }
}
