package dev.roundhouse.bench.reload;

import dev.roundhouse.bench.load.Args;
import dev.roundhouse.bench.load.BackendIds;
import dev.roundhouse.bench.load.LoadOptions;
import dev.roundhouse.bench.load.LoadResult;
import dev.roundhouse.bench.load.LoadRun;
import dev.roundhouse.bench.load.RequestEvent;
import dev.roundhouse.bench.stats.Percentiles;
import dev.roundhouse.poolformat.Durations;
import java.io.BufferedWriter;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Collectors;

/**
 * Fixed-rate keep-alive load while the target's pool changes {@code --changes} times, every {@code --interval},
 * alternating between the pools of {@code --pools} (e.g. {@code b1,b2;b1,b2,b3}). The backends answer with a header
 * naming themselves ({@code --backend-header}, default X-Backend), so the client sees when a change took effect.
 *
 * <p>Modes ({@code --mode}): {@code file} (rewrite {@code --pool-file} atomically; Roundhouse's POOL_FILE),
 * {@code configmap} (update {@code --configmap ns/name} through {@code --kubeconfig}; Roundhouse's POOL_CONFIGMAP),
 * {@code command} (run {@code --command '... {pool} ...'}: nginx/HAProxy config rewrite and reload),
 * {@code haproxy-runtime} (HAProxy Runtime API on {@code --socket}, backend {@code --haproxy-backend}).
 * {@code --no-changes} runs the same schedule without changing anything: the baseline.
 * {@code --events-out FILE} writes every change and request with its times, for analysis outside the driver.
 * {@code --write-initial} (file mode) writes the first pool's document and exits.
 *
 * <p>Prints a report and a {@code RESULT} line: failed requests, connections the server closed, latency percentiles
 * over the measured window (warm-up excluded), and reload latencies (see {@link ReloadAnalysis}).
 */
public final class ReloadUnderLoad {

    private ReloadUnderLoad() {}

    public static void main(String[] argv) throws Exception {
        try {
            System.exit(run(new Args(argv)));
        } catch (IllegalArgumentException e) {
            System.err.println("ReloadUnderLoad: " + e.getMessage());
            System.exit(2);
        }
    }

