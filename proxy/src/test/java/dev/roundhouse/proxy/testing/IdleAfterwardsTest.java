package dev.roundhouse.proxy.testing;

import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.roundhouse.proxy.RoundhouseProxy;
import dev.roundhouse.testing.TestBackend;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/** The idleness check tells a proxy whose I/O thread spins from one left alone. */
class IdleAfterwardsTest {

    private static RoundhouseProxy proxy(TestBackend backend) {
        return ProxyFixture.start(ProxyFixture.env("BACKENDS", backend.url(), "HEALTH_CHECK_PATH", "/health"));
    }

    @Test
    void aProxyLeftAloneIsIdle() {
        try (TestBackend backend = TestBackend.start("b")) {
            IdleAfterwards idle = new IdleAfterwards();
            idle.handOver(proxy(backend), "a quiet case");
            assertThatCode(() -> idle.afterAll(null)).doesNotThrowAnyException();
        }
    }

    @Test
    void aSpinningIoThreadFailsTheClassNamingTheCase() {
        AtomicBoolean spin = new AtomicBoolean(true);
        try (TestBackend backend = TestBackend.start("b")) {
            IdleAfterwards idle = new IdleAfterwards();
            RoundhouseProxy proxy = proxy(backend);
            long until = System.nanoTime() + 2 * IdleAfterwards.WINDOW.toNanos(); // bounded, whatever happens
            proxy.ioThreads().get(0).execute(() -> {
                while (spin.get() && System.nanoTime() < until) {
                    Thread.onSpinWait(); // as the trailer bug once did: an I/O thread that never yields
                }
            });
            idle.handOver(proxy, "a case that left a loop behind");
            assertThatThrownBy(() -> idle.afterAll(null))
                    .isInstanceOf(AssertionError.class)
                    .hasMessageContaining("a case that left a loop behind");
        } finally {
            spin.set(false);
        }
    }
}
