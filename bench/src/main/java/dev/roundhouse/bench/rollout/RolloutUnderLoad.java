package dev.roundhouse.bench.rollout;

import dev.roundhouse.bench.load.Args;
import dev.roundhouse.bench.load.BackendIds;
import dev.roundhouse.bench.load.LoadOptions;
import dev.roundhouse.bench.load.LoadResult;
import dev.roundhouse.bench.load.LoadRun;
import dev.roundhouse.bench.load.Outcome;
import dev.roundhouse.e2e.demo.DemoBackends;
import dev.roundhouse.e2e.local.LocalCluster;
import dev.roundhouse.e2e.local.LocalKubelet;
import dev.roundhouse.operator.api.v1alpha1.LoadBalancer;
import dev.roundhouse.operator.model.Names;
import dev.roundhouse.poolformat.Durations;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Supplier;

/**
 * Rollouts under load: fixed-rate keep-alive traffic to a LoadBalancer's Service port in the local mode (embedded
 * API server, the operator, the local kubelet) while its proxies are replaced {@code --rollouts} times, the way a
 * Deployment replaces them: each change of {@code spec.podTemplate.annotations} rolls the Deployment, the local
 * kubelet starts the new proxy, sends the old one SIGTERM once the new one is ready, and for {@code --endpoint-lag}
 * after that SIGTERM still sends new connections to the old one, as kube-proxy and cloud load balancers do until they
 * hear that the endpoint is terminating.
 *
 * <p>Modes ({@code --modes}, run interleaved in each of {@code --rounds}): {@code shutdown-delay} (the proxies as the
 * operator configures them: {@code SHUTDOWN_DELAY} 5 s, serving and accepting while it reports not ready) and
 * {@code no-delay} (the earlier behaviour: {@code SHUTDOWN_DELAY=0s}, the listener closed at SIGTERM).
 *
 * <p>Counts, per run: failed requests (any outcome but a 2xx/3xx response) and refused connections (connections to
 * the Service port whose endpoint refused them), and prints one {@code RESULT} line per run and a table of medians.
 * Exit code 0 when every run of {@code shutdown-delay} had no failed request and no refused connection, 1 otherwise.
 */
public final class RolloutUnderLoad {

    private static final String NAMESPACE = "default";
    private static final String NAME = "bench";
    private static final Duration WAIT = Duration.ofSeconds(60);
    private static final Map<String, Map<String, String>> MODES = new LinkedHashMap<>();

    static {
        MODES.put("shutdown-delay", Map.of());
        MODES.put("no-delay", Map.of("SHUTDOWN_DELAY", "0s"));
    }

    private RolloutUnderLoad() {}

    /** One run's numbers. */
    record Run(String mode, int round, int rollouts, LoadResult load, long refused) {

        long failed() {
            return load.failed();
        }

        String resultLine() {
            return String.format(
                    Locale.ROOT,
                    "RESULT mode=%s round=%d rollouts=%d requests=%d failed=%d refused=%d %s",
                    mode,
                    round,
                    rollouts,
                    load.scheduled(),
                    failed(),
                    refused,
                    load.resultFields());
        }
    }

    public static void main(String[] argv) throws Exception {
        try {
            System.exit(run(new Args(argv)));
        } catch (IllegalArgumentException e) {
            System.err.println("RolloutUnderLoad: " + e.getMessage());
            System.exit(2);
        }
    }

