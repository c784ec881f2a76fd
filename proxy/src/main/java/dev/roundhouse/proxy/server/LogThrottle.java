package dev.roundhouse.proxy.server;

import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * Lets one message of a kind through per interval and counts the others, so that a backend failing the same
 * way thousands of times a second yields a log line every few seconds (with how many were left out) instead of
 * a flood. The failures themselves are all counted in the metrics.
 */
public final class LogThrottle {

    private final long intervalNanos;
    private final LongSupplier nanoTime;
    private final AtomicLong nextAllowed;
    private final AtomicLong suppressed = new AtomicLong();

    public LogThrottle(long intervalNanos, LongSupplier nanoTime) {
        this.intervalNanos = intervalNanos;
        this.nanoTime = nanoTime;
        this.nextAllowed = new AtomicLong(nanoTime.getAsLong());
    }

    /**
     * @return -1 when this message is to be left out (it is counted); otherwise how many were left out since the
     *     last one let through
     */
    public long tryAcquire() {
        long now = nanoTime.getAsLong();
        long next = nextAllowed.get();
        if (now - next >= 0 && nextAllowed.compareAndSet(next, now + intervalNanos)) {
            return suppressed.getAndSet(0);
        }
        suppressed.incrementAndGet();
        return -1;
    }
}
