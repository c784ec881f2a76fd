package dev.roundhouse.bench;

import static org.assertj.core.api.Assertions.assertThat;

import dev.roundhouse.bench.soak.ProcessStats;
import dev.roundhouse.bench.soak.PrometheusText;
import org.junit.jupiter.api.Test;

/** The soak's small parts: the Prometheus text it reads, /proc. */
class SoakMeasurementsTest {

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
}
