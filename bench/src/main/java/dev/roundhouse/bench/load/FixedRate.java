package dev.roundhouse.bench.load;

import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Set;

/**
 * A small open-loop HTTP load generator: a fixed total rate over N keep-alive connections, each request sent at its
 * due time and its latency measured from that due time (free of coordinated omission, as wrk2 is).
 *
 * <pre>
 * java -cp e2e/target/roundhouse-local.jar dev.roundhouse.bench.load.FixedRate \
 *     --url http://127.0.0.1:8080/ --connections 64 --rate 5000 --duration 13s --warmup 3s
 * </pre>
 *
 * Options: {@code --url} (required), {@code --connections} (64), {@code --rate} req/s in total (2000),
 * {@code --duration} including the warm-up (13s), {@code --warmup} (3s, sent but not counted), {@code --timeout}
 * per connect and per response (2s), {@code --backend-header} (X-Backend: counted per value), {@code --label}
 * (added to the RESULT line), {@code --events FILE} (every request, warm-up included, one line each: see
 * {@link #writeEvents}). Prints a short report and one {@code RESULT ...} line of key=value pairs. Exit code 0 even
 * when requests failed (the numbers say so); 2 on bad arguments.
 */
public final class FixedRate {

    private FixedRate() {}

    public static void main(String[] argv) throws Exception {
        LoadOptions options;
        String label;
        Path events;
        try {
            Args args = new Args(argv);
            args.allowOnly(Set.of(
                    "url",
                    "connections",
                    "rate",
                    "duration",
                    "warmup",
                    "timeout",
                    "backend-header",
                    "label",
                    "events"));
            events = args.has("events") ? Path.of(args.required("events")) : null;
            options = LoadOptions.from(args, Duration.ofSeconds(13), events != null);
            label = args.string("label", "-");
        } catch (IllegalArgumentException e) {
            System.err.println("FixedRate: " + e.getMessage());
            System.exit(2);
            return;
        }
        LoadRun run = new LoadRun(options, new BackendIds());
        System.out.println("fixed-rate: " + options.describe());
        run.start();
        // the wall-clock time of the schedule's time 0, for lining events up with logs stamped in wall-clock time
        Instant wallAtStart = Instant.now().plusNanos(run.startNanos() - System.nanoTime());
        LoadResult result = run.await();
        if (events != null) {
            writeEvents(result.events(), run.startNanos(), wallAtStart, options.warmup(), events);
        }
        System.out.print(result.report());
        if (result.lag().percentile(99) > 1_000_000L) {
            System.out.println(
                    "WARNING: the generator's own send lag p99 is over 1 ms: it (or the machine) could not keep the "
                            + "schedule; part of the latency above is the generator's");
        }
        System.out.println("RESULT label=" + label + " " + result.resultFields());
    }

    /**
     * Writes every request, sorted by due time, one line each: connection, due, sent and done in nanoseconds after the
     * schedule's time 0 (-1 for never sent), latency from due time in microseconds, and the outcome. The header lines
     * (starting with {@code #}) give time 0 as {@link System#nanoTime()}, which on Linux is CLOCK_MONOTONIC as
     * {@code perf record -k CLOCK_MONOTONIC} stamps its samples, and as wall-clock time for JVM and proxy logs.
     */
    static void writeEvents(List<RequestEvent> events, long startNanos, Instant wallAtStart, Duration warmup, Path file)
            throws IOException {
        try (BufferedWriter w = Files.newBufferedWriter(file, StandardCharsets.US_ASCII)) {
            w.write("# time 0: nanoTime " + startNanos + ", wall clock " + wallAtStart + "; requests due in the first "
                    + warmup.toMillis() + " ms are the warm-up\n");
            w.write("# connection due_ns sent_ns done_ns latency_us outcome\n");
            StringBuilder line = new StringBuilder(64);
            for (RequestEvent e : events) {
                line.setLength(0);
                line.append(e.connection())
                        .append(' ')
                        .append(e.due())
                        .append(' ')
                        .append(e.sent())
                        .append(' ')
                        .append(e.done())
                        .append(' ')
                        .append(e.sent() < 0 ? -1 : e.latency() / 1000)
                        .append(' ')
                        .append(e.outcome().label())
                        .append('\n');
                w.write(line.toString());
            }
        }
    }
}
