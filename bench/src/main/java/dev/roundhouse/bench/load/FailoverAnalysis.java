package dev.roundhouse.bench.load;

import dev.roundhouse.bench.stats.LatencyHistogram;
import java.util.List;
import java.util.function.Predicate;

/**
 * What a client saw when one backend was killed and restarted under load, from the requests alone (the same for
 * every proxy), plus what the proxy's own signals said, when there are any. Times in nanoseconds after the start.
 */
final class FailoverAnalysis {

    private FailoverAnalysis() {}

    /**
     * @param lastBeforeKillMs the victim's last response before the kill, relative to the kill (negative)
     * @param victimAfterKill responses from the victim between the kill and the restart (should be 0)
     * @param returnMs from the restart command's start to the victim's first response after it; NaN if none
     * @param failedAfterKill failed requests due between the kill and the restart
     * @param failedAfterRestart failed requests due from the restart on
     * @param afterKill latency of the requests due in the {@code window} after the kill
     * @param beforeKill latency of the requests due in the same length of time before the kill (after the warm-up)
     */
    record Result(
            double lastBeforeKillMs,
            long victimAfterKill,
            double returnMs,
            long failedAfterKill,
            long failedAfterRestart,
            LatencyHistogram beforeKill,
            LatencyHistogram afterKill) {}

    /** Requests due before {@code warmup} count for nothing but the victim's last response before the kill. */
    static Result analyze(List<RequestEvent> events, int victim, long kill, long restart, long window, long warmup) {
        long lastBefore = Long.MIN_VALUE;
        long victimAfterKill = 0;
        long firstAfterRestart = Long.MAX_VALUE;
        long failedAfterKill = 0;
        long failedAfterRestart = 0;
        LatencyHistogram before = new LatencyHistogram();
        LatencyHistogram after = new LatencyHistogram();
        for (RequestEvent e : events) {
            boolean answered = e.outcome() == Outcome.OK || e.outcome() == Outcome.STATUS;
            if (answered && e.backend() == victim) {
                if (e.done() < kill) {
                    lastBefore = Math.max(lastBefore, e.done());
                } else if (e.done() < restart) {
                    victimAfterKill++;
                } else {
                    firstAfterRestart = Math.min(firstAfterRestart, e.done());
                }
            }
            if (e.due() < warmup) {
                continue;
            }
            if (e.outcome().failed()) {
                if (e.due() >= kill && e.due() < restart) {
                    failedAfterKill++;
                } else if (e.due() >= restart) {
                    failedAfterRestart++;
                }
            }
            if (answered) {
                if (e.due() >= kill - window && e.due() < kill) {
                    before.record(e.latency());
                } else if (e.due() >= kill && e.due() < kill + window) {
                    after.record(e.latency());
                }
            }
        }
        return new Result(
                lastBefore == Long.MIN_VALUE ? Double.NaN : (lastBefore - kill) / 1e6,
                victimAfterKill,
                firstAfterRestart == Long.MAX_VALUE ? Double.NaN : (firstAfterRestart - restart) / 1e6,
                failedAfterKill,
                failedAfterRestart,
                before,
                after);
    }

    /**
     * Requests due in {@code [from, until)} that paid a connect timeout: failed, or answered no sooner than
     * {@code slow} after they were sent (a connect that hung for {@code timeouts.connect}, then a retry elsewhere).
     * From the send, not the due time: a request that waited on its client connection behind one that hung did not
     * wait for a connect itself.
     */
    static long paidConnectTimeout(List<RequestEvent> events, long from, long until, long slow) {
        long paid = 0;
        for (RequestEvent e : events) {
            if (e.due() >= from && e.due() < until && (e.outcome().failed() || e.done() - e.sent() >= slow)) {
                paid++;
            }
        }
        return paid;
    }

    /** Milliseconds from {@code from} to the first transition of {@code signal} at or after it whose value passes; NaN if none. */
    static double firstAfter(
            List<SignalPoller.Transition> transitions, String signal, long from, long until, Predicate<String> value) {
        for (SignalPoller.Transition t : transitions) {
            if (t.signal().equals(signal) && t.at() >= from && t.at() < until && value.test(t.value())) {
                return (t.at() - from) / 1e6;
            }
        }
        return Double.NaN;
    }

    /** Milliseconds from {@code from} to the last transition of {@code signal} before {@code until}; NaN if none. */
    static double lastBefore(List<SignalPoller.Transition> transitions, String signal, long from, long until) {
        double last = Double.NaN;
        for (SignalPoller.Transition t : transitions) {
            if (t.signal().equals(signal) && t.at() >= from && t.at() < until) {
                last = (t.at() - from) / 1e6;
            }
        }
        return last;
    }
}
