package dev.roundhouse.bench.soak;

import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Latencies in microseconds, in log-linear buckets (exact below 64 µs, then 32 buckets per power of two: at most
 * about 3 % too high). Threads record concurrently; {@link #snapshot()} copies the counts, and the difference of two
 * snapshots is the histogram of the time between them.
 */
public final class LatencyHistogram {

    private static final int LINEAR = 64;
    private static final int SUB_BITS = 5;
    private static final int SUB = 1 << SUB_BITS;
    /** Up to 2^42 µs (50 days): more than any timeout here. */
    private static final int BUCKETS = LINEAR + (42 - 6) * SUB;

    private final AtomicLongArray counts = new AtomicLongArray(BUCKETS);

    public void record(long micros) {
        counts.incrementAndGet(index(Math.max(0, micros)));
    }

    static int index(long v) {
        if (v < LINEAR) {
            return (int) v;
        }
        int exponent = 63 - Long.numberOfLeadingZeros(v); // >= 6
        int sub = (int) ((v >>> (exponent - SUB_BITS)) & (SUB - 1));
        int i = LINEAR + (exponent - 6) * SUB + sub;
        return Math.min(i, BUCKETS - 1);
    }

    /** The largest value that falls into bucket {@code i}. */
    static long upperBound(int i) {
        if (i < LINEAR) {
            return i;
        }
        int exponent = (i - LINEAR) / SUB + 6;
        int sub = (i - LINEAR) % SUB;
        long base = (1L << exponent) + ((long) sub << (exponent - SUB_BITS));
        return base + (1L << (exponent - SUB_BITS)) - 1;
    }

    public Snapshot snapshot() {
        long[] copy = new long[BUCKETS];
        for (int i = 0; i < BUCKETS; i++) {
            copy[i] = counts.get(i);
        }
        return new Snapshot(copy);
    }

    /** Bucket counts at one moment. */
    public static final class Snapshot {
        private final long[] counts;

        Snapshot(long[] counts) {
            this.counts = counts;
        }

        public static Snapshot empty() {
            return new Snapshot(new long[BUCKETS]);
        }

        /** This minus an earlier snapshot: what was recorded in between. */
        public Snapshot minus(Snapshot earlier) {
            long[] d = new long[BUCKETS];
            for (int i = 0; i < BUCKETS; i++) {
                d[i] = counts[i] - earlier.counts[i];
            }
            return new Snapshot(d);
        }

        public long count() {
            long n = 0;
            for (long c : counts) {
                n += c;
            }
            return n;
        }

        /** The value at quantile {@code q} (0..1) in microseconds, or -1 when empty. */
        public long percentile(double q) {
            long n = count();
            if (n == 0) {
                return -1;
            }
            long rank = Math.max(1, (long) Math.ceil(q * n));
            long seen = 0;
            for (int i = 0; i < BUCKETS; i++) {
                seen += counts[i];
                if (seen >= rank) {
                    return upperBound(i);
                }
            }
            return upperBound(BUCKETS - 1);
        }
    }
}