    static int run(Args args) throws Exception {
        args.allowOnly(Set.of(
                "url",
                "connections",
                "rate",
                "warmup",
                "timeout",
                "backend-header",
                "changes",
                "interval",
                "settle",
                "pools",
                "backend",
                "mode",
                "pool-file",
                "kubeconfig",
                "configmap",
                "command",
                "socket",
                "haproxy-backend",
                "label",
                "no-changes",
                "write-initial",
                "metrics-url",
                "events-out"));
        List<List<String>> pools = parsePools(args.string("pools", "b1,b2;b1,b2,b3"));
        Map<String, String> urls = new LinkedHashMap<>();
        for (String b : args.all("backend")) {
            String[] kv = b.split("=", 2);
            if (kv.length != 2) {
                throw new IllegalArgumentException("--backend must be NAME=URL, got '" + b + "'");
            }
            urls.put(kv[0], kv[1]);
        }
        String mode = args.required("mode");
        if (args.flag("write-initial")) {
            if (!mode.equals("file")) {
                throw new IllegalArgumentException("--write-initial is for --mode file");
            }
            PoolDocuments.writeAtomically(Path.of(args.required("pool-file")), PoolDocuments.text(pools.get(0), urls));
            return 0;
        }
        int changes = args.integer("changes", 100);
        Duration interval = args.duration("interval", Duration.ofMillis(500));
        Duration settle = args.duration("settle", Duration.ofSeconds(2));
        boolean noChanges = args.flag("no-changes");
        Duration warmup = args.duration("warmup", Duration.ofSeconds(3));
        Duration duration = warmup.plus(interval.multipliedBy(changes)).plus(settle);
        LoadOptions options = LoadOptions.from(args, duration, true);
        String label = args.string("label", mode);

        BackendIds ids = new BackendIds();
        pools.stream().flatMap(List::stream).forEach(ids::id); // stable ids, whatever answers first

        // render every document once, so that the first timed change does not load and compile the codec
        if (mode.equals("file") || mode.equals("configmap")) {
            pools.forEach(p -> PoolDocuments.text(p, urls));
        }
        try (PoolChanger changer = noChanges ? null : changer(mode, args, urls, pools.get(0))) {
            System.out.println("reload-under-load [" + label + "]: " + options.describe());
            System.out.println(
                    noChanges
                            ? "no changes (baseline): same schedule, pool stays " + pools.get(0)
                            : changes + " changes every " + Durations.format(interval) + ", pools " + pools + ", via "
                                    + changer.describe());
            LoadRun run = new LoadRun(options, ids);
            run.start();
            long t0 = run.startNanos();
            List<ReloadAnalysis.Change> done = new ArrayList<>();
            int changeErrors = 0;
            String firstError = null;
            if (!noChanges) {
                for (int i = 1; i <= changes; i++) {
                    long at = t0 + warmup.toNanos() + interval.toNanos() * (i - 1) + interval.toNanos() / 2;
                    for (long now = System.nanoTime(); now < at; now = System.nanoTime()) {
                        LockSupport.parkNanos(at - now);
                    }
                    List<String> before = pools.get((i - 1) % pools.size());
                    List<String> after = pools.get(i % pools.size());
                    long start = System.nanoTime() - t0;
                    String error = null;
                    try {
                        changer.apply(after);
                    } catch (Exception e) {
                        error = e.toString();
                        changeErrors++;
                        if (firstError == null) {
                            firstError = error;
                        }
                    }
                    long end = System.nanoTime() - t0;
                    done.add(new ReloadAnalysis.Change(start, end, idSet(ids, before), idSet(ids, after), error));
                }
            }
            LoadResult result = run.await();
            System.out.print(result.report());
            if (args.has("events-out")) {
                writeEvents(Path.of(args.string("events-out", null)), t0, result.events(), done);
            }
            String extra = "";
            if (!noChanges) {
                ReloadAnalysis.Result r = ReloadAnalysis.analyze(result.events(), done, duration.toNanos());
                double[] apply = done.stream()
                        .mapToDouble(c -> (c.end() - c.start()) / 1e6)
                        .toArray();
                System.out.println("reload latency, added backend (write -> its first response), ms:      "
                        + Percentiles.summaryMs(r.addMs())
                        + (r.addMissing() > 0 ? ", never answered before the next change: " + r.addMissing() : ""));
                System.out.println("reload latency, removed backend (write -> last request it got), ms:  "
                        + Percentiles.summaryMs(r.removeMs()));
                System.out.println("write/command time (until the change call returned), ms:           "
                        + Percentiles.summaryMs(apply));
                long window = Math.min(interval.toNanos() / 2, 250_000_000L);
                ReloadAnalysis.NearFar nf = ReloadAnalysis.nearFar(result.events(), done, warmup.toNanos(), window);
                System.out.println("latency of requests due within " + window / 1_000_000 + " ms after a change, ms:  "
                        + LoadResult.percentiles(nf.near()));
                System.out.println(
                        "latency of the other requests (after the warm-up), ms:  " + LoadResult.percentiles(nf.far()));
                System.out.println(
                        "service time (from the send) near a change, ms:  " + LoadResult.percentiles(nf.nearService()));
                System.out.println(
                        "service time (from the send) of the others, ms: " + LoadResult.percentiles(nf.farService()));
                System.out.println(
                        "change errors: " + changeErrors + (firstError == null ? "" : " (first: " + firstError + ")"));
                extra = String.format(
                                Locale.ROOT,
                                " near_p99=%.3f far_p99=%.3f near_svc_p99=%.3f far_svc_p99=%.3f",
                                nf.near().percentile(99) / 1e6,
                                nf.far().percentile(99) / 1e6,
                                nf.nearService().percentile(99) / 1e6,
                                nf.farService().percentile(99) / 1e6)
                        + String.format(
                                Locale.ROOT,
                                " add_p50=%.1f add_p99=%.1f add_max=%.1f add_missing=%d rm_p50=%.1f rm_p99=%.1f rm_max=%.1f apply_p50=%.1f apply_p99=%.1f change_errors=%d",
                                Percentiles.of(r.addMs(), 50),
                                Percentiles.of(r.addMs(), 99),
                                Percentiles.of(r.addMs(), 100),
                                r.addMissing(),
                                Percentiles.of(r.removeMs(), 50),
                                Percentiles.of(r.removeMs(), 99),
                                Percentiles.of(r.removeMs(), 100),
                                Percentiles.of(apply, 50),
                                Percentiles.of(apply, 99),
                                changeErrors);
            }
            if (args.has("metrics-url")) {
                System.out.println("proxy metrics: " + reloadCounters(args.string("metrics-url", null)));
            }
            if (result.lag().percentile(99) > 1_000_000L) {
                System.out.println(
                        "WARNING: the generator's own send lag p99 is over 1 ms; part of the latency is the generator's or the machine's");
            }
            System.out.println("RESULT label=" + label + " changes=" + (noChanges ? 0 : changes) + " "
                    + result.resultFields() + extra);
        }
        return 0;
    }

