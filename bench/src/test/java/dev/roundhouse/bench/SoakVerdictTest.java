package dev.roundhouse.bench;

import static org.assertj.core.api.Assertions.assertThat;

import dev.roundhouse.bench.soak.SoakSample;
import dev.roundhouse.bench.soak.SoakVerdict;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntToDoubleFunction;
import org.junit.jupiter.api.Test;

/** The soak's verdict: thirds, the RSS bound, errors. */
class SoakVerdictTest {

    private static final long MIB = 1024 * 1024;

    /** 60 rows, one every 10 s, for a 600 s run; heap and RSS from the functions of the row number. */
    private static List<SoakSample> run(
            IntToDoubleFunction rssMib, IntToDoubleFunction heapMib, long errors, double[] liveMibAt) {
        List<SoakSample> rows = new ArrayList<>();
        rows.add(sample(0, 100 * MIB, 10 * MIB, 0, 0, Double.NaN));
        for (int i = 1; i <= 60; i++) {
            double live = Double.NaN;
            if (liveMibAt != null && (i == 20 || i == 40 || i == 60)) {
                live = liveMibAt[i / 20 - 1] * MIB;
            }
            rows.add(sample(
                    i * 10,
                    (long) (rssMib.applyAsDouble(i) * MIB),
                    heapMib.applyAsDouble(i) * MIB,
                    i * 20_000L,
                    i == 60 ? errors : 0,
                    live));
        }
        return rows;
    }

    private static SoakSample sample(double t, long rss, double heap, long requests, long errors, double live) {
        return new SoakSample(
                t, 2000, 200, 2000, 1500, 5000, requests, errors, rss, heap, 2 * heap, heap / 2, live, (long) t, t / 10,
                150, 22, 15, 0.5);
    }

    private static SoakVerdict.Check check(SoakVerdict v, String name) {
        return v.checks().stream()
                .filter(c -> c.name().equals(name))
                .findFirst()
                .orElseThrow();
    }

    @Test
    void aWarmUpInTheFirstThirdThenFlatPasses() {
        SoakVerdict v = SoakVerdict.of(
                run(i -> i < 10 ? 100 + 3 * i : 130, i -> 12 + (i % 3), 0, new double[] {10, 10.2, 10.1}),
                600,
                0.10,
                256 * MIB);
        assertThat(v.checks())
                .extracting(SoakVerdict.Check::name)
                .containsExactly("RSS flat", "heap used flat", "live heap flat", "RSS bounded", "no error");
        assertThat(v.passed()).as(v.toString()).isTrue();
    }

    @Test
    void steadyGrowthFailsFlatness() {
        // +0.5 MiB per row: about +10 MiB from the middle third's mean to the last's, on about 130 MiB
        SoakVerdict v = SoakVerdict.of(
                run(i -> 110 + 0.5 * i, i -> 10 + 0.5 * i, 0, new double[] {20, 30, 40}), 600, 0.05, 256 * MIB);
        assertThat(check(v, "RSS flat").passed()).isFalse();
        assertThat(check(v, "RSS flat").detail()).contains("middle third").contains("%");
        assertThat(check(v, "heap used flat").passed()).isFalse();
        assertThat(check(v, "live heap flat").passed()).isFalse();
        assertThat(v.passed()).isFalse();
    }

    @Test
    void rssOverTheLimitOrAnyErrorFails() {
        SoakVerdict v = SoakVerdict.of(run(i -> 300, i -> 12, 3, null), 600, 0.10, 256 * MIB);
        assertThat(check(v, "RSS bounded").passed()).isFalse();
        assertThat(check(v, "RSS bounded").detail()).contains("max 300.0 MiB");
        assertThat(check(v, "no error").passed()).isFalse();
        assertThat(check(v, "no error").detail()).isEqualTo("3 errors in 1200000 requests");
        assertThat(v.checks()).noneMatch(c -> c.name().equals("live heap flat"));
    }

    @Test
    void tooShortARunToHaveThirdsIsNotAPass() {
        List<SoakSample> rows = List.of(
                sample(0, 100 * MIB, 10 * MIB, 0, 0, Double.NaN), sample(10, 100 * MIB, 10 * MIB, 100, 0, Double.NaN));
        SoakVerdict v = SoakVerdict.of(rows, 10, 0.10, 256 * MIB);
        assertThat(check(v, "RSS flat").passed()).isFalse();
        assertThat(check(v, "RSS flat").detail()).contains("too few samples");
    }
}
