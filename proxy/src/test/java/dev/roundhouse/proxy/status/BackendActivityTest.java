package dev.roundhouse.proxy.status;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.roundhouse.proxy.metrics.ProxyMetrics;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class BackendActivityTest {

    private static final String A = "http://127.0.0.1:1";
    private static final long SECOND = TimeUnit.SECONDS.toNanos(1);

    private final ProxyMetrics metrics = new ProxyMetrics();
    private final BackendActivity activity = new BackendActivity(metrics);

    private void requests(int count, int status, long millis) {
        for (int i = 0; i < count; i++) {
            metrics.request("GET", status, A, TimeUnit.MILLISECONDS.toNanos(millis));
        }
    }

    @Test
    void theLastMinuteIsTheDifferenceOfTheMetersBetweenSamples() {
        metrics.prepareBackend(A);
        requests(1000, 200, 1); // before the minute: not counted
        activity.sample(List.of(A), 0);
        requests(90, 200, 3); // in the (2, 5] ms bucket
        requests(10, 503, 300); // in the (250, 500] ms bucket
        activity.sample(List.of(A), 5 * SECOND);
        requests(50, 200, 3);
        activity.sample(List.of(A), 10 * SECOND);

        BackendActivity.LastMinute minute = activity.lastMinute(A);
        assertThat(minute.requestsPerSecond()).isCloseTo(15.0, within(1e-9)); // 150 requests in 10 s
        assertThat(minute.errorRatio()).isCloseTo(10 / 150.0, within(1e-9));
        // rank 75 of 150 falls in (2, 5] ms, which holds ranks 1 to 140: 2 + 3 × 75/140
        assertThat(minute.p50Ms()).isCloseTo(2 + 3 * 75 / 140.0, within(1e-9));
        // rank 148.5 falls in (250, 500] ms, which holds ranks 141 to 150: 250 + 250 × 8.5/10
        assertThat(minute.p99Ms()).isCloseTo(250 + 250 * 8.5 / 10, within(1e-9));
        double[] rates = minute.rates();
        assertThat(rates).hasSize(12);
        assertThat(rates[11]).isEqualTo(10.0); // newest last: 50 in 5 s
        assertThat(rates[10]).isEqualTo(20.0);
        assertThat(rates[9]).isZero(); // before the first sample
    }

    @Test
    void onlyTheLastMinuteCountsAndIdleBackendsHaveNoLatency() {
        activity.sample(List.of(A), 0);
        requests(600, 200, 1);
        for (int i = 1; i <= 13; i++) {
            activity.sample(List.of(A), i * 5 * SECOND);
        }
        BackendActivity.LastMinute idle = activity.lastMinute(A);
        assertThat(idle.requestsPerSecond()).isZero(); // the burst was more than a minute ago
        assertThat(idle.errorRatio()).isNull();
        assertThat(idle.p50Ms()).isNull();
        assertThat(idle.p99Ms()).isNull();
    }

    @Test
    void aBackendThatLeftThePoolIsForgotten() {
        activity.sample(List.of(A), 0);
        requests(10, 200, 1);
        activity.sample(List.of(A), 5 * SECOND);
        assertThat(activity.lastMinute(A).requestsPerSecond()).isEqualTo(2.0);
        activity.sample(List.of(), 10 * SECOND);
        assertThat(activity.lastMinute(A).requestsPerSecond()).isZero();
    }

    @Test
    void aDurationAboveTheLastBucketIsEstimatedAsThatBucket() {
        long[] buckets = new long[ProxyMetrics.bucketBounds().length]; // none under 10 s
        assertThat(BackendActivity.quantileMs(0.5, buckets, 4)).isEqualTo(10_000.0);
    }
}