    static int run(Args args) throws Exception {
        args.allowOnly(Set.of(
                "modes",
                "rounds",
                "rollouts",
                "every",
                "rate",
                "connections",
                "endpoint-lag",
                "warmup",
                "timeout",
                "work-dir"));
        List<String> modes =
                List.of(args.string("modes", String.join(",", MODES.keySet())).split(","));
        for (String mode : modes) {
            if (!MODES.containsKey(mode)) {
                throw new IllegalArgumentException("unknown mode '" + mode + "' (known: " + MODES.keySet() + ")");
            }
        }
        int rounds = args.integer("rounds", 3);
        int rollouts = args.integer("rollouts", 5);
        Duration every = args.duration("every", Duration.ofSeconds(12));
        double rate = args.decimal("rate", 500);
        int connections = args.integer("connections", 16);
        Duration lag = args.duration("endpoint-lag", LocalKubelet.DEFAULT_ENDPOINT_LAG);
        Duration warmup = args.duration("warmup", Duration.ofSeconds(3));
        Duration timeout = args.duration("timeout", Duration.ofSeconds(2));
        Path workDir = Path.of(args.string(
                "work-dir", Files.createTempDirectory("rollout-bench").toString()));
        if (rounds < 1 || rollouts < 1) {
            throw new IllegalArgumentException("--rounds and --rollouts must be at least 1");
        }
        System.out.printf(
                Locale.ROOT,
                "rollout under load: %d rollouts every %s, %s req/s over %d keep-alive "
                        + "connections, endpoint lag %s, %d round(s) of %s; logs in %s%n",
                rollouts,
                Durations.format(every),
                rate,
                connections,
                Durations.format(lag),
                rounds,
                modes,
                workDir);

        DemoBackends demo = DemoBackends.start(List.of(0, 0));
        List<DemoBackends.Backend> backends = demo.backends();
        List<Run> runs = new ArrayList<>();
        try {
            for (int round = 1; round <= rounds; round++) {
                for (String mode : modes) {
                    Path dir = Files.createDirectories(workDir.resolve(mode + "-" + round));
                    Run run = runOnce(
                            mode, round, dir, backends, rollouts, every, rate, connections, lag, warmup, timeout);
                    System.out.print(run.load().report());
                    System.out.println(run.resultLine());
                    runs.add(run);
                }
            }
        } finally {
            demo.close();
        }
        System.out.println();
        System.out.println(table(modes, runs));
        boolean clean = runs.stream()
                .filter(r -> r.mode().equals("shutdown-delay"))
                .allMatch(r -> r.failed() == 0 && r.refused() == 0);
        return clean ? 0 : 1;
    }

    private static Run runOnce(
            String mode,
            int round,
            Path dir,
            List<DemoBackends.Backend> backends,
            int rollouts,
            Duration every,
            double rate,
            int connections,
            Duration lag,
            Duration warmup,
            Duration timeout)
            throws Exception {
        System.out.printf(Locale.ROOT, "%n== %s, round %d%n", mode, round);
        int port = LocalKubelet.freePort();
        LocalCluster.Options options = new LocalCluster.Options(dir, 0, 0, LocalKubelet.PortPolicy.DECLARED)
                .withEndpointLag(lag)
                .withProxyEnvironment(MODES.get(mode));
        try (LocalCluster cluster = LocalCluster.start(options)) {
            KubernetesClient client = cluster.client();
            LoadBalancer lb = client.resources(LoadBalancer.class)
                    .inNamespace(NAMESPACE)
                    .load(new java.io.ByteArrayInputStream(
                            loadBalancer(port, backends).getBytes(java.nio.charset.StandardCharsets.UTF_8)))
                    .create();
            String deployment = Names.deployment(lb);
            LocalKubelet.RunningProxy first = await(
                    "the first proxy serving on :" + port,
                    () -> cluster.kubelet()
                            .proxy(NAMESPACE, deployment)
                            .filter(p -> p.ready() && p.servicePort() == port));

            Duration duration = warmup.plus(every.multipliedBy(rollouts)).plus(Duration.ofSeconds(2));
            LoadRun load = new LoadRun(
                    new LoadOptions(
                            URI.create("http://127.0.0.1:" + port + "/"),
                            connections,
                            rate,
                            duration,
                            warmup,
                            timeout,
                            null,
                            false),
                    new BackendIds());
            load.start();
            long previousPid = first.pid();
            for (int i = 1; i <= rollouts; i++) {
                long due = load.startNanos()
                        + warmup.toNanos()
                        + every.multipliedBy(i - 1).toNanos()
                        + Duration.ofSeconds(1).toNanos();
                sleepUntil(due);
                String value = Integer.toString(i);
                client.resources(LoadBalancer.class)
                        .inNamespace(NAMESPACE)
                        .withName(NAME)
                        .patch(
                                PatchContext.of(PatchType.JSON_MERGE),
                                "{\"spec\":{\"podTemplate\":{\"annotations\":{\"bench.roundhouse.dev/rollout\":\""
                                        + value + "\"}}}}");
                long old = previousPid;
                Instant started = Instant.now();
                LocalKubelet.RunningProxy next = await(
                        "rollout " + i + ": the new proxy serving, the old one gone",
                        () -> cluster.kubelet()
                                .proxy(NAMESPACE, deployment)
                                .filter(p -> p.pid() != old
                                        && p.ready()
                                        && p.servicePort() == port
                                        && ProcessHandle.of(old)
                                                .map(h -> !h.isAlive())
                                                .orElse(true)));
                System.out.printf(
                        Locale.ROOT,
                        "rollout %d: pid %d -> %d in %d ms%n",
                        i,
                        old,
                        next.pid(),
                        Duration.between(started, Instant.now()).toMillis());
                previousPid = next.pid();
            }
            LoadResult result = load.await();
            return new Run(mode, round, rollouts, result, cluster.kubelet().refusedConnections(NAMESPACE, deployment));
        }
    }

