package dev.roundhouse.proxy.pool;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The places among a backend's connects under way, which keep a backend whose connects hang from holding more. */
class BackendTest {

    private final Backend backend = new Backend("b", URI.create("http://127.0.0.1:1"), CircuitBreaker.ofDefaults("b"));

    @Test
    void aConnectIsCountedOnlyWhileFewerThanTheLimitAreUnderWay() {
        assertThat(backend.tryStartConnect(2)).isTrue();
        assertThat(backend.tryStartConnect(2)).isTrue();
        assertThat(backend.tryStartConnect(2)).as("a third with two under way").isFalse();

        backend.connectEnded();
        assertThat(backend.tryStartConnect(2)).as("after one ended").isTrue();
        backend.connectStarted(); // a connect that had to start anyway still counts
        assertThat(backend.tryStartConnect(3)).isFalse();
    }

    @Test
    void failuresInARowTakePlacesUntilASuccessEndsTheRun() {
        backend.connectStarted();
        backend.connectFailed(); // counted before its place is given back, as UpstreamThread does
        backend.connectEnded();
        backend.connectStarted();
        backend.connectFailed();
        backend.connectEnded();

        assertThat(backend.tryStartConnect(3))
                .as("one place left of three after two failures")
                .isTrue();
        assertThat(backend.tryStartConnect(3)).isFalse();

        backend.connectSucceeded();
        backend.connectEnded();
        assertThat(backend.tryStartConnect(3))
                .as("the run ended: every place free again")
                .isTrue();
        assertThat(backend.tryStartConnect(3)).isTrue();
        assertThat(backend.tryStartConnect(3)).isTrue();
        assertThat(backend.tryStartConnect(3)).isFalse();
    }

    @Test
    void threadsTakingPlacesAtOnceNeverHoldMoreThanTheLimit() throws Exception {
        int limit = 3;
        AtomicInteger holding = new AtomicInteger();
        AtomicInteger most = new AtomicInteger();
        CountDownLatch go = new CountDownLatch(1);
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < 8; t++) {
            Thread thread = new Thread(() -> {
                try {
                    go.await();
                } catch (InterruptedException e) {
                    return;
                }
                for (int i = 0; i < 100_000; i++) {
                    if (backend.tryStartConnect(limit)) {
                        most.accumulateAndGet(holding.incrementAndGet(), Math::max);
                        holding.decrementAndGet();
                        backend.connectEnded();
                    }
                }
            });
            thread.start();
            threads.add(thread);
        }
        go.countDown();
        for (Thread thread : threads) {
            thread.join();
        }
        assertThat(most.get()).isBetween(1, limit);
        assertThat(backend.tryStartConnect(1)).as("every place given back").isTrue();
    }
}
