package dev.roundhouse.e2e.bench.load;

import java.time.Duration;
import java.util.Set;

/**
 * A small open-loop HTTP load generator: a fixed total rate over N keep-alive connections, each request sent at its
 * due time and its latency measured from that due time (free of coordinated omission, as wrk2 is).
 *
 * <pre>
 * java -cp e2e/target/roundhouse-local.jar dev.roundhouse.e2e.bench.load.FixedRate \
 *     --url http://127.0.0.1:8080/ --connections 64 --rate 5000 --duration 13s --warmup 3s
 * </pre>
 *
 * Options: {@code --url} (required), {@code --connections} (64), {@code --rate} req/s in total (2000),
 * {@code --duration} including the warm-up (13s), {@code --warmup} (3s, sent but not counted), {@code --timeout}
 * per connect and per response (2s), {@code --backend-header} (X-Backend: counted per value), {@code --label}
 * (added to the RESULT line). Prints a short report and one {@code RESULT ...} line of key=value pairs. Exit code
 * 0 even when requests failed (the numbers say so); 2 on bad arguments.
 */
public final class FixedRate {

    private FixedRate() {
    }

    public static void main(String[] argv) throws Exception {
        LoadOptions options;
        String label;
        try {
            Args args = new Args(argv);
            args.allowOnly(Set.of("url", "connections", "rate", "duration", "warmup", "timeout", "backend-header", "label"));
            options = LoadOptions.from(args, Duration.ofSeconds(13), false);
            label = args.string("label", "-");
        } catch (IllegalArgumentException e) {
            System.err.println("FixedRate: " + e.getMessage());
            System.exit(2);
            return;
        }
        LoadRun run = new LoadRun(options, new BackendIds());
        System.out.println("fixed-rate: " + options.describe());
        run.start();
        LoadResult result = run.await();
        System.out.print(result.report());
        if (result.lag().percentile(99) > 1_000_000L) {
            System.out.println("WARNING: the generator's own send lag p99 is over 1 ms: it (or the machine) could not keep the "
                    + "schedule; part of the latency above is the generator's");
        }
        System.out.println("RESULT label=" + label + " " + result.resultFields());
    }
}
