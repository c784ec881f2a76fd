package dev.roundhouse.bench.reload;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.roundhouse.bench.load.Outcome;
import dev.roundhouse.bench.load.RequestEvent;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class ReloadAnalysisTest {

    private static final long MS = 1_000_000L;

    /** A request sent at {@code sentMs}, answered 1 ms later by {@code backend}. */
    private static RequestEvent answered(long sentMs, int backend) {
        return new RequestEvent(0, sentMs * MS, sentMs * MS, (sentMs + 1) * MS, backend, Outcome.OK, 200);
    }

    @Test
    void addedBackendCountsFromTheWriteToItsFirstResponse() {
        // pool {1,2} -> {1,2,3} at 100 ms -> {1,2} at 300 ms; backend 3 first answers a request sent at 140 ms
        List<RequestEvent> events = new ArrayList<>();
        for (long t = 0; t < 500; t += 10) {
            int backend = t >= 140 && t < 300 && t % 30 == 20 ? 3 : (int) (t / 10 % 2) + 1;
            events.add(answered(t, backend));
        }
        List<ReloadAnalysis.Change> changes = List.of(
                new ReloadAnalysis.Change(100 * MS, 101 * MS, Set.of(1, 2), Set.of(1, 2, 3), null),
                new ReloadAnalysis.Change(300 * MS, 302 * MS, Set.of(1, 2, 3), Set.of(1, 2), null));
        ReloadAnalysis.Result r = ReloadAnalysis.analyze(events, changes, 500 * MS);
        // backend 3 at 140, 170, 200, 230, 260, 290: the first answer is done at 141 ms
        assertThat(r.addMs()).containsExactly(41.0);
        assertThat(r.addMissing()).isZero();
        // after the removal at 300 ms nothing was sent to 3: 0 ms
        assertThat(r.removeMs()).containsExactly(0.0);
    }

    @Test
    void removedBackendCountsUntilTheLastRequestItGot() {
        List<RequestEvent> events = List.of(
                answered(90, 3), // before the change: not counted
                answered(105, 3), // 5 ms after the write
                answered(130, 3), // 30 ms after: the last one
                answered(150, 1),
                new RequestEvent(0, 249 * MS, 249 * MS, 251 * MS, 3, Outcome.OK, 200), // may have met the next change
                answered(260, 3)); // after the next change: belongs to it
        List<ReloadAnalysis.Change> changes = List.of(
                new ReloadAnalysis.Change(100 * MS, 100 * MS, Set.of(1, 3), Set.of(1), null),
                new ReloadAnalysis.Change(250 * MS, 250 * MS, Set.of(1), Set.of(1, 3), null));
        ReloadAnalysis.Result r = ReloadAnalysis.analyze(events, changes, 400 * MS);
        assertThat(r.removeMs()).containsExactly(30.0);
        // the add at 250 ms counts from the first answer of 3 done after it: the one sent at 249, done at 251
        assertThat(r.addMs()).containsExactly(1.0);
    }

    @Test
    void aNewBackendThatNeverAnswersBeforeTheNextChangeIsMissing() {
        List<RequestEvent> events = List.of(answered(10, 1), answered(150, 1), answered(260, 2));
        List<ReloadAnalysis.Change> changes = List.of(
                new ReloadAnalysis.Change(100 * MS, 100 * MS, Set.of(1), Set.of(1, 2), null),
                new ReloadAnalysis.Change(200 * MS, 200 * MS, Set.of(1, 2), Set.of(1), null));
        ReloadAnalysis.Result r = ReloadAnalysis.analyze(events, changes, 400 * MS);
        assertThat(r.addMs()).isEmpty();
        assertThat(r.addMissing()).isEqualTo(1);
        assertThat(r.removeMs()).containsExactly(60.0); // backend 2 still got the request sent at 260 ms
    }

    @Test
    void failedRequestsNameNoBackendAndCountForNothing() {
        List<RequestEvent> events =
                List.of(new RequestEvent(0, 105 * MS, 105 * MS, 106 * MS, 0, Outcome.STALE, 0), answered(120, 2));
        ReloadAnalysis.Result r = ReloadAnalysis.analyze(
                events,
                List.of(new ReloadAnalysis.Change(100 * MS, 100 * MS, Set.of(1), Set.of(1, 2), null)),
                400 * MS);
        assertThat(r.addMs()).containsExactly(21.0);
    }

    @Test
    void latencyNearChangesAgainstTheRest() {
        List<RequestEvent> events = new ArrayList<>();
        for (long t = 0; t < 1000; t += 10) {
            long latency = t >= 300 && t < 350 || t >= 700 && t < 750 ? 9 : 1; // slow just after each change
            events.add(new RequestEvent(0, t * MS, t * MS, (t + latency) * MS, 1, Outcome.OK, 200));
        }
        events.add(new RequestEvent(0, 310 * MS, 310 * MS, 320 * MS, 0, Outcome.STALE, 0)); // failed: not a latency
        List<ReloadAnalysis.Change> changes = List.of(
                new ReloadAnalysis.Change(300 * MS, 301 * MS, Set.of(1), Set.of(1, 2), null),
                new ReloadAnalysis.Change(700 * MS, 701 * MS, Set.of(1, 2), Set.of(1), null));
        ReloadAnalysis.NearFar nf = ReloadAnalysis.nearFar(events, changes, 100 * MS, 50 * MS);
        assertThat(nf.near().count()).isEqualTo(10); // 300..340 and 700..740
        assertThat(nf.near().min()).isEqualTo(9 * MS);
        assertThat(nf.far().count()).isEqualTo(80); // 100..990 but those ten
        assertThat(nf.far().max()).isEqualTo(1 * MS);
        assertThat(nf.nearService().min()).isEqualTo(9 * MS); // sent when due here
        assertThat(nf.farService().count()).isEqualTo(80);
    }

    @Test
    void poolsAlternate() {
        assertThat(ReloadUnderLoad.parsePools("b1,b2; b1, b2 ,b3"))
                .containsExactly(List.of("b1", "b2"), List.of("b1", "b2", "b3"));
        assertThatThrownBy(() -> ReloadUnderLoad.parsePools("b1,b2")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> ReloadUnderLoad.parsePools("b1;;b2")).isInstanceOf(IllegalArgumentException.class);
    }
}
