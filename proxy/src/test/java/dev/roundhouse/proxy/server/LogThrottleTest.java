package dev.roundhouse.proxy.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class LogThrottleTest {

    private final AtomicLong clock = new AtomicLong(1_000);
    private final LogThrottle throttle = new LogThrottle(100, clock::get);

    @Test
    void theFirstMessagePassesAndTheRestOfTheIntervalIsCountedNotLogged() {
        assertThat(throttle.tryAcquire()).isZero();
        clock.addAndGet(50);
        assertThat(throttle.tryAcquire()).isEqualTo(-1);
        assertThat(throttle.tryAcquire()).isEqualTo(-1);
        clock.addAndGet(49);
        assertThat(throttle.tryAcquire()).isEqualTo(-1);
    }

    @Test
    void afterTheIntervalOneMoreMessagePassesWithTheCountOfThoseLeftOut() {
        throttle.tryAcquire();
        throttle.tryAcquire();
        throttle.tryAcquire();
        clock.addAndGet(100);

        assertThat(throttle.tryAcquire()).isEqualTo(2);
        assertThat(throttle.tryAcquire()).isEqualTo(-1);
        clock.addAndGet(100);
        assertThat(throttle.tryAcquire()).isEqualTo(1);
    }
}
