package dev.roundhouse.bench.soak;

import dev.roundhouse.poolformat.Durations;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The soak: a fixed request rate through a running proxy for a long time, sampling the proxy's memory, GC, file
 * descriptors and errors every interval, then a table and a verdict ({@link SoakVerdict}). {@code bench/soak.sh}
 * starts the backends and the proxy and runs this; it reads its settings from the environment:
 *
 * <pre>
 * TARGET_URL       the proxy's traffic URL, e.g. http://127.0.0.1:8080/        (required)
 * METRICS_URL      the proxy's /metrics                                          (required)
 * PROXY_PID        the proxy's process id, for /proc                             (required)
 * RATE             requests per second                                           (2000)
 * CONNECTIONS      keep-alive connections                                        (32)
 * DURATION         how long                                                      (10m)
 * SAMPLE_INTERVAL  how often to sample                                           (10s)
 * REQUEST_TIMEOUT  per request (connect, then each read)                        (2s)
 * FLAT_TOLERANCE   percent the last third may exceed the middle third            (10)
 * RSS_LIMIT_MIB    RSS must stay under this                                      (256)
 * FORCE_GC         1: full GC (jcmd GC.run) at 1/3, 2/3 and the end, to measure live heap (1)
 * </pre>
 *
 * Exit code: 0 when every goal was met, 1 when one was missed, 2 when the run could not measure.
 */
public final class Soak {

    /** GC causes of forced collections: {@code System.gc()} and {@code jcmd <pid> GC.run}. */
    private static final java.util.Set<String> FORCED_CAUSES = java.util.Set.of("System.gc()", "Diagnostic Command");

    private static final long HEAP_PROBE_NANOS = TimeUnit.SECONDS.toNanos(1);

    private final Settings settings;
    private final HttpClient http =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private final PrintStream out;

    record Settings(
            URI target,
            URI metrics,
            long pid,
            double rate,
            int connections,
            Duration duration,
            Duration interval,
            Duration requestTimeout,
            double tolerance,
            long rssLimitBytes,
            boolean forceGc) {

        static Settings fromEnvironment(Map<String, String> env) {
            URI target = URI.create(required(env, "TARGET_URL"));
            return new Settings(
                    target,
                    URI.create(required(env, "METRICS_URL")),
                    Long.parseLong(required(env, "PROXY_PID")),
                    Double.parseDouble(env.getOrDefault("RATE", "2000")),
                    Integer.parseInt(env.getOrDefault("CONNECTIONS", "32")),
                    Durations.parse(env.getOrDefault("DURATION", "10m")),
                    Durations.parse(env.getOrDefault("SAMPLE_INTERVAL", "10s")),
                    Durations.parse(env.getOrDefault("REQUEST_TIMEOUT", "2s")),
                    Double.parseDouble(env.getOrDefault("FLAT_TOLERANCE", "10")) / 100,
                    Long.parseLong(env.getOrDefault("RSS_LIMIT_MIB", "256")) * 1024 * 1024,
                    !"0".equals(env.getOrDefault("FORCE_GC", "1")));
        }

        private static String required(Map<String, String> env, String name) {
            String v = env.get(name);
            if (v == null || v.isBlank()) {
                throw new IllegalArgumentException(name + " is not set");
            }
            return v.strip();
        }
    }

    Soak(Settings settings, PrintStream out) {
        this.settings = settings;
        this.out = out;
    }

    public static void main(String[] args) {
        Settings settings;
        try {
            settings = Settings.fromEnvironment(System.getenv());
        } catch (RuntimeException e) {
            System.err.println("soak: " + e.getMessage());
            System.exit(2);
            return;
        }
        try {
            SoakVerdict verdict = new Soak(settings, System.out).run();
            System.exit(verdict.passed() ? 0 : 1);
        } catch (Exception e) {
            System.err.println("soak: could not measure: " + e);
            System.exit(2);
        }
    }

    /** What the proxy's /metrics and /proc say at one moment. */
    private record Probe(
            ProcessStats process,
            double heapUsed,
            double heapCommitted,
            double oldGen,
            long gcCount,
            double gcPauseMillis,
            double proxyErrors,
            double proxyNon2xx) {}