    private static String loadBalancer(int port, List<DemoBackends.Backend> backends) {
        StringBuilder yaml = new StringBuilder("""
                apiVersion: roundhouse.dev/v1alpha1
                kind: LoadBalancer
                metadata:
                  name: %s
                spec:
                  port: %d
                  healthCheck:
                    path: /healthz
                  backends:
                """.formatted(NAME, port));
        for (DemoBackends.Backend backend : backends) {
            yaml.append("    - url: http://127.0.0.1:").append(backend.port()).append('\n');
        }
        return yaml.toString();
    }

    /** Medians per mode over the rounds. */
    static String table(List<String> modes, List<Run> runs) {
        StringBuilder sb = new StringBuilder(String.format(
                Locale.ROOT,
                "%-16s %6s %9s %12s %12s %18s %10s%n",
                "mode",
                "rounds",
                "rollouts",
                "failed req",
                "refused conn",
                "failed by outcome",
                "p99 ms"));
        for (String mode : modes) {
            List<Run> of = runs.stream().filter(r -> r.mode().equals(mode)).toList();
            if (of.isEmpty()) {
                continue;
            }
            Map<String, Long> byOutcome = new LinkedHashMap<>();
            for (Outcome o : Outcome.values()) {
                if (o.failed()) {
                    long median = median(of.stream()
                                    .map(r -> (double) r.load().count(o))
                                    .toList())
                            .longValue();
                    if (median > 0) {
                        byOutcome.put(o.label(), median);
                    }
                }
            }
            sb.append(String.format(
                    Locale.ROOT,
                    "%-16s %6d %9d %12s %12s %18s %10.2f%n",
                    mode,
                    of.size(),
                    of.get(0).rollouts(),
                    range(of, r -> (double) r.failed()),
                    range(of, r -> (double) r.refused()),
                    byOutcome.isEmpty() ? "-" : byOutcome.toString(),
                    median(of.stream()
                            .map(r -> r.load().latency().percentile(99) / 1e6)
                            .toList())));
        }
        return sb.append("(failed and refused: median [min-max] over the rounds; p99 from each request's due time)")
                .toString();
    }

    private static String range(List<Run> runs, java.util.function.ToDoubleFunction<Run> value) {
        List<Double> values = runs.stream().map(value::applyAsDouble).toList();
        return String.format(
                Locale.ROOT,
                "%.0f [%.0f-%.0f]",
                median(values),
                values.stream().mapToDouble(Double::doubleValue).min().orElse(0),
                values.stream().mapToDouble(Double::doubleValue).max().orElse(0));
    }

    static Double median(List<Double> values) {
        List<Double> sorted = values.stream().sorted().toList();
        int n = sorted.size();
        return n == 0 ? 0.0 : n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
    }

    private static <T> T await(String what, Supplier<Optional<T>> probe) throws InterruptedException {
        Instant deadline = Instant.now().plus(WAIT);
        while (Instant.now().isBefore(deadline)) {
            Optional<T> value = probe.get();
            if (value.isPresent()) {
                return value.get();
            }
            Thread.sleep(50); // polling with a deadline
        }
        throw new IllegalStateException("timed out after " + Durations.format(WAIT) + " waiting for " + what);
    }

    private static void sleepUntil(long nanoTime) throws InterruptedException {
        long left;
        while ((left = nanoTime - System.nanoTime()) > 0) {
            Thread.sleep(Math.max(1, left / 1_000_000));
        }
    }
}
