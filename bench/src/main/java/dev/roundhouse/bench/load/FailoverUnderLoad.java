package dev.roundhouse.bench.load;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * Fixed-rate load while one backend is killed and later restarted (by shell commands, at fixed times). Reports
 * what the client saw (failed requests, latency around the kill, when the backend served again) and, when given a
 * way to ask, what the proxy said (Roundhouse's metrics: healthy backends, the victim's breaker and failed
 * attempts; HAProxy's server status), polled every {@code --poll}.
 *
 * <pre>
 * java -cp e2e/target/roundhouse-local.jar dev.roundhouse.bench.load.FailoverUnderLoad \
 *     --url http://127.0.0.1:8080/ --rate 2000 --duration 30s --victim b3 \
 *     --kill-at 10s --kill-cmd 'kill -KILL $(cat /tmp/b3.pid)' --restart-at 20s --restart-cmd 'nginx -c ...' \
 *     [--metrics-url http://127.0.0.1:9090/metrics --victim-url http://127.0.0.1:3003] \
 *     [--haproxy-socket /tmp/admin.sock --haproxy-server be/b3]
 * </pre>
 */
public final class FailoverUnderLoad {

    private FailoverUnderLoad() {}

    public static void main(String[] argv) throws Exception {
        try {
            System.exit(run(new Args(argv)));
        } catch (IllegalArgumentException e) {
            System.err.println("FailoverUnderLoad: " + e.getMessage());
            System.exit(2);
        }
    }

    private record Step(long start, long end, String error) {
        double tookMs() {
            return (end - start) / 1e6;
        }
    }

    static int run(Args args) throws Exception {
        args.allowOnly(Set.of(
                "url",
                "connections",
                "rate",
                "duration",
                "warmup",
                "timeout",
                "backend-header",
                "victim",
                "kill-at",
                "kill-cmd",
                "kill-pidfile",
                "restart-at",
                "restart-cmd",
                "metrics-url",
                "victim-url",
                "haproxy-socket",
                "haproxy-server",
                "poll",
                "window",
                "label",
                "blackhole-at",
                "blackhole-pidfile",
                "blackhole-port",
                "connect-timeout"));
        LoadOptions options = LoadOptions.from(args, Duration.ofSeconds(30), true);
        String victim = args.string("victim", "b3");
        Duration killAt = args.duration("kill-at", Duration.ofSeconds(10));
        Duration restartAt = args.duration("restart-at", Duration.ofSeconds(20));
        String killPidfile = args.string("kill-pidfile", null);
        String killCmd = killPidfile != null ? "SIGKILL to the pid in " + killPidfile : args.required("kill-cmd");
        String restartCmd = args.required("restart-cmd");
        Duration window = args.duration("window", Duration.ofSeconds(5));
        String label = args.string("label", "-");
        if (killAt.compareTo(options.warmup()) < 0
                || restartAt.compareTo(killAt) <= 0
                || restartAt.compareTo(options.duration()) >= 0) {
            throw new IllegalArgumentException("need warm-up <= kill-at < restart-at < duration");
        }

        Duration blackholeAt = args.has("blackhole-at") ? args.duration("blackhole-at", null) : null;
        Duration connectTimeout = args.duration("connect-timeout", Duration.ofSeconds(1));
        if (blackholeAt != null
                && (blackholeAt.compareTo(options.warmup()) < 0 || blackholeAt.compareTo(restartAt) >= 0)) {
            throw new IllegalArgumentException("need warm-up <= blackhole-at < restart-at");
        }

        BackendIds ids = new BackendIds();
        int victimId = ids.id(victim);
        SignalPoller poller = new SignalPoller(args.duration("poll", Duration.ofMillis(50)));
        boolean roundhouse = args.has("metrics-url");
        boolean haproxy = args.has("haproxy-socket");
        if (roundhouse) {
            String victimUrl = args.required("victim-url");
            Map<String, SignalPoller.Selector> signals = new LinkedHashMap<>();
            signals.put("healthy", new SignalPoller.Selector("roundhouse_backends_healthy", List.of()));
            signals.put(
                    "victim_errors",
                    new SignalPoller.Selector("roundhouse_errors_total", List.of("backend=\"" + victimUrl + "\"")));
            signals.put(
                    "victim_open",
                    new SignalPoller.Selector(
                            "resilience4j_circuitbreaker_state",
                            List.of("name=\"" + victimUrl + "\"", "state=\"open\"")));
            poller.source("metrics", SignalPoller.prometheus(args.required("metrics-url"), signals));
        }
        if (haproxy) {
            HaproxySocket socket = new HaproxySocket(Path.of(args.required("haproxy-socket")));
            String[] server = args.string("haproxy-server", "be/" + victim).split("/", 2);
            poller.source("haproxy", () -> {
                try {
                    return Map.of("status", String.valueOf(socket.serverStatus(server[0], server[1])));
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                }
            });
        }

        System.out.println("failover-under-load [" + label + "]: " + options.describe());
        System.out.println("victim " + victim + ": killed at " + args.string("kill-at", "10s") + " (" + killCmd
                + "), restarted at " + args.string("restart-at", "20s") + " (" + restartCmd + ")");
        LoadRun run = new LoadRun(options, ids);
        run.start();
        long t0 = run.startNanos();
        poller.start(t0);
        Blackhole hole = null;
        Step kill;
        Step blackholed = null;
        if (blackholeAt != null && blackholeAt.compareTo(killAt) < 0) {
            hole = new Blackhole(Path.of(args.required("blackhole-pidfile")), args.integer("blackhole-port", 0));
            blackholed = hole.at(t0, blackholeAt);
            kill = killPidfile != null ? killAt(t0, killAt, Path.of(killPidfile)) : runAt(t0, killAt, killCmd);
        } else {
            kill = killPidfile != null ? killAt(t0, killAt, Path.of(killPidfile)) : runAt(t0, killAt, killCmd);
            if (blackholeAt != null) {
                hole = new Blackhole(Path.of(args.required("blackhole-pidfile")), args.integer("blackhole-port", 0));
                blackholed = hole.at(t0, blackholeAt);
            }
        }
        Step restart = runAt(t0, restartAt, restartCmd);
        LoadResult result = run.await();
        if (hole != null) {
            hole.close();
        }
        List<SignalPoller.Transition> transitions = poller.stop();

        FailoverAnalysis.Result r = FailoverAnalysis.analyze(
                result.events(),
                victimId,
                kill.start(),
                restart.start(),
                window.toNanos(),
                options.warmup().toNanos());
        System.out.print(result.report());
        System.out.printf(
                Locale.ROOT,
                "kill command took %.1f ms%s; restart command took %.1f ms%s%n",
                kill.tookMs(),
                kill.error() == null ? "" : " and FAILED: " + kill.error(),
                restart.tookMs(),
                restart.error() == null ? "" : " and FAILED: " + restart.error());
        System.out.printf(
                Locale.ROOT,
                "client view: failed requests due between kill and restart %d, after the restart %d%n",
                r.failedAfterKill(),
                r.failedAfterRestart());
        System.out.printf(
                Locale.ROOT,
                "  %s's last response before the kill: %.1f ms before it; responses from it between kill and restart: %d%n",
                victim,
                -r.lastBeforeKillMs(),
                r.victimAfterKill());
        System.out.println("  latency of requests due in the " + args.string("window", "5s") + " before the kill, ms: "
                + LoadResult.percentiles(r.beforeKill()));
        System.out.println("  latency of requests due in the " + args.string("window", "5s") + " after the kill, ms:  "
                + LoadResult.percentiles(r.afterKill()));
        System.out.printf(
                Locale.ROOT,
                "  %s served again %.1f ms after the restart command started (%.1f ms after it returned)%n",
                victim,
                r.returnMs(),
                r.returnMs() - restart.tookMs());
        long paid = -1;
        if (blackholed != null) {
            paid = FailoverAnalysis.paidConnectTimeout(
                    result.events(), blackholed.start(), restart.start(), connectTimeout.toNanos() * 9 / 10);
            System.out.printf(
                    Locale.ROOT,
                    "blackhole: connects to the second victim hang from %.3f s (%s); requests due "
                            + "from then to the restart that paid the connect timeout (%s) or failed: %d%n",
                    blackholed.start() / 1e9,
                    blackholed.error() == null ? "ok" : "FAILED: " + blackholed.error(),
                    args.string("connect-timeout", "1s"),
                    paid);
        }

        long k = kill.start();
        long s = restart.start();
        long end = options.duration().toNanos() + TimeUnit.SECONDS.toNanos(10);
        double outMs = Double.NaN;
        double inMs = Double.NaN;
        String extra = "";
        if (roundhouse) {
            String healthyBefore = valueAt(transitions, "healthy", k);
            double dropped = FailoverAnalysis.firstAfter(transitions, "healthy", k, s, v -> lessThan(v, healthyBefore));
            String healthyLow = valueAt(transitions, "healthy", s);
            double rose = FailoverAnalysis.firstAfter(transitions, "healthy", s, end, v -> greaterThan(v, healthyLow));
            double open = FailoverAnalysis.firstAfter(transitions, "victim_open", k, s, v -> v.equals("1"));
            double lastAttempt = FailoverAnalysis.lastBefore(transitions, "victim_errors", k, s);
            System.out.printf(
                    Locale.ROOT,
                    "roundhouse metrics (polled every %s): roundhouse_backends_healthy %s -> lower %.0f ms after the kill, "
                            + "back up %.0f ms after the restart; victim's breaker open %.0f ms after the kill; "
                            + "last rise of its roundhouse_errors_total (failed attempts) %.0f ms after the kill%n",
                    args.string("poll", "50ms"),
                    healthyBefore,
                    dropped,
                    rose,
                    open,
                    lastAttempt);
            outMs = dropped;
            inMs = rose;
            extra = String.format(Locale.ROOT, " breaker_open_ms=%.0f last_attempt_ms=%.0f", open, lastAttempt);
        }
        if (haproxy) {
            double down = FailoverAnalysis.firstAfter(transitions, "status", k, s, v -> v.startsWith("DOWN"));
            double up = FailoverAnalysis.firstAfter(transitions, "status", s, end, v -> v.startsWith("UP"));
            System.out.printf(
                    Locale.ROOT,
                    "haproxy server status (polled every %s): DOWN %.0f ms after the kill, UP %.0f ms after the restart%n",
                    args.string("poll", "50ms"),
                    down,
                    up);
            outMs = down;
            inMs = up;
        }
        if (poller.errors() > 0) {
            System.out.println("signal polls that failed: " + poller.errors());
        }
        for (SignalPoller.Transition t : transitions) {
            System.out.printf(Locale.ROOT, "  signal %-14s = %-12s at %8.3f s%n", t.signal(), t.value(), t.at() / 1e9);
        }
        if (result.lag().percentile(99) > 1_000_000L) {
            System.out.println(
                    "WARNING: the generator's own send lag p99 is over 1 ms; part of the latency is the generator's or the machine's");
        }
        System.out.printf(
                Locale.ROOT,
                "RESULT label=%s %s fail_kill=%d fail_restart=%d before_p99=%s after_p99=%s after_max=%s "
                        + "last_before_ms=%.1f victim_after_kill=%d return_ms=%.1f out_ms=%.0f in_ms=%.0f paid_connect=%d%s%n",
                label,
                result.resultFields(),
                r.failedAfterKill(),
                r.failedAfterRestart(),
                LoadResult.ms(r.beforeKill().percentile(99)),
                LoadResult.ms(r.afterKill().percentile(99)),
                LoadResult.ms(r.afterKill().max()),
                -r.lastBeforeKillMs(),
                r.victimAfterKill(),
                r.returnMs(),
                outMs,
                inMs,
                paid,
                extra);
        return 0;
    }

    private static boolean lessThan(String v, String than) {
        try {
            return Double.parseDouble(v) < Double.parseDouble(than);
        } catch (RuntimeException e) {
            return false;
        }
    }

    private static boolean greaterThan(String v, String than) {
        try {
            return Double.parseDouble(v) > Double.parseDouble(than);
        } catch (RuntimeException e) {
            return false;
        }
    }

    /** The value a signal had at {@code at} (its last transition before), "?" if none. */
    private static String valueAt(List<SignalPoller.Transition> transitions, String signal, long at) {
        String value = "?";
        for (SignalPoller.Transition t : transitions) {
            if (t.signal().equals(signal) && t.at() <= at) {
                value = t.value();
            }
        }
        return value;
    }

    /**
     * Sends SIGKILL to the process whose pid {@code pidfile} holds, at {@code at}, and deletes the pid file (the
     * restarted process writes a new one). The step starts just before the signal: no shell in between.
     */
    private static Step killAt(long t0, Duration at, Path pidfile) {
        ProcessHandle victim;
        try {
            victim = ProcessHandle.of(Long.parseLong(
                            java.nio.file.Files.readString(pidfile).strip()))
                    .orElseThrow(() -> new IOException("no process with the pid in " + pidfile));
        } catch (IOException | NumberFormatException e) {
            return new Step(0, 0, e.toString());
        }
        long when = t0 + at.toNanos();
        for (long now = System.nanoTime(); now < when; now = System.nanoTime()) {
            LockSupport.parkNanos(when - now);
        }
        long start = System.nanoTime() - t0;
        String error = victim.destroyForcibly() ? null : "SIGKILL to " + victim.pid() + " failed";
        long end = System.nanoTime() - t0;
        try {
            java.nio.file.Files.deleteIfExists(pidfile);
        } catch (IOException e) {
            error = e.toString();
        }
        return new Step(start, end, error);
    }

    private static Step runAt(long t0, Duration at, String command) {
        long when = t0 + at.toNanos();
        for (long now = System.nanoTime(); now < when; now = System.nanoTime()) {
            LockSupport.parkNanos(when - now);
        }
        long start = System.nanoTime() - t0;
        String error = null;
        try {
            Process p = new ProcessBuilder("sh", "-c", command)
                    .redirectErrorStream(true)
                    .start();
            p.getOutputStream().close();
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                error = "did not finish in 30 s";
            } else if (p.exitValue() != 0) {
                error = "exit " + p.exitValue() + ": " + new String(out, StandardCharsets.UTF_8).strip();
            }
        } catch (IOException | InterruptedException e) {
            error = e.toString();
        }
        return new Step(start, System.nanoTime() - t0, error);
    }

    /**
     * A backend whose connects start hanging: its process is killed (its connections end, as those of a host that
     * went away and came back without its service would) and its port taken by a listener that never accepts, with a
     * queue of one filled at once, so that further connects wait for the proxy's connect timeout. Kept until the end.
     */
    private static final class Blackhole implements AutoCloseable {
        private final Path pidfile;
        private final int port;
        private final java.util.List<java.nio.channels.SocketChannel> fillers = new java.util.ArrayList<>();
        private java.net.ServerSocket listener;

        Blackhole(Path pidfile, int port) {
            if (port <= 0) {
                throw new IllegalArgumentException("--blackhole-port is required with --blackhole-at");
            }
            this.pidfile = pidfile;
            this.port = port;
        }

        Step at(long t0, Duration at) {
            Step kill = killAt(t0, at, pidfile);
            if (kill.error() != null) {
                return kill;
            }
            String error = null;
            try {
                // SIGKILL returns before the kernel has closed the process's sockets: try until the port is free.
                long giveUp = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
                while (true) {
                    listener = new java.net.ServerSocket();
                    listener.setReuseAddress(true);
                    try {
                        listener.bind(
                                new java.net.InetSocketAddress(java.net.InetAddress.getLoopbackAddress(), port), 1);
                        break;
                    } catch (java.net.BindException e) {
                        listener.close();
                        if (System.nanoTime() > giveUp) {
                            throw e;
                        }
                        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(1));
                    }
                }
                java.net.InetSocketAddress address =
                        new java.net.InetSocketAddress(java.net.InetAddress.getLoopbackAddress(), port);
                for (int i = 0; i < 4; i++) { // a queue of one holds two: the rest of these wait, as the proxy's will
                    java.nio.channels.SocketChannel filler = java.nio.channels.SocketChannel.open();
                    filler.configureBlocking(false);
                    filler.connect(address);
                    fillers.add(filler);
                }
            } catch (IOException e) {
                error = "cannot take port " + port + ": " + e;
            }
            return new Step(kill.start(), System.nanoTime() - t0, error);
        }

        @Override
        public void close() {
            for (java.nio.channels.SocketChannel filler : fillers) {
                try {
                    filler.close();
                } catch (IOException ignored) {
                    // closing anyway
                }
            }
            try {
                if (listener != null) {
                    listener.close();
                }
            } catch (IOException ignored) {
                // closing anyway
            }
        }
    }
}
