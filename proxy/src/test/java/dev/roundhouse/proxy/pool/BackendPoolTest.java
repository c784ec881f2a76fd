package dev.roundhouse.proxy.pool;

import static org.assertj.core.api.Assertions.assertThat;

import dev.roundhouse.poolformat.PoolDocument;
import dev.roundhouse.poolformat.PoolDocumentCodec;
import dev.roundhouse.proxy.breaker.Breakers;
import dev.roundhouse.proxy.testing.MutableClock;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Removed backends are parked for {@link BackendPool#PARKED_FOR}: added back within that time they are the same
 * object (meters and connections kept, no "new backend" hook) starting fresh, healthy with a closed breaker; after
 * it, they are forgotten (breaker dropped, retired, "forgotten" hook) and come back as new.
 */
class BackendPoolTest {

    private static final String A = "http://127.0.0.1:1001";
    private static final String B = "http://127.0.0.1:1002";

    private final MutableClock clock = new MutableClock();
    private final Breakers breakers = new Breakers(clock);
    private final List<String> prepared = new ArrayList<>();
    private final List<String> forgotten = new ArrayList<>();
    private final BackendPool pool = new BackendPool(breakers, prepared::add, forgotten::add, clock);

    @AfterEach
    void close() {
        pool.close();
    }

    private BackendPool.Change apply(PoolDocument.CircuitBreaker breaker, String... urls) {
        PoolDocument document = new PoolDocument(
                1,
                Arrays.stream(urls)
                        .map(u -> new PoolDocument.BackendEntry(u, 1))
                        .toList(),
                PoolDocument.HealthCheck.DEFAULTS,
                breaker,
                PoolDocument.Timeouts.DEFAULTS);
        return pool.apply(document, PoolDocumentCodec.contentHash(PoolDocumentCodec.write(document)));
    }

    private BackendPool.Change apply(String... urls) {
        return apply(PoolDocument.CircuitBreaker.DEFAULTS, urls);
    }

    private Backend backend(String url) {
        return pool.snapshot().backend(url);
    }

    @Test
    void aBackendAddedBackWithinTheParkingTimeIsTheSameObjectStartingAfresh() {
        apply(A, B);
        Backend b = backend(B);
        b.health().record(false, 2, 1);
        b.breaker().transitionToOpenState();
        assertThat(b.health().isHealthy()).isFalse();

        BackendPool.Change removal = apply(A);
        assertThat(removal.removed()).containsExactly(B);
        assertThat(backend(B)).as("out of rotation at once").isNull();
        assertThat(b.retired())
                .as("parked, not retired: its idle connections stay")
                .isFalse();

        clock.advance(BackendPool.PARKED_FOR.minusSeconds(1));
        BackendPool.Change back = apply(A, B);
        assertThat(back.added()).containsExactly(B);
        assertThat(backend(B)).isSameAs(b);
        assertThat(b.health().isHealthy())
                .as("starts healthy, as a new backend")
                .isTrue();
        assertThat(b.breaker().getState()).as("starts with a closed breaker").isEqualTo(CircuitBreaker.State.CLOSED);
        assertThat(breakers.registry().find(B))
                .as("its breaker is still the registry's")
                .containsSame(b.breaker());
        assertThat(prepared).as("no second registration of its meters").containsExactly(A, B);
        assertThat(forgotten).isEmpty();
    }

    @Test
    void aRemovedBackendIsForgottenOnceItsParkingTimeIsUp() {
        apply(A, B);
        Backend b = backend(B);
        apply(A);

        clock.advance(BackendPool.PARKED_FOR.minusSeconds(1));
        pool.forgetParked();
        assertThat(forgotten).as("still parked").isEmpty();

        clock.advance(Duration.ofSeconds(1));
        pool.forgetParked();
        assertThat(forgotten).containsExactly(B);
        assertThat(b.retired()).isTrue();
        assertThat(breakers.registry().find(B)).as("breaker dropped").isEmpty();

        apply(A, B);
        assertThat(backend(B)).as("comes back as a new backend").isNotSameAs(b);
        assertThat(prepared).containsExactly(A, B, B);
    }

    @Test
    void aReloadAlsoForgetsBackendsParkedTooLong() {
        apply(A, B);
        apply(A);
        clock.advance(BackendPool.PARKED_FOR);
        apply(B);
        assertThat(forgotten)
                .as("B's time was up before this document added it")
                .containsExactly(B);
        assertThat(backend(B)).isNotNull();
    }

    @Test
    void aBackendComingBackUnderOtherBreakerSettingsGetsABreakerWithThem() {
        apply(A, B);
        Backend b = backend(B);
        CircuitBreaker before = b.breaker();
        apply(A);
        PoolDocument.CircuitBreaker stricter = new PoolDocument.CircuitBreaker(10f, 5, 5, Duration.ofSeconds(30), 1);
        apply(stricter, A, B);
        assertThat(backend(B)).isSameAs(b);
        assertThat(b.breaker()).isNotSameAs(before);
        assertThat(b.breaker().getCircuitBreakerConfig().getFailureRateThreshold())
                .isEqualTo(10f);
    }

    @Test
    void closingThePoolForgetsParkedBackendsToo() {
        apply(A, B);
        Backend b = backend(B);
        apply(A);
        pool.close();
        assertThat(forgotten).containsExactlyInAnyOrder(A, B);
        assertThat(b.retired()).isTrue();
    }
}
