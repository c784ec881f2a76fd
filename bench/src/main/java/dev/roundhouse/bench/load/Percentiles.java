package dev.roundhouse.bench.load;

import java.util.Arrays;
import java.util.Locale;

/** Exact percentiles of small samples (e.g. 100 reload latencies), by the same nearest-rank rule as the histogram. */
public final class Percentiles {

    private Percentiles() {}

    /**
     * The 1-based rank of the value at {@code percentile} among {@code count} values: {@code ceil(p/100 * count)},
     * at least 1. Computed so that decimal percentiles such as 99.9 do not round up a whole rank by float error.
     */
    static long rank(double percentile, long count) {
        double exact = percentile / 100.0 * count;
        long rank = (long) Math.ceil(exact - 1e-9 * Math.max(1, exact));
        return Math.max(1, Math.min(count, rank));
    }

    /** The nearest-rank percentile of {@code values} (not modified); NaN when there are none. */
    public static double of(double[] values, double percentile) {
        if (percentile < 0 || percentile > 100 || Double.isNaN(percentile)) {
            throw new IllegalArgumentException("percentile must be within 0..100, got " + percentile);
        }
        if (values.length == 0) {
            return Double.NaN;
        }
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        if (percentile == 0) {
            return sorted[0];
        }
        return sorted[(int) rank(percentile, sorted.length) - 1];
    }

    /** "p50 1.234 p99 5.678 max 9.012 (n=100)" for milliseconds; "n=0" when empty. */
    public static String summaryMs(double[] millis) {
        if (millis.length == 0) {
            return "n=0";
        }
        return String.format(
                Locale.ROOT,
                "p50 %.1f  p90 %.1f  p99 %.1f  max %.1f  (n=%d)",
                of(millis, 50),
                of(millis, 90),
                of(millis, 99),
                of(millis, 100),
                millis.length);
    }
}
