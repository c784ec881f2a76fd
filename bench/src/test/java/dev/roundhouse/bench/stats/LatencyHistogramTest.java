package dev.roundhouse.bench.stats;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class LatencyHistogramTest {

    @Test
    void smallValuesAreExact() {
        LatencyHistogram h = new LatencyHistogram();
        for (long v = 1; v <= 200; v++) {
            h.record(v);
        }
        assertThat(h.count()).isEqualTo(200);
        assertThat(h.percentile(50)).isEqualTo(100);
        assertThat(h.percentile(99)).isEqualTo(198);
        assertThat(h.percentile(99.5)).isEqualTo(199);
        assertThat(h.percentile(100)).isEqualTo(200);
        assertThat(h.percentile(0)).isEqualTo(1);
        assertThat(h.min()).isEqualTo(1);
        assertThat(h.max()).isEqualTo(200);
        assertThat(h.mean()).isEqualTo(100.5);
    }

    @Test
    void nearestRankOnTenValues() {
        LatencyHistogram h = new LatencyHistogram();
        for (long v : new long[] {10, 20, 30, 40, 50, 60, 70, 80, 90, 100}) {
            h.record(v);
        }
        // nearest rank: ceil(p/100 * 10)
        assertThat(h.percentile(10)).isEqualTo(10);
        assertThat(h.percentile(11)).isEqualTo(20);
        assertThat(h.percentile(50)).isEqualTo(50);
        assertThat(h.percentile(90)).isEqualTo(90);
        assertThat(h.percentile(99)).isEqualTo(100);
        assertThat(h.percentile(99.9)).isEqualTo(100);
    }

    @Test
    void decimalPercentilesDoNotRoundUpARank() {
        // 99.9 % of 1000 is exactly rank 999, even though 99.9 / 100 * 1000 is 999.0000000000001 in doubles
        LatencyHistogram h = new LatencyHistogram();
        for (long v = 1; v <= 1000; v++) {
            h.record(v * 1000);
        }
        assertThat(h.percentile(99.9)).isBetween(999_000L, 999_000L + 999_000L / 128);
        assertThat(Percentiles.rank(99.9, 1000)).isEqualTo(999);
        assertThat(Percentiles.rank(99.0, 100)).isEqualTo(99);
        assertThat(Percentiles.rank(50, 3)).isEqualTo(2);
        assertThat(Percentiles.rank(0.0001, 3)).isEqualTo(1);
    }

    @Test
    void bucketsCoverEveryValueWithBoundedWidth() {
        long[] probes = {
            0,
            1,
            255,
            256,
            257,
            511,
            512,
            1000,
            1023,
            1024,
            123_456,
            1_000_000,
            999_999_999L,
            (1L << 40) + 12345,
            Long.MAX_VALUE / 3,
            Long.MAX_VALUE
        };
        for (long v : probes) {
            int i = LatencyHistogram.index(v);
            assertThat(i).isBetween(0, LatencyHistogram.BUCKETS - 1);
            assertThat(LatencyHistogram.lowestInBucket(i)).isLessThanOrEqualTo(v);
            assertThat(LatencyHistogram.highestInBucket(i)).isGreaterThanOrEqualTo(v);
            long width = LatencyHistogram.highestInBucket(i) - LatencyHistogram.lowestInBucket(i) + 1;
            assertThat((double) width).isLessThanOrEqualTo(Math.max(1, LatencyHistogram.lowestInBucket(i) / 128.0));
        }
        // consecutive buckets touch
        for (int i = 0; i + 1 < LatencyHistogram.index(Long.MAX_VALUE); i++) {
            assertThat(LatencyHistogram.lowestInBucket(i + 1)).isEqualTo(LatencyHistogram.highestInBucket(i) + 1);
        }
    }

    @Test
    void percentilesStayWithinOneBucketOfTheExactValue() {
        SplittableRandom random = new SplittableRandom(42);
        long[] values = new long[100_000];
        LatencyHistogram h = new LatencyHistogram();
        for (int i = 0; i < values.length; i++) {
            // log-uniform from 10 us to 1 s, in ns
            values[i] = (long) Math.exp(Math.log(10_000) + random.nextDouble() * (Math.log(1e9) - Math.log(10_000)));
            h.record(values[i]);
        }
        long[] sorted = values.clone();
        Arrays.sort(sorted);
        for (double p : new double[] {1, 10, 50, 90, 99, 99.9, 99.99}) {
            long exact = sorted[(int) Percentiles.rank(p, sorted.length) - 1];
            assertThat(h.percentile(p)).as("p%s", p).isBetween(exact, exact + exact / 128);
        }
        assertThat(h.percentile(100)).isEqualTo(sorted[sorted.length - 1]);
        assertThat(h.max()).isEqualTo(sorted[sorted.length - 1]);
    }

    @Test
    void addingHistogramsEqualsRecordingIntoOne() {
        LatencyHistogram a = new LatencyHistogram();
        LatencyHistogram b = new LatencyHistogram();
        LatencyHistogram both = new LatencyHistogram();
        for (long v = 0; v < 5000; v++) {
            long x = v * v;
            (v % 3 == 0 ? a : b).record(x);
            both.record(x);
        }
        a.add(b);
        a.add(new LatencyHistogram()); // an empty one changes nothing, min included
        assertThat(a.count()).isEqualTo(both.count());
        assertThat(a.min()).isEqualTo(both.min());
        assertThat(a.max()).isEqualTo(both.max());
        for (double p : new double[] {0, 25, 50, 75, 99, 99.9, 100}) {
            assertThat(a.percentile(p)).isEqualTo(both.percentile(p));
        }
    }

    @Test
    void emptyAndNegative() {
        LatencyHistogram h = new LatencyHistogram();
        assertThat(h.percentile(99)).isZero();
        assertThat(h.max()).isZero();
        h.record(-5); // counted as 0
        assertThat(h.percentile(50)).isZero();
        assertThatThrownBy(() -> h.percentile(101)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void theDifferenceOfTwoSnapshotsIsWhatWasRecordedInBetween() {
        LatencyHistogram h = new LatencyHistogram();
        h.record(10);
        h.record(10);
        LatencyHistogram first = h.snapshot();
        h.record(5_000);
        h.record(6_000);
        LatencyHistogram window = h.snapshot().minus(first);
        assertThat(window.count()).isEqualTo(2);
        assertThat(window.percentile(50)).isBetween(5_000L, 5_000L + 5_000L / 128);
        assertThat(window.percentile(100)).isBetween(6_000L, 6_000L + 6_000L / 128);
        assertThat(window.percentile(0)).isBetween(5_000L - 5_000L / 128, 5_000L);
        assertThat(window.mean()).isEqualTo(5_500);
        assertThat(h.snapshot().minus(h.snapshot()).count()).isZero();
        assertThat(first.count())
                .as("a snapshot does not change with its histogram")
                .isEqualTo(2);
    }

    @Test
    void threadsRecordingAtOnceLoseNothing() throws Exception {
        LatencyHistogram h = new LatencyHistogram();
        int threads = 4;
        int each = 50_000;
        Thread[] running = new Thread[threads];
        for (int t = 0; t < threads; t++) {
            int offset = t;
            running[t] = new Thread(() -> {
                for (int i = 0; i < each; i++) {
                    h.record(1 + (i % 1000) + offset);
                }
            });
            running[t].start();
        }
        for (Thread t : running) {
            t.join();
        }
        assertThat(h.count()).isEqualTo((long) threads * each);
        assertThat(h.min()).isEqualTo(1);
        assertThat(h.max()).isEqualTo(1000 + threads - 1);
    }
}
