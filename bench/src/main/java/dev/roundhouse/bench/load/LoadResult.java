package dev.roundhouse.bench.load;

import dev.roundhouse.bench.stats.LatencyHistogram;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The sums of a {@link LoadRun}. Counts and histograms cover requests due after the warm-up; {@link #events()}
 * holds every request (warm-up included) when events were recorded, sorted by due time.
 */
public final class LoadResult {

    private final LoadOptions options;
    private final LatencyHistogram latency;
    private final LatencyHistogram service;
    private final LatencyHistogram lag;
    private final long[] outcomes;
    private final Map<String, Long> byBackend;
    private final long warmupFailures;
    private final long opens;
    private final long reopens;
    private final long closedByHeader;
    private final long lastDone;
    private final List<RequestEvent> events;

    private LoadResult(Builder b) {
        options = b.options;
        latency = b.latency;
        service = b.service;
        lag = b.lag;
        outcomes = b.outcomes;
        byBackend = new LinkedHashMap<>();
        for (int id = 0; id < b.byBackend.length; id++) {
            if (b.byBackend[id] > 0) {
                byBackend.put(b.ids.name(id), b.byBackend[id]);
            }
        }
        warmupFailures = b.warmupFailures;
        opens = b.opens;
        reopens = b.reopens;
        closedByHeader = b.closedByHeader;
        lastDone = b.lastDone;
        events = b.events;
        if (events != null) {
            events.sort(Comparator.comparingLong(RequestEvent::due));
        }
    }

    public LoadOptions options() {
        return options;
    }

    /** Latency from the due time to the complete response (responses only, any status). */
    public LatencyHistogram latency() {
        return latency;
    }

    /** From the moment the request was written to the complete response. */
    public LatencyHistogram service() {
        return service;
    }

    /** How late the generator itself sent requests (the part of the latency that is ours, or queueing behind a slow response). */
    public LatencyHistogram lag() {
        return lag;
    }

    public long count(Outcome o) {
        return outcomes[o.ordinal()];
    }

    /** Requests due in the measured window. */
    public long scheduled() {
        long n = 0;
        for (long c : outcomes) {
            n += c;
        }
        return n;
    }

    public long failed() {
        return scheduled() - count(Outcome.OK);
    }

    /** Responses per backend header value ("-" when absent), measured window. */
    public Map<String, Long> byBackend() {
        return byBackend;
    }

    public long warmupFailures() {
        return warmupFailures;
    }

    /** Connections opened in all (the initial ones included). */
    public long opens() {
        return opens;
    }

    /** Connections opened again in the measured window after the server closed (or broke) one. */
    public long reopens() {
        return reopens;
    }

    /** Responses in the measured window that said {@code Connection: close}. */
    public long closedByHeader() {
        return closedByHeader;
    }

    /** Responses (OK or other status) per second of the measured window (duration minus warm-up). */
    public double achievedRate() {
        double seconds = (options.duration().toNanos() - options.warmup().toNanos()) / 1e9;
        return (count(Outcome.OK) + count(Outcome.STATUS)) / seconds;
    }

    public List<RequestEvent> events() {
        return events;
    }

    static String ms(long nanos) {
        return String.format(Locale.ROOT, "%.3f", nanos / 1e6);
    }

    /** "failed 0 (status 0, timeout 0, ...)" */
    public String failures() {
        StringBuilder sb = new StringBuilder();
        sb.append(failed()).append(" (");
        boolean first = true;
        for (Outcome o : Outcome.values()) {
            if (o == Outcome.OK) {
                continue;
            }
            if (!first) {
                sb.append(", ");
            }
            first = false;
            sb.append(o.label()).append(' ').append(count(o));
        }
        return sb.append(')').toString();
    }

    public static String percentiles(LatencyHistogram h) {
        return String.format(
                Locale.ROOT,
                "p50 %s  p90 %s  p99 %s  p99.9 %s  max %s",
                ms(h.percentile(50)),
                ms(h.percentile(90)),
                ms(h.percentile(99)),
                ms(h.percentile(99.9)),
                ms(h.max()));
    }

    /** A few human-readable lines. */
    public String report() {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(
                Locale.ROOT,
                "achieved %.1f req/s (%d responses of %d scheduled), failed %s%n",
                achievedRate(),
                count(Outcome.OK) + count(Outcome.STATUS),
                scheduled(),
                failures()));
        sb.append(String.format(
                Locale.ROOT,
                "connections re-opened %d (responses with Connection: close %d), warm-up failures %d%n",
                reopens,
                closedByHeader,
                warmupFailures));
        sb.append("latency from due time, ms:     ")
                .append(percentiles(latency))
                .append('\n');
        sb.append("service time from send, ms:    ")
                .append(percentiles(service))
                .append('\n');
        sb.append("send lag (generator), ms:      ").append(percentiles(lag)).append('\n');
        sb.append("responses by backend: ").append(byBackend).append('\n');
        return sb.toString();
    }

    /** key=value pairs for scripts. */
    public String resultFields() {
        return String.format(
                Locale.ROOT,
                "rate=%s achieved=%.1f p50=%s p90=%s p99=%s p999=%s max=%s svc_p99=%s lag_p99=%s failed=%d %s reopens=%d closed_by_header=%d",
                options.rate() == Math.rint(options.rate())
                        ? Long.toString((long) options.rate())
                        : Double.toString(options.rate()),
                achievedRate(),
                ms(latency.percentile(50)),
                ms(latency.percentile(90)),
                ms(latency.percentile(99)),
                ms(latency.percentile(99.9)),
                ms(latency.max()),
                ms(service.percentile(99)),
                ms(lag.percentile(99)),
                failed(),
                outcomeFields(),
                reopens,
                closedByHeader);
    }

    private String outcomeFields() {
        List<String> parts = new ArrayList<>();
        for (Outcome o : Outcome.values()) {
            if (o != Outcome.OK) {
                parts.add(o.label() + "=" + count(o));
            }
        }
        return String.join(" ", parts);
    }

    static final class Builder {
        final LoadOptions options;
        final BackendIds ids;
        final LatencyHistogram latency = new LatencyHistogram();
        final LatencyHistogram service = new LatencyHistogram();
        final LatencyHistogram lag = new LatencyHistogram();
        final long[] outcomes = new long[Outcome.values().length];
        final long[] byBackend = new long[256];
        long warmupFailures;
        long opens;
        long reopens;
        long closedByHeader;
        long lastDone;
        List<RequestEvent> events;

        Builder(LoadOptions options, BackendIds ids) {
            this.options = options;
            this.ids = ids;
            if (options.recordEvents()) {
                events = new ArrayList<>();
            }
        }

        void add(LoadRun.Stats s, EventLog log, int connection) {
            latency.add(s.latency);
            service.add(s.service);
            lag.add(s.lag);
            for (int i = 0; i < outcomes.length; i++) {
                outcomes[i] += s.outcomes[i];
            }
            for (int i = 0; i < byBackend.length; i++) {
                byBackend[i] += s.byBackend[i];
            }
            warmupFailures += s.warmupFailures;
            opens += s.opens;
            reopens += s.reopens;
            closedByHeader += s.closedByHeader;
            lastDone = Math.max(lastDone, s.lastDone);
            if (log != null) {
                log.addTo(connection, events);
            }
        }

        LoadResult build() {
            return new LoadResult(this);
        }
    }
}
