package dev.roundhouse.proxy.testing;

import java.time.Duration;
import java.time.Instant;

/** A clock tests move by hand, so breaker waits need no sleeping. */
public final class MutableClock extends UtcClock {

    private volatile Instant now = Instant.parse("2026-01-01T00:00:00Z");

    public void advance(Duration by) {
        now = now.plus(by);
    }

    @Override
    public Instant instant() {
        return now;
    }
}
