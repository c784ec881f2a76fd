package dev.roundhouse.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.roundhouse.bench.soak.Durations;
import dev.roundhouse.bench.soak.LatencyHistogram;
import dev.roundhouse.bench.soak.ProcessStats;
import dev.roundhouse.bench.soak.PrometheusText;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The soak's small parts: latency buckets, the Prometheus text it reads, /proc, durations. */
class SoakMeasurementsTest {

    @Test
    void percentilesAreWithinThreePercentAndNeverBelowTheTrueValue() {
        LatencyHistogram h = new LatencyHistogram();
        for (long v = 1; v <= 100_000; v++) {
            h.record(v);
        }
        LatencyHistogram.Snapshot s = h.snapshot();
        assertThat(s.count()).isEqualTo(100_000);
        for (double q : new double[] {0.5, 0.9, 0.99, 0.999}) {
            long exact = (long) Math.ceil(q * 100_000);
            assertThat(s.percentile(q)).as("p" + q).isBetween(exact, (long) (exact * 1.032));
        }
        assertThat(s.percentile(1.0)).isBetween(100_000L, 103_200L);
        assertThat(LatencyHistogram.Snapshot.empty().percentile(0.5)).isEqualTo(-1);
    }

    @Test
    void theDifferenceOfTwoSnapshotsIsWhatWasRecordedInBetween() {
        LatencyHistogram h = new LatencyHistogram();
        h.record(10);
        h.record(10);
        LatencyHistogram.Snapshot first = h.snapshot();
        h.record(5_000);
        LatencyHistogram.Snapshot window = h.snapshot().minus(first);
        assertThat(window.count()).isEqualTo(1);
        assertThat(window.percentile(0.5)).isBetween(5_000L, 5_160L);
    }

    @Test
    void prometheusSamplesAreSummedByNameAndLabels() {
        PrometheusText m = PrometheusText.parse("""
                # HELP jvm_memory_used_bytes The amount of used memory
                # TYPE jvm_memory_used_bytes gauge
                jvm_memory_used_bytes{area="heap",id="G1 Eden Space"} 3145728.0
                jvm_memory_used_bytes{area="heap",id="G1 Old Gen"} 9707008.0
                jvm_memory_used_bytes{area="nonheap",id="CodeHeap 'non-nmethods'"} 1317248.0
                jvm_gc_pause_seconds_count{action="end of minor GC",cause="G1 Evacuation Pause",gc="G1 Young Generation"} 3
                jvm_gc_pause_seconds_count{action="end of major GC",cause="Diagnostic Command",gc="G1 Old"} 1
                roundhouse_requests_total{method="GET",status="200",backend="http://a"} 5.0
                roundhouse_requests_total{method="GET",status="502",backend="http://b, \\"c\\""} 2.0
                process_files_open_files 90.0
                odd_value NaN
                """);
        assertThat(m.sum("jvm_memory_used_bytes", l -> "heap".equals(l.get("area"))))
                .isEqualTo(12852736.0);
        assertThat(m.sum("jvm_gc_pause_seconds_count", l -> !"Diagnostic Command".equals(l.get("cause"))))
                .isEqualTo(3);
        assertThat(m.sum("roundhouse_requests_total", l -> !l.get("status").startsWith("2")))
                .isEqualTo(2);
        assertThat(m.samples())
                .anySatisfy(s -> assertThat(s.labels().get("backend")).isEqualTo("http://b, \"c\""));
        assertThat(m.sum("process_files_open_files")).isEqualTo(90);
        assertThat(m.max("jvm_memory_used_bytes", l -> true)).isEqualTo(9707008.0);
        assertThat(m.has("missing_metric")).isFalse();
        assertThat(m.sum("missing_metric")).isZero();
    }

    @Test
    void procOfThisProcessHasMemoryDescriptorsAndThreads() throws Exception {
        ProcessStats self = ProcessStats.of(ProcessHandle.current().pid());
        assertThat(self.rssBytes()).isGreaterThan(1024 * 1024);
        assertThat(self.openFds()).isPositive();
        assertThat(self.threads()).isPositive();
        assertThat(self.cpuTicks()).isNotNegative();
    }

    @Test
    void durationsAsTheScriptsWriteThem() {
        assertThat(Durations.parse("10m")).isEqualTo(Duration.ofMinutes(10));
        assertThat(Durations.parse("60s")).isEqualTo(Duration.ofSeconds(60));
        assertThat(Durations.parse("1m30s")).isEqualTo(Duration.ofSeconds(90));
        assertThat(Durations.parse("250ms")).isEqualTo(Duration.ofMillis(250));
        assertThat(Durations.parse("45")).isEqualTo(Duration.ofSeconds(45));
        assertThat(Durations.format(Duration.ofMinutes(10))).isEqualTo("10m");
        assertThat(Durations.format(Duration.ofSeconds(90))).isEqualTo("1m30s");
        assertThatThrownBy(() -> Durations.parse("ten minutes")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Durations.parse("10x")).isInstanceOf(IllegalArgumentException.class);
        assertThat(Durations.parse("2s").toMillis() / 1000.0).isCloseTo(2.0, within(0.0));
    }
}
