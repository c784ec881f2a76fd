package dev.roundhouse.proxy.health;

import static org.assertj.core.api.Assertions.assertThat;

import dev.roundhouse.proxy.RoundhouseProxy;
import dev.roundhouse.proxy.testing.Closeables;
import dev.roundhouse.proxy.testing.LogCapture;
import dev.roundhouse.proxy.testing.ProxyFixture;
import dev.roundhouse.proxy.testing.Scrape;
import dev.roundhouse.testing.GrpcBackend;
import dev.roundhouse.testing.TestBackend;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Health checks of HTTP/2 backends go over HTTP/2, on the proxy's own connections to them: a GET of the path, or the
 * standard gRPC health call when {@code HEALTH_CHECK_GRPC_SERVICE} is set.
 */
class Http2HealthCheckTest {

    @RegisterExtension
    final Closeables closeables = new Closeables();

    private RoundhouseProxy proxy(String backends, String... env) {
        var environment = ProxyFixture.env(env);
        environment.put("BACKENDS", backends);
        environment.put("HEALTH_CHECK_INTERVAL", "50ms");
        environment.put("HEALTH_CHECK_TIMEOUT", "1s");
        environment.put("HEALTHY_THRESHOLD", "1");
        environment.put("UNHEALTHY_THRESHOLD", "1");
        return closeables.add(ProxyFixture.start(environment));
    }

    @Test
    void anH2cBackendIsCheckedByAGetOverHttp2() {
        TestBackend backend = closeables.add(TestBackend.startHttp2("h2c", null));
        RoundhouseProxy proxy = proxy(backend.url() + ";protocol=h2c", "HEALTH_CHECK_PATH", "/health");

        Scrape.awaitValue(proxy, "roundhouse_backends_healthy", 1.0);
        backend.healthy = false;
        Scrape.awaitValue(proxy, "roundhouse_backends_healthy", 0.0);
        backend.healthy = true;
        Scrape.awaitValue(proxy, "roundhouse_backends_healthy", 1.0);
        // A backend starts in rotation before its first check: each of the two turns took a check of its own.
        assertThat(backend.healthChecks.get()).isGreaterThanOrEqualTo(2);
    }

    @Test
    void aGrpcBackendIsCheckedByTheGrpcHealthProtocol() {
        GrpcBackend backend = closeables.add(GrpcBackend.start("g"));
        RoundhouseProxy proxy = proxy(backend.url() + ";protocol=h2c", "HEALTH_CHECK_GRPC_SERVICE", "");

        Scrape.awaitValue(proxy, "roundhouse_backends_healthy", 1.0);
        try (LogCapture log = LogCapture.of(HealthChecker.class)) {
            backend.serving(false);
            Scrape.awaitValue(proxy, "roundhouse_backends_healthy", 0.0);
            assertThat(log.lines())
                    .anyMatch(m ->
                            m.contains("out of rotation") && m.contains("the health service answered NOT_SERVING"));
        }
        backend.serving(true);
        Scrape.awaitValue(proxy, "roundhouse_backends_healthy", 1.0);
        // A backend starts in rotation before its first check: each of the two turns took a check of its own.
        assertThat(backend.healthChecks.get()).isGreaterThanOrEqualTo(2);
    }

    @Test
    void anUnknownGrpcServiceFailsItsCheckWithTheStatusSaid() {
        GrpcBackend backend = closeables.add(GrpcBackend.start("g"));
        try (LogCapture log = LogCapture.of(HealthChecker.class)) {
            RoundhouseProxy proxy = proxy(backend.url() + ";protocol=h2c", "HEALTH_CHECK_GRPC_SERVICE", "shop.v1.Cart");

            Scrape.awaitValue(proxy, "roundhouse_backends_healthy", 0.0);
            org.awaitility.Awaitility.await()
                    .atMost(java.time.Duration.ofSeconds(10))
                    .untilAsserted(() -> assertThat(log.lines())
                            .anyMatch(m -> m.contains("grpc-status NOT_FOUND (unknown service shop.v1.Cart)")));
        }
        assertThat(backend.healthChecks.get()).isPositive();
    }
}
