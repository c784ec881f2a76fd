package dev.roundhouse.bench.stats;

import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.LongAdder;

/**
 * A log-linear histogram of non-negative {@code long} values (latencies, in the unit the caller records), in the
 * manner of HdrHistogram but much smaller: values below {@value #SUB_COUNT} times 2 are kept exactly; above, every
 * power-of-two range {@code [2^e, 2^(e+1))} is split into {@value #SUB_COUNT} equal buckets, so a bucket is never
 * wider than 1/128 of its lower bound. Percentiles report the highest value of their bucket (never lower than the
 * true value, at most 0.8 % above it) and never more than the maximum.
 *
 * <p>Threads may record into one histogram at once (a soak's connections share one); a load run gives each
 * connection its own and {@link #add adds} them up. {@link #snapshot} copies one, and the {@link #minus difference} of
 * two snapshots is what was recorded in between.
 */
public final class LatencyHistogram {

    static final int SUB_BITS = 7;
    static final int SUB_COUNT = 1 << SUB_BITS;
    /** Enough buckets for any non-negative long (2^62 .. 2^63-1 is the last range). */
    static final int BUCKETS = (63 - SUB_BITS) * SUB_COUNT + 2 * SUB_COUNT;

    private final AtomicLongArray counts;
    private final LongAdder sum;
    // Exact for recorded values; for a difference of snapshots, the bounds of its lowest and highest bucket.
    private final AtomicLong min;
    private final AtomicLong max;

    public LatencyHistogram() {
        this(new AtomicLongArray(BUCKETS), 0, Long.MAX_VALUE, Long.MIN_VALUE);
    }

    private LatencyHistogram(AtomicLongArray counts, long sum, long min, long max) {
        this.counts = counts;
        this.sum = new LongAdder();
        this.sum.add(sum);
        this.min = new AtomicLong(min);
        this.max = new AtomicLong(max);
    }

    /** Records one value; negative values count as 0 (a clock read out of order). */
    public void record(long value) {
        long v = Math.max(0, value);
        // The extremes first: a snapshot that sees a count (it reads counts first) also sees the value's extremes.
        if (v < min.get()) {
            min.accumulateAndGet(v, Math::min);
        }
        if (v > max.get()) {
            max.accumulateAndGet(v, Math::max);
        }
        sum.add(v);
        counts.incrementAndGet(index(v));
    }

    /** Adds every value recorded in {@code other} to this one. */
    public void add(LatencyHistogram other) {
        for (int i = 0; i < BUCKETS; i++) {
            long c = other.counts.get(i);
            if (c != 0) {
                counts.addAndGet(i, c);
            }
        }
        sum.add(other.sum.sum());
        min.accumulateAndGet(other.min.get(), Math::min);
        max.accumulateAndGet(other.max.get(), Math::max);
    }

    /** A copy of what was recorded so far. */
    public LatencyHistogram snapshot() {
        AtomicLongArray copy = new AtomicLongArray(BUCKETS);
        for (int i = 0; i < BUCKETS; i++) {
            copy.set(i, counts.get(i));
        }
        return new LatencyHistogram(copy, sum.sum(), min.get(), max.get());
    }

    /** This minus an earlier snapshot of the same histogram: what was recorded in between. */
    public LatencyHistogram minus(LatencyHistogram earlier) {
        AtomicLongArray difference = new AtomicLongArray(BUCKETS);
        int lowest = -1;
        int highest = -1;
        for (int i = 0; i < BUCKETS; i++) {
            long d = counts.get(i) - earlier.counts.get(i);
            difference.set(i, d);
            if (d > 0) {
                lowest = lowest < 0 ? i : lowest;
                highest = i;
            }
        }
        return lowest < 0
                ? new LatencyHistogram()
                : new LatencyHistogram(
                        difference, sum.sum() - earlier.sum.sum(), lowestInBucket(lowest), highestInBucket(highest));
    }

    public long count() {
        long n = 0;
        for (int i = 0; i < BUCKETS; i++) {
            n += counts.get(i);
        }
        return n;
    }

    /** The largest value recorded, 0 when empty. */
    public long max() {
        return count() == 0 ? 0 : max.get();
    }

    /** The smallest value recorded, 0 when empty. */
    public long min() {
        return count() == 0 ? 0 : min.get();
    }

    public double mean() {
        long n = count();
        return n == 0 ? 0 : (double) sum.sum() / n;
    }

    /**
     * The value at {@code percentile} (0 to 100) by the nearest-rank rule: the smallest recorded value such that at
     * least {@code percentile}% of all values are less than or equal to it, rounded up to the top of its bucket
     * (capped at the maximum). 0 when empty; percentile 0 gives the minimum, 100 the maximum.
     */
    public long percentile(double percentile) {
        if (percentile < 0 || percentile > 100 || Double.isNaN(percentile)) {
            throw new IllegalArgumentException("percentile must be within 0..100, got " + percentile);
        }
        long total = count();
        if (total == 0) {
            return 0;
        }
        if (percentile == 0) {
            return min.get();
        }
        long rank = Percentiles.rank(percentile, total);
        long seen = 0;
        for (int i = 0; i < BUCKETS; i++) {
            seen += counts.get(i);
            if (seen >= rank) {
                return Math.max(min.get(), Math.min(max.get(), highestInBucket(i)));
            }
        }
        return max.get();
    }

    /** The bucket of a non-negative value. */
    static int index(long value) {
        if (value < 2 * SUB_COUNT) {
            return (int) value; // exact: the first two ranges have buckets of width 1
        }
        int exponent = 63 - Long.numberOfLeadingZeros(value); // >= SUB_BITS + 1
        int shift = exponent - SUB_BITS;
        int sub = (int) (value >>> shift); // in [SUB_COUNT, 2 * SUB_COUNT)
        return shift * SUB_COUNT + sub;
    }

    /** The smallest value that falls into bucket {@code index}. */
    static long lowestInBucket(int index) {
        if (index < 2 * SUB_COUNT) {
            return index;
        }
        int shift = index / SUB_COUNT - 1;
        long sub = index % SUB_COUNT + SUB_COUNT;
        return sub << shift;
    }

    /** The largest value that falls into bucket {@code index}. */
    static long highestInBucket(int index) {
        if (index < 2 * SUB_COUNT) {
            return index;
        }
        int shift = index / SUB_COUNT - 1;
        long sub = index % SUB_COUNT + SUB_COUNT;
        long next = (sub + 1) << shift;
        return next < 0 ? Long.MAX_VALUE : next - 1; // the very last bucket ends at Long.MAX_VALUE
    }
}