    private Probe probe() throws IOException, InterruptedException {
        ProcessStats process = ProcessStats.of(settings.pid());
        HttpResponse<String> response = http.send(
                HttpRequest.newBuilder(settings.metrics())
                        .timeout(Duration.ofSeconds(5))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() != 200) {
            throw new IOException(settings.metrics() + " answered " + response.statusCode());
        }
        PrometheusText m = PrometheusText.parse(response.body());
        for (String needed : List.of("jvm_memory_used_bytes", "roundhouse_requests_total")) {
            if (!m.has(needed)) {
                throw new IOException(settings.metrics() + " has no " + needed);
            }
        }
        return new Probe(
                process,
                m.sum("jvm_memory_used_bytes", l -> "heap".equals(l.get("area"))),
                m.sum("jvm_memory_committed_bytes", l -> "heap".equals(l.get("area"))),
                m.sum(
                        "jvm_memory_used_bytes",
                        l -> "heap".equals(l.get("area"))
                                && (l.getOrDefault("id", "").contains("Old")
                                        || l.getOrDefault("id", "").contains("Tenured"))),
                (long) m.sum("jvm_gc_pause_seconds_count", l -> !FORCED_CAUSES.contains(l.get("cause"))),
                m.sum("jvm_gc_pause_seconds_sum", l -> !FORCED_CAUSES.contains(l.get("cause"))) * 1000,
                m.sum("roundhouse_errors_total"),
                m.sum(
                        "roundhouse_requests_total",
                        l -> !l.getOrDefault("status", "200").startsWith("2")));
    }

