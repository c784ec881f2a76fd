package dev.roundhouse.proxy.testing;

import java.time.Instant;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The system's time, except that every read is at least a millisecond after the one before: two reads never agree,
 * so a moment the code should read once and share shows up as two times wherever it was read twice.
 */
public final class TickingClock extends UtcClock {

    private final AtomicLong last = new AtomicLong();

    @Override
    public Instant instant() {
        return Instant.ofEpochMilli(last.updateAndGet(previous -> Math.max(System.currentTimeMillis(), previous + 1)));
    }
}
