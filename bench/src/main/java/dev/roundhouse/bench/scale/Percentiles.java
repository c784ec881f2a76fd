package dev.roundhouse.bench.scale;

import java.util.Arrays;

/** Exact percentiles (nearest rank) of a set of values. */
public final class Percentiles {

    private final double[] sorted;

    public Percentiles(double[] values) {
        this.sorted = values.clone();
        Arrays.sort(this.sorted);
    }

    public int count() {
        return sorted.length;
    }

    /** The value at quantile {@code q} (0..1) by nearest rank; NaN when empty. */
    public double at(double q) {
        if (sorted.length == 0) {
            return Double.NaN;
        }
        int rank = (int) Math.ceil(q * sorted.length);
        return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
    }

    public double max() {
        return sorted.length == 0 ? Double.NaN : sorted[sorted.length - 1];
    }
}
