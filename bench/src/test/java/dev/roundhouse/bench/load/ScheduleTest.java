package dev.roundhouse.bench.load;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;

class ScheduleTest {

    @Test
    void requestsInterleaveEvenlyOverConnections() {
        Schedule s = new Schedule(1000, 4); // one request per millisecond in total
        assertThat(s.dueNanos(0, 0)).isEqualTo(0);
        assertThat(s.dueNanos(1, 0)).isEqualTo(1_000_000);
        assertThat(s.dueNanos(3, 0)).isEqualTo(3_000_000);
        assertThat(s.dueNanos(0, 1)).isEqualTo(4_000_000);
        assertThat(s.dueNanos(2, 5)).isEqualTo(22_000_000);
        // every connection sends at rate / connections
        assertThat(s.dueNanos(2, 6) - s.dueNanos(2, 5)).isEqualTo(4_000_000);
    }

    @Test
    void allDueTimesTogetherAreOneEvenSequence() {
        Schedule s = new Schedule(3000, 7);
        long end = 100_000_000; // 100 ms
        List<Long> all = new ArrayList<>();
        for (int c = 0; c < 7; c++) {
            for (long k = 0; k < s.countBefore(c, end); k++) {
                all.add(s.dueNanos(c, k));
            }
        }
        Collections.sort(all);
        assertThat(all).hasSize(300); // 3000/s for 0.1 s, due times 0 .. 99.67 ms
        for (int g = 0; g < all.size(); g++) {
            assertThat(all.get(g)).isEqualTo((long) Math.floor(g * 1e9 / 3000));
        }
        assertThat(all.get(all.size() - 1)).isLessThan(end);
    }

    @Test
    void countBeforeIsExactAtBoundaries() {
        Schedule s = new Schedule(10, 2); // due every 100 ms: c0 at 0, 200, 400...; c1 at 100, 300, ...
        assertThat(s.countBefore(0, 0)).isZero();
        assertThat(s.countBefore(0, 1)).isEqualTo(1);
        assertThat(s.countBefore(1, 100_000_000)).isZero(); // due exactly at the end: not before it
        assertThat(s.countBefore(1, 100_000_001)).isEqualTo(1);
        assertThat(s.countBefore(0, 1_000_000_000)).isEqualTo(5);
        assertThat(s.countBefore(1, 1_000_000_000)).isEqualTo(5);
        assertThat(s.totalBefore(1_000_000_000)).isEqualTo(10);
        assertThat(s.totalBefore(10_000_000_000L)).isEqualTo(100);
    }

    @Test
    void fractionalRatesAndLongRuns() {
        Schedule s = new Schedule(2500.5, 64);
        long end = 3_600_000_100_000L; // one hour and 100 us: between two due times, away from rounding
        long expected = 3600L * 25005 / 10 + 1; // g = 0 .. 9,001,800
        assertThat(s.totalBefore(end)).isEqualTo(expected);
        // due times never decrease along a connection
        for (long k = 0; k < 1000; k++) {
            assertThat(s.dueNanos(5, k + 1)).isGreaterThan(s.dueNanos(5, k));
        }
    }

    @Test
    void rejectsNonsense() {
        assertThatThrownBy(() -> new Schedule(0, 1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new Schedule(100, 0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new Schedule(Double.NaN, 1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new Schedule(100, 2).dueNanos(2, 0)).isInstanceOf(IllegalArgumentException.class);
    }
}
