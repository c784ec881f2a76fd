package dev.roundhouse.bench.stats;

import java.util.Arrays;
import java.util.Locale;

/**
 * Exact percentiles of small samples (reload latencies, convergence times), by the same nearest-rank rule as
 * {@link LatencyHistogram}.
 */
public final class Percentiles {

    private final double[] sorted;

    /** Of {@code values}, which are copied, not modified. */
    public Percentiles(double[] values) {
        this.sorted = values.clone();
        Arrays.sort(this.sorted);
    }

    /** The nearest-rank percentile of {@code values} (not modified); NaN when there are none. */
    public static double of(double[] values, double percentile) {
        return new Percentiles(values).at(percentile);
    }

    /**
     * The 1-based rank of the value at {@code percentile} among {@code count} values: {@code ceil(p/100 * count)},
     * at least 1. Computed so that decimal percentiles such as 99.9 do not round up a whole rank by float error.
     */
    static long rank(double percentile, long count) {
        double exact = percentile / 100.0 * count;
        long rank = (long) Math.ceil(exact - 1e-9 * Math.max(1, exact));
        return Math.max(1, Math.min(count, rank));
    }

    public int count() {
        return sorted.length;
    }

    /** The value at {@code percentile} (0 to 100) by nearest rank; 0 gives the minimum; NaN when empty. */
    public double at(double percentile) {
        if (percentile < 0 || percentile > 100 || Double.isNaN(percentile)) {
            throw new IllegalArgumentException("percentile must be within 0..100, got " + percentile);
        }
        if (sorted.length == 0) {
            return Double.NaN;
        }
        if (percentile == 0) {
            return sorted[0];
        }
        return sorted[(int) rank(percentile, sorted.length) - 1];
    }

    /** The largest value, NaN when empty. */
    public double max() {
        return at(100);
    }

    /** "p50 1.2  p90 3.4  p99 5.6  max 7.8  (n=100)" for milliseconds; "n=0" when empty. */
    public static String summaryMs(double[] millis) {
        if (millis.length == 0) {
            return "n=0";
        }
        Percentiles p = new Percentiles(millis);
        return String.format(
                Locale.ROOT,
                "p50 %.1f  p90 %.1f  p99 %.1f  max %.1f  (n=%d)",
                p.at(50),
                p.at(90),
                p.at(99),
                p.max(),
                millis.length);
    }
}
