package dev.roundhouse.bench.reload;

import dev.roundhouse.bench.load.Outcome;
import dev.roundhouse.bench.load.RequestEvent;
import dev.roundhouse.bench.stats.LatencyHistogram;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * How fast each pool change reached the traffic, seen from the client only (so it works the same for every proxy):
 * <ul>
 *   <li><b>added</b> backend: from the start of the write to the first complete response that backend gave after
 *   it (the brief's "first response from a backend only in the new pool");</li>
 *   <li><b>removed</b> backend: from the start of the write to the send time of the last request that backend
 *   answered (0 when no request sent after the write reached it), among those answered before the next change
 *   started (a request stamped just before the next change may reach the proxy just after it).</li>
 * </ul>
 * Each change is judged only until the next one starts. Times are nanoseconds after the run's start.
 */
final class ReloadAnalysis {

    private ReloadAnalysis() {}

    /** One change: the write started at {@code start}; the pool went from {@code before} to {@code after} (backend ids). */
    record Change(long start, long end, Set<Integer> before, Set<Integer> after, String error) {}

    /**
     * @param addMs latency for each change that added a backend and whose new backend answered before the next
     *     change; {@code addMissing} counts those whose new backend never answered in time
     */
    record Result(double[] addMs, int addMissing, double[] removeMs) {}

    /**
     * Latency (from the due time) of the answered requests due within {@code window} after the start of any change,
     * and of the others due from {@code from} on: if changes cost latency, the first is worse than the second in the
     * same run, whatever else the machine was doing. The same for the service time (from the actual send), which
     * leaves out the generator's own delays (the change itself runs in the generator's process).
     */
    record NearFar(
            LatencyHistogram near, LatencyHistogram far, LatencyHistogram nearService, LatencyHistogram farService) {}

    static NearFar nearFar(List<RequestEvent> events, List<Change> changes, long from, long window) {
        LatencyHistogram near = new LatencyHistogram();
        LatencyHistogram far = new LatencyHistogram();
        LatencyHistogram nearService = new LatencyHistogram();
        LatencyHistogram farService = new LatencyHistogram();
        long[] starts = changes.stream().mapToLong(Change::start).sorted().toArray();
        for (RequestEvent e : events) {
            if (e.due() < from || (e.outcome() != Outcome.OK && e.outcome() != Outcome.STATUS)) {
                continue;
            }
            int i = java.util.Arrays.binarySearch(starts, e.due());
            int before = i >= 0 ? i : -i - 2; // the last change starting at or before the due time
            boolean isNear = before >= 0 && e.due() - starts[before] < window;
            (isNear ? near : far).record(e.latency());
            (isNear ? nearService : farService).record(e.done() - e.sent());
        }
        return new NearFar(near, far, nearService, farService);
    }

    static Result analyze(List<RequestEvent> events, List<Change> changes, long horizon) {
        double[] add = new double[changes.size()];
        double[] remove = new double[changes.size()];
        int adds = 0;
        int removes = 0;
        int missing = 0;
        for (int j = 0; j < changes.size(); j++) {
            Change c = changes.get(j);
            long from = c.start();
            long until = j + 1 < changes.size() ? changes.get(j + 1).start() : horizon;
            Set<Integer> added = new HashSet<>(c.after());
            added.removeAll(c.before());
            Set<Integer> removed = new HashSet<>(c.before());
            removed.removeAll(c.after());
            if (!added.isEmpty()) {
                long first = Long.MAX_VALUE;
                for (RequestEvent e : events) {
                    if (e.done() >= from && e.done() < until && added.contains(e.backend()) && e.done() < first) {
                        first = e.done();
                    }
                }
                if (first == Long.MAX_VALUE) {
                    missing++;
                } else {
                    add[adds++] = (first - from) / 1e6;
                }
            }
            if (!removed.isEmpty()) {
                long last = from;
                for (RequestEvent e : events) {
                    // done before the next change: a request stamped just before it may reach the proxy after it
                    if (e.sent() >= from && e.done() < until && removed.contains(e.backend()) && e.sent() > last) {
                        last = e.sent();
                    }
                }
                remove[removes++] = (last - from) / 1e6;
            }
        }
        return new Result(java.util.Arrays.copyOf(add, adds), missing, java.util.Arrays.copyOf(remove, removes));
    }
}
