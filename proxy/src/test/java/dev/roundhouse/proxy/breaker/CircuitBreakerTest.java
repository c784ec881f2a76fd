package dev.roundhouse.proxy.breaker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.roundhouse.proxy.RoundhouseProxy;
import dev.roundhouse.proxy.testing.Closeables;
import dev.roundhouse.proxy.testing.MutableClock;
import dev.roundhouse.proxy.testing.ProxyFixture;
import dev.roundhouse.proxy.testing.Transport;
import dev.roundhouse.testing.TestBackend;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import java.time.Duration;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class CircuitBreakerTest {

    @RegisterExtension
    final Closeables closeables = new Closeables();

    private final MutableClock clock = new MutableClock();

    /** Breakers judge plain and TLS backends alike: each test runs over both. */
    private Transport transport;

    private RoundhouseProxy proxy(TestBackend... backends) {
        StringBuilder urls = new StringBuilder();
        for (TestBackend b : backends) {
            urls.append(urls.isEmpty() ? "" : ",").append(b.url());
        }
        return closeables.add(ProxyFixture.start(
                transport.trusting(ProxyFixture.env(
                        "BACKENDS", urls.toString(),
                        "HEALTH_CHECK_PATH", "/health",
                        "CB_SLIDING_WINDOW_SIZE", "4",
                        "CB_MINIMUM_CALLS", "4",
                        "CB_FAILURE_RATE_THRESHOLD", "50",
                        "CB_WAIT_IN_OPEN", "30s",
                        "CB_HALF_OPEN_CALLS", "2")),
                clock));
    }

    private static CircuitBreaker.State state(RoundhouseProxy proxy, TestBackend backend) {
        return proxy.pool().snapshot().backend(backend.url()).breaker().getState();
    }

    /** Outcomes are recorded as each exchange completes, a moment after the client has its answer. */
    private static void awaitState(RoundhouseProxy proxy, TestBackend backend, CircuitBreaker.State expected) {
        await().atMost(Duration.ofSeconds(5)).until(() -> state(proxy, backend) == expected);
    }

    @ParameterizedTest
    @EnumSource(Transport.class)
    void breakerOpensAfterTheFailureThresholdAndTheBackendGetsNothingWhileOpen(Transport transport) {
        this.transport = transport;
        TestBackend bad = closeables.add(transport.start("bad"));
        TestBackend good = closeables.add(transport.start("good"));
        bad.status = 500;
        RoundhouseProxy proxy = proxy(bad, good);

        // Round-robin alternates: 8 requests give bad the 4 calls its breaker needs to judge.
        for (int i = 0; i < 8; i++) {
            ProxyFixture.get(proxy, "/");
        }
        assertThat(bad.hits.get()).isEqualTo(4);
        awaitState(proxy, bad, CircuitBreaker.State.OPEN);

        for (int i = 0; i < 20; i++) {
            assertThat(ProxyFixture.get(proxy, "/").statusCode()).isEqualTo(200);
        }
        assertThat(bad.hits.get()).isEqualTo(4);
        assertThat(good.hits.get()).isEqualTo(24);
        assertThat(ProxyFixture.metrics(proxy))
                .contains("resilience4j_circuitbreaker_state{name=\"" + bad.url() + "\",state=\"open\"} 1.0")
                .contains("resilience4j_circuitbreaker_state{name=\"" + good.url() + "\",state=\"closed\"} 1.0");
    }

    @ParameterizedTest
    @EnumSource(Transport.class)
    void afterTheWaitTheBreakerProbesHalfOpenAndClosesWhenTheBackendRecovered(Transport transport) {
        this.transport = transport;
        TestBackend flaky = closeables.add(transport.start("flaky"));
        TestBackend good = closeables.add(transport.start("good"));
        flaky.status = 503;
        RoundhouseProxy proxy = proxy(flaky, good);
        for (int i = 0; i < 8; i++) {
            ProxyFixture.get(proxy, "/");
        }
        awaitState(proxy, flaky, CircuitBreaker.State.OPEN);

        flaky.status = 200;
        clock.advance(Duration.ofSeconds(29));
        for (int i = 0; i < 4; i++) {
            ProxyFixture.get(proxy, "/");
        }
        assertThat(flaky.hits.get()).as("still open before the wait is over").isEqualTo(4);

        clock.advance(Duration.ofSeconds(2));
        ProxyFixture.get(proxy, "/");
        assertThat(state(proxy, flaky)).isEqualTo(CircuitBreaker.State.HALF_OPEN);
        for (int i = 0; i < 4; i++) {
            ProxyFixture.get(proxy, "/");
        }
        awaitState(proxy, flaky, CircuitBreaker.State.CLOSED);
        int before = flaky.hits.get();
        for (int i = 0; i < 10; i++) {
            assertThat(ProxyFixture.get(proxy, "/").statusCode()).isEqualTo(200);
        }
        assertThat(flaky.hits.get() - before).isEqualTo(5); // back to its round-robin share
    }

    @ParameterizedTest
    @EnumSource(Transport.class)
    void aFailedHalfOpenProbeOpensTheBreakerAgain(Transport transport) {
        this.transport = transport;
        TestBackend broken = closeables.add(transport.start("broken"));
        TestBackend good = closeables.add(transport.start("good"));
        broken.status = 500;
        RoundhouseProxy proxy = proxy(broken, good);
        for (int i = 0; i < 8; i++) {
            ProxyFixture.get(proxy, "/");
        }
        awaitState(proxy, broken, CircuitBreaker.State.OPEN);
        clock.advance(Duration.ofSeconds(31));
        for (int i = 0; i < 6; i++) {
            ProxyFixture.get(proxy, "/");
        }
        assertThat(broken.hits.get()).isEqualTo(6); // 4 to open it, then the 2 half-open probes
        awaitState(proxy, broken, CircuitBreaker.State.OPEN);
    }

    @ParameterizedTest
    @EnumSource(Transport.class)
    void everyBreakerOpenGives503(Transport transport) {
        this.transport = transport;
        TestBackend only = closeables.add(transport.start("only"));
        only.status = 500;
        RoundhouseProxy proxy = proxy(only);
        for (int i = 0; i < 4; i++) {
            assertThat(ProxyFixture.get(proxy, "/").statusCode()).isEqualTo(500);
        }
        awaitState(proxy, only, CircuitBreaker.State.OPEN);

        var response = ProxyFixture.get(proxy, "/");

        assertThat(response.statusCode()).isEqualTo(503);
        assertThat(response.body()).contains("circuit breaker");
        assertThat(only.hits.get()).isEqualTo(4);
        assertThat(ProxyFixture.metrics(proxy))
                .contains("roundhouse_errors_total{backend=\"none\",type=\"circuit_open\"} 1.0");
    }
}
