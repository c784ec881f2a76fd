package dev.roundhouse.bench.load;

/**
 * A log-linear histogram of non-negative {@code long} values (nanoseconds here), in the manner of HdrHistogram but
 * much smaller: values below {@value #SUB_COUNT} times 2 are kept exactly; above, every power-of-two range
 * {@code [2^e, 2^(e+1))} is split into {@value #SUB_COUNT} equal buckets, so a bucket is never wider than 1/128 of
 * its lower bound. Percentiles report the highest value of their bucket (never lower than the true value, at most
 * 0.8 % above it) and never more than the exact maximum.
 *
 * <p>Not thread-safe: each load connection records into its own, and the results are {@link #add added} up at
 * the end.
 */
public final class LatencyHistogram {

    static final int SUB_BITS = 7;
    static final int SUB_COUNT = 1 << SUB_BITS;
    /** Enough buckets for any non-negative long (2^62 .. 2^63-1 is the last range). */
    static final int BUCKETS = (63 - SUB_BITS) * SUB_COUNT + 2 * SUB_COUNT;

    private final long[] counts = new long[BUCKETS];
    private long total;
    private long min = Long.MAX_VALUE;
    private long max = Long.MIN_VALUE;
    private double sum;

    /** Records one value; negative values count as 0 (a clock read out of order). */
    public void record(long value) {
        long v = Math.max(0, value);
        counts[index(v)]++;
        total++;
        sum += v;
        if (v < min) {
            min = v;
        }
        if (v > max) {
            max = v;
        }
    }

    /** Adds every value recorded in {@code other} to this one. */
    public void add(LatencyHistogram other) {
        for (int i = 0; i < BUCKETS; i++) {
            counts[i] += other.counts[i];
        }
        total += other.total;
        sum += other.sum;
        if (other.total > 0) {
            min = Math.min(min, other.min);
            max = Math.max(max, other.max);
        }
    }

    public long count() {
        return total;
    }

    /** The exact largest value recorded, 0 when empty. */
    public long max() {
        return total == 0 ? 0 : max;
    }

    /** The exact smallest value recorded, 0 when empty. */
    public long min() {
        return total == 0 ? 0 : min;
    }

    public double mean() {
        return total == 0 ? 0 : sum / total;
    }

    /**
     * The value at {@code percentile} (0 to 100) by the nearest-rank rule: the smallest recorded value such that at
     * least {@code percentile}% of all values are less than or equal to it, rounded up to the top of its bucket
     * (capped at the exact maximum). 0 when empty; percentile 0 gives the minimum, 100 the maximum.
     */
    public long percentile(double percentile) {
        if (percentile < 0 || percentile > 100 || Double.isNaN(percentile)) {
            throw new IllegalArgumentException("percentile must be within 0..100, got " + percentile);
        }
        if (total == 0) {
            return 0;
        }
        if (percentile == 0) {
            return min;
        }
        long rank = Percentiles.rank(percentile, total);
        long seen = 0;
        for (int i = 0; i < BUCKETS; i++) {
            seen += counts[i];
            if (seen >= rank) {
                return Math.max(min, Math.min(max, highestInBucket(i)));
            }
        }
        return max;
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
