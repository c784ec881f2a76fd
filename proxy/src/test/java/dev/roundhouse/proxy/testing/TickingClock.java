package dev.roundhouse.proxy.testing;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The system's time, except that every read is at least a millisecond after the one before: two reads never agree,
 * so a moment the code should read once and share shows up as two times wherever it was read twice.
 */
public final class TickingClock extends Clock {

    private final AtomicLong last = new AtomicLong();

    @Override
    public ZoneId getZone() {
        return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
        return this;
    }

    @Override
    public Instant instant() {
        return Instant.ofEpochMilli(last.updateAndGet(previous -> Math.max(System.currentTimeMillis(), previous + 1)));
    }
}
