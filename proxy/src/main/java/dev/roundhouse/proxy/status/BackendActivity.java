package dev.roundhouse.proxy.status;

import dev.roundhouse.proxy.metrics.ProxyMetrics;
import java.util.Collection;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Each backend's last minute, from the request meters the proxy keeps anyway: their totals are sampled every
 * {@link #SAMPLE_SECONDS} seconds off the request path, and the figures are differences between samples. The
 * request path pays nothing for it.
 */
public final class BackendActivity {

    public static final int SAMPLE_SECONDS = 5;
    /** Twelve intervals make the minute; one more sample bounds them. */
    static final int SAMPLES = 60 / SAMPLE_SECONDS + 1;

    private static final double[] BOUNDS = ProxyMetrics.bucketBounds();

    /** One backend's last minute; a figure is null when there were no requests to derive it from. */
    public record LastMinute(double requestsPerSecond, Double errorRatio, Double p50Ms, Double p99Ms, double[] rates) {}

    private record Sample(long nanos, ProxyMetrics.Totals totals) {}

    private final ProxyMetrics metrics;
    private final ConcurrentHashMap<String, Sample[]> samples = new ConcurrentHashMap<>();

    public BackendActivity(ProxyMetrics metrics) {
        this.metrics = metrics;
    }

    /** Takes one sample of every backend in {@code backends}, and forgets backends no longer there. */
    public void sample(Collection<String> backends, long nanos) {
        samples.keySet().retainAll(backends);
        for (String backend : backends) {
            Sample[] ring = samples.computeIfAbsent(backend, b -> new Sample[SAMPLES]);
            synchronized (ring) {
                System.arraycopy(ring, 0, ring, 1, SAMPLES - 1);
                ring[0] = new Sample(nanos, metrics.totals(backend));
            }
        }
    }

    /** The last minute of {@code backend}, as far as samples reach; zeros before two samples exist. */
    public LastMinute lastMinute(String backend) {
        Sample[] ring = samples.get(backend);
        double[] rates = new double[SAMPLES - 1];
        if (ring == null) {
            return new LastMinute(0, null, null, null, rates);
        }
        Sample[] copy;
        synchronized (ring) {
            copy = ring.clone();
        }
        Sample newest = copy[0];
        Sample oldest = null;
        for (int i = 1; i < SAMPLES && copy[i] != null; i++) {
            oldest = copy[i];
            double seconds = (copy[i - 1].nanos - copy[i].nanos) / 1e9;
            long requests = copy[i - 1].totals.requests() - copy[i].totals.requests();
            rates[SAMPLES - 1 - i] = seconds > 0 ? requests / seconds : 0;
        }
        if (newest == null || oldest == null) {
            return new LastMinute(0, null, null, null, rates);
        }
        double seconds = (newest.nanos - oldest.nanos) / 1e9;
        long requests = newest.totals.requests() - oldest.totals.requests();
        if (requests <= 0) {
            return new LastMinute(0, null, null, null, rates);
        }
        long errors = newest.totals.serverErrors() - oldest.totals.serverErrors();
        long[] buckets = new long[BOUNDS.length];
        for (int i = 0; i < buckets.length; i++) {
            buckets[i] = newest.totals.buckets()[i] - oldest.totals.buckets()[i];
        }
        return new LastMinute(
                requests / seconds,
                (double) errors / requests,
                quantileMs(0.5, buckets, requests),
                quantileMs(0.99, buckets, requests),
                rates);
    }

    /**
     * The q-quantile of {@code total} durations whose cumulative counts at {@link #BOUNDS} are {@code buckets}, by
     * linear interpolation inside the bucket it falls in, as Prometheus's {@code histogram_quantile} estimates it;
     * in the open bucket above the last bound, that bound.
     */
    static double quantileMs(double q, long[] buckets, long total) {
        double rank = q * total;
        long below = 0;
        double lower = 0;
        for (int i = 0; i < BOUNDS.length; i++) {
            if (buckets[i] >= rank) {
                long inBucket = buckets[i] - below;
                double share = inBucket == 0 ? 1 : (rank - below) / inBucket;
                return (lower + (BOUNDS[i] - lower) * share) * 1000;
            }
            below = buckets[i];
            lower = BOUNDS[i];
        }
        return BOUNDS[BOUNDS.length - 1] * 1000;
    }
}
