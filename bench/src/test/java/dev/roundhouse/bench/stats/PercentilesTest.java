package dev.roundhouse.bench.stats;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class PercentilesTest {

    @Test
    void nearestRankOfSmallSamples() {
        double[] v = {5, 1, 4, 2, 3}; // unsorted on purpose
        assertThat(Percentiles.of(v, 0)).isEqualTo(1);
        assertThat(Percentiles.of(v, 20)).isEqualTo(1);
        assertThat(Percentiles.of(v, 21)).isEqualTo(2);
        assertThat(Percentiles.of(v, 50)).isEqualTo(3);
        assertThat(Percentiles.of(v, 99)).isEqualTo(5);
        assertThat(Percentiles.of(v, 100)).isEqualTo(5);
        assertThat(v).containsExactly(5, 1, 4, 2, 3); // not sorted in place
    }

    @Test
    void ninetyNinthOfAHundredIsTheSecondLargest() {
        double[] v = new double[100];
        for (int i = 0; i < 100; i++) {
            v[i] = i + 1;
        }
        assertThat(Percentiles.of(v, 99)).isEqualTo(99);
        assertThat(Percentiles.of(v, 50)).isEqualTo(50);
        assertThat(Percentiles.of(new double[0], 50)).isNaN();
        assertThat(Percentiles.summaryMs(new double[] {1.0, 2.0}))
                .isEqualTo("p50 1.0  p90 2.0  p99 2.0  max 2.0  (n=2)");
    }

    @Test
    void aSampleAnswersManyPercentilesFromOneSort() {
        double[] values = new double[100];
        for (int i = 0; i < 100; i++) {
            values[i] = 100 - i; // unsorted on purpose
        }
        Percentiles p = new Percentiles(values);
        assertThat(p.count()).isEqualTo(100);
        assertThat(p.at(0)).isEqualTo(1);
        assertThat(p.at(50)).isEqualTo(50);
        assertThat(p.at(99)).isEqualTo(99);
        assertThat(p.max()).isEqualTo(100);
        assertThat(new Percentiles(new double[] {7}).at(99)).isEqualTo(7);
        assertThat(new Percentiles(new double[0]).max()).isNaN();
    }
}