    /** A full GC in the proxy (as {@code jcmd <pid> GC.run}); heap used right after it is what is still live. */
    private double forceGcAndMeasureLiveHeap() throws IOException, InterruptedException {
        Path jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd");
        Process p = new ProcessBuilder(
                        Files.isExecutable(jcmd) ? jcmd.toString() : "jcmd", Long.toString(settings.pid()), "GC.run")
                .redirectErrorStream(true)
                .start();
        String output = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IOException("jcmd " + settings.pid() + " GC.run failed: " + output.strip());
        }
        return probe().heapUsed();
    }

    SoakVerdict run() throws IOException, InterruptedException {
        Settings s = settings;
        double durationS = s.duration().toMillis() / 1000.0;
        long intervalNanos = s.interval().toNanos();
        int rows = (int) Math.ceil(s.duration().toNanos() / (double) intervalNanos);
        int gcRowA = s.forceGc() ? Math.max(1, (int) Math.round(rows / 3.0)) : -1;
        int gcRowB = s.forceGc() ? Math.max(1, (int) Math.round(2 * rows / 3.0)) : -1;
        long clockTick = 100; // USER_HZ on Linux, which /proc reports in

        out.printf(
                Locale.ROOT,
                "soak: %s at %.0f req/s over %d keep-alive connections for %s, sampled every %s; "
                        + "proxy pid %d, started %s%n",
                s.target(),
                s.rate(),
                s.connections(),
                Durations.format(s.duration()),
                Durations.format(s.interval()),
                s.pid(),
                Instant.now());
        Probe baseline = probe();
        List<SoakSample> samples = new ArrayList<>();
        samples.add(sample(
                0,
                0,
                PacedLoad.Counts.zero(),
                PacedLoad.Counts.zero(),
                baseline,
                baseline.heapUsed(),
                baseline,
                0,
                Double.NaN));
        printHeader();
        print(samples.get(0));

        PacedLoad load = new PacedLoad(
                s.target().getHost(),
                s.target().getPort(),
                s.target().getRawPath().isEmpty() ? "/" : s.target().getRawPath(),
                s.connections(),
                s.rate(),
                (int) s.requestTimeout().toMillis());
        long start = System.nanoTime();
        load.start(s.duration().toNanos());
        PacedLoad.Counts previous = PacedLoad.Counts.zero();
        int forcedGcs = 0;
        Probe previousProbe = baseline;
        long previousAt = start;
        double previousCpuTicks = baseline.process().cpuTicks();
        for (int row = 1; row <= rows; row++) {
            long due = start + Math.min(row * intervalNanos, s.duration().toNanos());
            // Heap used is a saw-tooth (a young GC every second or so): average it over probes every
            // HEAP_PROBE, rather than take one point per row.
            double heapSum = 0;
            int heapProbes = 0;
            for (long next = System.nanoTime() + HEAP_PROBE_NANOS; next < due; next += HEAP_PROBE_NANOS) {
                for (long wait = next - System.nanoTime(); wait > 0; wait = next - System.nanoTime()) {
                    TimeUnit.NANOSECONDS.sleep(wait);
                }
                heapSum += probe().heapUsed();
                heapProbes++;
            }
            for (long wait = due - System.nanoTime(); wait > 0; wait = due - System.nanoTime()) {
                TimeUnit.NANOSECONDS.sleep(wait);
            }
            if (row == rows) {
                load.await(); // the last answers are in
            }
            long now = System.nanoTime();
            PacedLoad.Counts counts = load.counts();
            Probe p = probe();
            double heapMean = (heapSum + p.heapUsed()) / (heapProbes + 1);
            double live = Double.NaN;
            if (row == gcRowA || row == gcRowB || (s.forceGc() && row == rows)) {
                live = forceGcAndMeasureLiveHeap();
                forcedGcs++;
            }
            double cpu = (p.process().cpuTicks() - previousCpuTicks) * 100.0 / clockTick / ((now - previousAt) / 1e9);
            SoakSample sample = sample(
                    (now - start) / 1e9,
                    (now - previousAt) / 1e9,
                    counts,
                    counts.minus(previous),
                    p,
                    heapMean,
                    baseline,
                    cpu,
                    live);
            samples.add(sample);
            print(sample);
            previous = counts;
            previousProbe = p;
            previousAt = now;
            previousCpuTicks = p.process().cpuTicks();
        }

        PacedLoad.Counts total = load.counts();
        Probe end = previousProbe;
        SoakVerdict verdict = SoakVerdict.of(samples, durationS, s.tolerance(), s.rssLimitBytes());
        out.println();
        out.printf(
                Locale.ROOT,
                "requests: %d sent in %.0f s (%.1f req/s; asked %.0f), latency from when each was due: "
                        + "p50 %.3f ms, p99 %.3f ms, p99.9 %.3f ms, max %.3f ms%n",
                total.requests(),
                durationS,
                total.requests() / durationS,
                s.rate(),
                total.latency().percentile(50) / 1000.0,
                total.latency().percentile(99) / 1000.0,
                total.latency().percentile(99.9) / 1000.0,
                total.latency().percentile(100) / 1000.0);
        out.printf(
                Locale.ROOT,
                "service time (from when each was sent): p50 %.3f ms, p99 %.3f ms, p99.9 %.3f ms, " + "max %.3f ms%n",
                total.service().percentile(50) / 1000.0,
                total.service().percentile(99) / 1000.0,
                total.service().percentile(99.9) / 1000.0,
                total.service().percentile(100) / 1000.0);
        out.printf(
                Locale.ROOT,
                "errors: generator non-2xx %d, socket %d, timeouts %d, reconnects %d; proxy "
                        + "roundhouse_errors_total +%.0f, non-2xx answers +%.0f%s%n",
                total.non2xx(),
                total.socketErrors(),
                total.timeouts(),
                total.reconnects(),
                end.proxyErrors() - baseline.proxyErrors(),
                end.proxyNon2xx() - baseline.proxyNon2xx(),
                load.lastError() == null ? "" : "; last error: " + load.lastError());
        out.printf(
                Locale.ROOT,
                "gc: %d pauses, %.0f ms in total (%.3f %% of the run), not counting %d forced " + "full GCs%n",
                end.gcCount() - baseline.gcCount(),
                end.gcPauseMillis() - baseline.gcPauseMillis(),
                (end.gcPauseMillis() - baseline.gcPauseMillis()) / (durationS * 10),
                forcedGcs);
        out.println();
        for (SoakVerdict.Check c : verdict.checks()) {
            out.printf(Locale.ROOT, "%-16s %s  %s%n", c.name(), c.passed() ? "PASS" : "FAIL", c.detail());
        }
        SoakSample last = samples.get(samples.size() - 1);
        out.printf(
                Locale.ROOT,
                "RESULT soak verdict=%s duration=%s rate=%.0f connections=%d requests=%d errors=%d "
                        + "p99_ms=%.3f service_p99_ms=%.3f rss_max_mib=%.1f rss_end_mib=%.1f live_heap_end_mib=%.1f gc_pauses=%d "
                        + "gc_pause_ms=%.0f fds_end=%d%n",
                verdict.passed() ? "PASS" : "FAIL",
                Durations.format(s.duration()),
                s.rate(),
                s.connections(),
                total.requests(),
                last.errorsSoFar(),
                total.latency().percentile(99) / 1000.0,
                total.service().percentile(99) / 1000.0,
                samples.stream().mapToLong(SoakSample::rssBytes).max().orElse(0) / 1048576.0,
                last.rssBytes() / 1048576.0,
                last.liveHeapBytes() / 1048576.0,
                last.gcCount(),
                last.gcPauseMillis(),
                last.openFds());
        return verdict;
    }

    private static SoakSample sample(
            double seconds,
            double intervalS,
            PacedLoad.Counts total,
            PacedLoad.Counts window,
            Probe p,
            double heapMean,
            Probe baseline,
            double cpu,
            double live) {
        long errors = total.errors() + Math.round(p.proxyErrors() - baseline.proxyErrors());
        return new SoakSample(
                seconds,
                intervalS > 0 ? window.requests() / intervalS : 0,
                window.latency().percentile(50),
                window.latency().percentile(99),
                window.service().percentile(99),
                window.latency().percentile(100),
                total.requests(),
                errors,
                p.process().rssBytes(),
                heapMean,
                p.heapCommitted(),
                p.oldGen(),
                live,
                p.gcCount() - baseline.gcCount(),
                p.gcPauseMillis() - baseline.gcPauseMillis(),
                p.process().openFds(),
                p.process().threads(),
                cpu,
                loadAverage());
    }

    private static double loadAverage() {
        try {
            return Double.parseDouble(Files.readString(Path.of("/proc/loadavg")).split("\\s+")[0]);
        } catch (IOException | RuntimeException e) {
            return Double.NaN;
        }
    }

    private void printHeader() {
        out.printf(
                Locale.ROOT,
                "%6s %8s %8s %8s %8s %8s %9s %7s %8s %8s %8s %8s %8s %6s %8s %5s %7s %5s %5s%n",
                "t_s",
                "req/s",
                "p50_ms",
                "p99_ms",
                "svc_p99",
                "max_ms",
                "requests",
                "errors",
                "rss_MiB",
                "heap_avg",
                "hcomm_MiB",
                "old_MiB",
                "live_MiB",
                "gc_n",
                "gc_ms",
                "fds",
                "threads",
                "cpu%",
                "load1");
    }

    private void print(SoakSample s) {
        out.printf(
                Locale.ROOT,
                "%6.0f %8.0f %8s %8s %8s %8s %9d %7d %8.1f %8.1f %9.1f %8.1f %8s %6d %8.0f %5d %7d %5.1f %5.2f%n",
                s.seconds(),
                s.requestsPerSecond(),
                ms(s.p50Micros()),
                ms(s.p99Micros()),
                ms(s.serviceP99Micros()),
                ms(s.maxMicros()),
                s.requestsSoFar(),
                s.errorsSoFar(),
                s.rssBytes() / 1048576.0,
                s.heapUsedBytes() / 1048576.0,
                s.heapCommittedBytes() / 1048576.0,
                s.oldGenUsedBytes() / 1048576.0,
                Double.isNaN(s.liveHeapBytes())
                        ? "-"
                        : String.format(Locale.ROOT, "%.1f", s.liveHeapBytes() / 1048576.0),
                s.gcCount(),
                s.gcPauseMillis(),
                s.openFds(),
                s.threads(),
                s.cpuPercent(),
                s.loadAverage());
        out.flush();
    }

    private static String ms(long micros) {
        return micros < 0 ? "-" : String.format(Locale.ROOT, "%.2f", micros / 1000.0);
    }
}