    static List<List<String>> parsePools(String spec) {
        List<List<String>> pools = new ArrayList<>();
        for (String p : spec.split(";")) {
            List<String> names = Arrays.stream(p.split(","))
                    .map(String::strip)
                    .filter(s -> !s.isEmpty())
                    .toList();
            if (names.isEmpty()) {
                throw new IllegalArgumentException("--pools: empty pool in '" + spec + "'");
            }
            pools.add(names);
        }
        if (pools.size() < 2) {
            throw new IllegalArgumentException("--pools needs at least two pools separated by ';', got '" + spec + "'");
        }
        return pools;
    }

    private static Set<Integer> idSet(BackendIds ids, List<String> names) {
        Set<Integer> set = new LinkedHashSet<>();
        names.forEach(n -> set.add(ids.id(n)));
        return set;
    }

    /**
     * Every change and request of the run, for analysis outside the driver (e.g. latency by second of the run):
     * {@code s <start>} (the run's start, {@link System#nanoTime()}: CLOCK_MONOTONIC on Linux, to line it up with
     * {@code perf record -k CLOCK_MONOTONIC}), then {@code c <start> <end>} per change, then
     * {@code r <due> <sent> <done> <backend>} per request, in ns after the run's start.
     */
    private static void writeEvents(
            Path file, long start, List<RequestEvent> events, List<ReloadAnalysis.Change> changes) throws IOException {
        try (BufferedWriter out = Files.newBufferedWriter(file)) {
            out.write("s " + start + "\n");
            for (ReloadAnalysis.Change c : changes) {
                out.write("c " + c.start() + " " + c.end() + "\n");
            }
            for (RequestEvent e : events) {
                out.write("r " + e.due() + " " + e.sent() + " " + e.done() + " " + e.backend() + "\n");
            }
        }
    }

    private static PoolChanger changer(String mode, Args args, Map<String, String> urls, List<String> initial)
            throws Exception {
        return switch (mode) {
            case "file" -> new FilePoolChanger(Path.of(args.required("pool-file")), urls);
            case "configmap" -> {
                String[] ref = args.required("configmap").split("/", 2);
                if (ref.length != 2) {
                    throw new IllegalArgumentException("--configmap must be NAMESPACE/NAME");
                }
                yield new ConfigMapPoolChanger(Path.of(args.required("kubeconfig")), ref[0], ref[1], urls);
            }
            case "command" -> new CommandPoolChanger(args.required("command"));
            case "haproxy-runtime" ->
                new HaproxyRuntimeChanger(
                        Path.of(args.required("socket")), args.string("haproxy-backend", "be"), initial);
            default ->
                throw new IllegalArgumentException(
                        "unknown --mode " + mode + " (file, configmap, command, haproxy-runtime)");
        };
    }

    /** The proxy's reload counters and config hash, from its Prometheus endpoint. */
    private static String reloadCounters(String url) {
        try {
            HttpClient http = HttpClient.newHttpClient();
            String body = http.send(
                            HttpRequest.newBuilder(URI.create(url))
                                    .timeout(Duration.ofSeconds(5))
                                    .build(),
                            HttpResponse.BodyHandlers.ofString())
                    .body();
            return body.lines()
                    .filter(l ->
                            l.startsWith("roundhouse_config_reloads_total") || l.startsWith("roundhouse_backends "))
                    .collect(Collectors.joining("; "));
        } catch (IOException | InterruptedException e) {
            return "unavailable (" + e + ")";
        }
    }
}
