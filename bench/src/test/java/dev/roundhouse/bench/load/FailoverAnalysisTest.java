package dev.roundhouse.bench.load;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class FailoverAnalysisTest {

    private static final long MS = 1_000_000L;

    private static RequestEvent ok(long dueMs, long latencyMs, int backend) {
        return new RequestEvent(0, dueMs * MS, dueMs * MS, (dueMs + latencyMs) * MS, backend, Outcome.OK, 200);
    }

    @Test
    void clientViewOfAKillAndARestart() {
        // backends 1, 2, 3 in turn every 10 ms; 3 is killed at 1000 ms, restarted at 2000 ms, in rotation again from
        // 2530 ms
        List<RequestEvent> events = new ArrayList<>();
        for (long t = 0; t < 3000; t += 10) {
            int backend = (int) (t / 10 % 3) + 1;
            if (backend == 3 && t >= 995 && t < 2530) {
                backend = 1; // the proxy sends its share elsewhere
            }
            long latency = t >= 1000 && t < 1010 ? 7 : 1; // a bump right after the kill
            events.add(ok(t, latency, backend));
        }
        events.add(new RequestEvent(0, 1005 * MS, -1, -1, 0, Outcome.UNSENT, 0));
        events.add(new RequestEvent(0, 50 * MS, 50 * MS, 51 * MS, 0, Outcome.IO, 0)); // in the warm-up: ignored
        events.add(new RequestEvent(0, 2100 * MS, 2100 * MS, 2101 * MS, 0, Outcome.STATUS, 503));
        FailoverAnalysis.Result r = FailoverAnalysis.analyze(events, 3, 1000 * MS, 2000 * MS, 500 * MS, 100 * MS);
        assertThat(r.lastBeforeKillMs()).isEqualTo(-19.0); // 3 answered the request due at 980 at 981 ms
        assertThat(r.victimAfterKill()).isZero();
        assertThat(r.returnMs()).isEqualTo(541.0); // its first turn from 2530 on: due at 2540, done at 2541
        assertThat(r.failedAfterKill()).isEqualTo(1);
        assertThat(r.failedAfterRestart()).isEqualTo(1);
        assertThat(r.beforeKill().count()).isEqualTo(50); // due in [500, 1000)
        assertThat(r.beforeKill().max()).isEqualTo(1 * MS);
        assertThat(r.afterKill().max()).isEqualTo(7 * MS);
    }

    @Test
    void requestsThatPaidAConnectTimeoutAreTheSlowAndTheFailedOnesInTheWindow() {
        List<RequestEvent> events = new ArrayList<>();
        events.add(ok(900, 1200, 1)); // before the window, slow: not counted
        events.add(ok(1000, 2, 1)); // in the window, fast
        events.add(ok(1100, 1020, 2)); // in the window, waited a connect timeout of 1 s and more
        events.add(ok(1200, 999, 2)); // just under
        events.add(new RequestEvent(0, 1300 * MS, 1300 * MS, 3300 * MS, 0, Outcome.TIMEOUT, 0)); // failed
        events.add(ok(5000, 1500, 2)); // after the window: not counted
        // sent 950 ms late, behind a request that hung on the same client connection: it did not wait for a connect
        events.add(new RequestEvent(0, 1400 * MS, 2350 * MS, 2352 * MS, 1, Outcome.OK, 200));

        assertThat(FailoverAnalysis.paidConnectTimeout(events, 1000 * MS, 5000 * MS, 1000 * MS))
                .isEqualTo(2);
    }

    @Test
    void signalTransitions() {
        List<SignalPoller.Transition> t = List.of(
                new SignalPoller.Transition("healthy", 0, "3"),
                new SignalPoller.Transition("errors", 1010 * MS, "4"),
                new SignalPoller.Transition("errors", 1060 * MS, "11"),
                new SignalPoller.Transition("healthy", 3100 * MS, "2"),
                new SignalPoller.Transition("healthy", 6200 * MS, "3"));
        assertThat(FailoverAnalysis.firstAfter(t, "healthy", 1000 * MS, 5000 * MS, v -> v.equals("2")))
                .isEqualTo(2100.0);
        assertThat(FailoverAnalysis.firstAfter(t, "healthy", 5000 * MS, 9000 * MS, v -> v.equals("2")))
                .isNaN();
        assertThat(FailoverAnalysis.lastBefore(t, "errors", 1000 * MS, 5000 * MS))
                .isEqualTo(60.0);
    }

    @Test
    void prometheusSignalsSumTheMatchingSamples() {
        String page = String.join(
                "\n",
                "# HELP roundhouse_backends_healthy x",
                "roundhouse_backends_healthy 2.0",
                "roundhouse_errors_total{backend=\"http://127.0.0.1:3\",type=\"connect\"} 4.0",
                "roundhouse_errors_total{backend=\"http://127.0.0.1:3\",type=\"upstream_reset\"} 1.0",
                "roundhouse_errors_total{backend=\"http://127.0.0.1:30\",type=\"connect\"} 100.0",
                "resilience4j_circuitbreaker_state{name=\"http://127.0.0.1:3\",state=\"open\"} 1.0",
                "resilience4j_circuitbreaker_state{name=\"http://127.0.0.1:3\",state=\"closed\"} 0.0",
                "");
        Map<String, String> v = SignalPoller.evaluate(
                page,
                Map.of(
                        "healthy", new SignalPoller.Selector("roundhouse_backends_healthy", List.of()),
                        "errors",
                                new SignalPoller.Selector(
                                        "roundhouse_errors_total", List.of("backend=\"http://127.0.0.1:3\"")),
                        "open",
                                new SignalPoller.Selector(
                                        "resilience4j_circuitbreaker_state",
                                        List.of("name=\"http://127.0.0.1:3\"", "state=\"open\""))));
        assertThat(v).containsEntry("healthy", "2").containsEntry("errors", "5").containsEntry("open", "1");
    }
}
