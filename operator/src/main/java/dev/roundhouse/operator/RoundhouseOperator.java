package dev.roundhouse.operator;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.roundhouse.operator.api.v1alpha1.LoadBalancer;
import dev.roundhouse.operator.reconciler.LoadBalancerReconciler;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.extended.leaderelection.LeaderCallbacks;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.javaoperatorsdk.operator.Operator;
import io.javaoperatorsdk.operator.RegisteredController;
import io.javaoperatorsdk.operator.api.config.Cloner;
import io.javaoperatorsdk.operator.api.config.LeaderElectionConfiguration;
import io.javaoperatorsdk.operator.monitoring.micrometer.MicrometerMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Roundhouse operator: registers the LoadBalancer reconciler and serves {@code /healthz},
 * {@code /readyz} and {@code /metrics} (JOSDK's Micrometer metrics) on {@code HTTP_PORT}.
 */
public final class RoundhouseOperator implements AutoCloseable {

    private static final KubernetesSerialization COPIES = new KubernetesSerialization();

    /** What the process exits with once its shutdown hook has stopped it: 0 after a SIGTERM. */
    private static volatile int exitStatus;

    private final OperatorSettings settings;
    private final Operator operator;
    private final RegisteredController<LoadBalancer> controller;
    private final LoadBalancerReconciler reconciler;
    /**
     * How long a stop waits for the reconciles in flight (a reconcile takes milliseconds to seconds); well inside the
     * 30 s a pod is given to stop.
     */
    static final Duration RECONCILES_STOP_WAIT = Duration.ofSeconds(10);
    /** Set once JOSDK's start has returned, i.e. its informers have listed everything from the API server. */
    private volatile boolean started;

    private volatile boolean closing;
    /** True in the operator's own process ({@code main}), which exits where an embedded operator gives up. */
    private final boolean ownsProcess;
    /** Why an embedded operator gave up (a watch ended for good, the lease lost): its liveness says so; null before. */
    private volatile String gaveUp;

    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final HttpServer http;

    private RoundhouseOperator(OperatorSettings settings, KubernetesClient client, boolean ownsProcess)
            throws IOException {
        this.settings = settings;
        this.ownsProcess = ownsProcess;
        // Two of Micrometer's processor meters break Prometheus naming rules (promtool rejects them);
        // process_cpu_usage and system_cpu_usage cover the same ground. Denied before anything registers.
        registry.config()
                .meterFilter(io.micrometer.core.instrument.config.MeterFilter.deny(id ->
                        id.getName().equals("process.cpu.time") || id.getName().equals("system.cpu.count")));
        registry.config().meterFilter(new dev.roundhouse.operator.metrics.SdkMetricDescriptions());
        operator = new Operator(o -> {
            // Once the reconciles in flight have ended (close()), JOSDK may still be writing the status one of them
            // returned: its stop would interrupt that write (a zero timeout by default).
            o.withReconciliationTerminationTimeout(Duration.ofSeconds(5));
            // Not per resource: JOSDK would keep about 70 series (and a histogram in heap) per LoadBalancer,
            // 76,000 samples and 20 MB per scrape at 1,000 LoadBalancers (docs/benchmark-history.md).
            o.withMetrics(MicrometerMetrics.newMicrometerMetricsBuilder(registry)
                    .notCollectingMetricsPerResource()
                    .build());
            if (client != null) {
                o.withKubernetesClient(client);
            }
            // JOSDK's default would System.exit the JVM, an embedding one's too (the local mode, a test).
            o.withInformerStoppedHandler(this::informerStopped);
            o.withResourceCloner(new Cloner() {
                @Override
                public <R extends HasMetadata> R clone(R object) {
                    return copy(object);
                }
            });
            if (settings.leaderElection()) {
                // JOSDK would exit on every stop of leading, a graceful shutdown included (and
                // System.exit inside a shutdown hook hangs): exit only when leadership is lost.
                o.withLeaderElectionConfiguration(new LeaderElectionConfiguration(
                        settings.leaseName(),
                        settings.leaseNamespace(),
                        LeaderElectionConfiguration.LEASE_DURATION_DEFAULT_VALUE,
                        LeaderElectionConfiguration.RENEW_DEADLINE_DEFAULT_VALUE,
                        LeaderElectionConfiguration.RETRY_PERIOD_DEFAULT_VALUE,
                        null,
                        new LeaderCallbacks(() -> {}, this::stoppedLeading, leader -> {}),
                        false));
            }
        });
        reconciler = new LoadBalancerReconciler(registry, settings);
        controller = operator.register(reconciler, c -> {
            if (!settings.watchesAllNamespaces()) {
                c.settingNamespaces(settings.watchNamespaces());
            }
        });
        http = HttpServer.create(new InetSocketAddress(settings.httpPort()), 16);
        new io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics().bindTo(registry);
        new io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics().bindTo(registry);
        new io.micrometer.core.instrument.binder.system.ProcessorMetrics().bindTo(registry);
        http.createContext("/healthz", e -> answer(e, "ok", probeProblem(true)));
        http.createContext("/readyz", e -> answer(e, "ready", probeProblem(false)));
        http.createContext("/metrics", e -> {
            byte[] body = registry.scrape().getBytes(StandardCharsets.UTF_8);
            e.getResponseHeaders().set("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
            e.sendResponseHeaders(200, body.length);
            try (OutputStream out = e.getResponseBody()) {
                out.write(body);
            }
        });
    }

    /** Starts the operator with the given client (null: from the environment, in-cluster or KUBECONFIG). */
    public static RoundhouseOperator start(OperatorSettings settings, KubernetesClient client) throws IOException {
        RoundhouseOperator running = new RoundhouseOperator(settings, client, false);
        try {
            running.run(settings);
        } catch (RuntimeException e) {
            running.close();
            throw e;
        }
        return running;
    }

    /** Serves probes and metrics at once, then starts JOSDK, which returns once it has listed from the API server. */
    private void run(OperatorSettings settings) {
        http.start();
        operator.start();
        started = true;
        log().info(
                        "Roundhouse operator started, watching {}, proxy image {}, probes and metrics on :{}",
                        settings.watchesAllNamespaces() ? "all namespaces" : settings.watchNamespaces(),
                        settings.proxyImage(),
                        httpPort());
    }

    /** The LoadBalancer controller's configuration as registered (its retry, namespaces...): for tests to check. */
    public io.javaoperatorsdk.operator.api.config.ControllerConfiguration<LoadBalancer> controllerConfiguration() {
        return controller.getConfiguration();
    }

    public int httpPort() {
        return http.getAddress().getPort();
    }

    /**
     * Why a probe fails, or null. Never asks JOSDK anything that waits: its runtime info waits on the lock its start
     * holds for as long as the API server does not answer, and this server has one thread, so every probe and scrape
     * would wait too. The controller's event source health does not wait. Liveness also needs the informers to
     * watch; readiness, once started, does not, so that the operator's metrics stay scrapeable while they do not.
     */
    private String probeProblem(boolean liveness) {
        if (closing) {
            return "stopping";
        }
        if (!started) {
            return "starting, waiting for the API server";
        }
        if (liveness && gaveUp != null) {
            return gaveUp;
        }
        Set<String> unhealthy = liveness
                ? controller.getControllerHealthInfo().unhealthyEventSources().keySet()
                : Set.of();
        return unhealthy.isEmpty()
                ? null
                : "not watching the API server (unhealthy: " + String.join(", ", unhealthy) + ")";
    }

    private static void answer(HttpExchange exchange, String ok, String problem) throws IOException {
        byte[] body = ((problem == null ? ok : "not " + ok + ": " + problem) + "\n").getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", "text/plain; charset=utf-8");
        exchange.sendResponseHeaders(problem == null ? 200 : 503, body.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(body);
        }
    }

    /**
     * An informer has given up on its watch (an error the Kubernetes client does not retry): this operator no longer
     * sees that kind change, and never will again. Its own process exits, so that its pod restarts and lists
     * everything afresh; an embedded operator keeps its JVM and fails liveness instead.
     * A stop of ours, or a start that fails (which {@link #start} reports), is not such a loss.
     */
    private void informerStopped(SharedIndexInformer<?> informer, Throwable error) {
        if (error == null || closing || !informer.hasSynced()) {
            return;
        }
        String lost = informer.getApiTypeClass().getSimpleName() + " (" + error.getMessage() + ")";
        // Every informer gives up at once when the connection to the API server breaks: the first says it.
        if (!giveUp("stopped watching " + lost)) {
            return;
        }
        if (ownsProcess) {
            log().error("Stopped watching {}; exiting so that a restart watches again", lost);
            exitFromOwnThread(1);
        } else {
            log().error("Stopped watching {}; liveness fails from now on", lost);
        }
    }

    /** Records why this operator gave up, for liveness; false when it had already. */
    private synchronized boolean giveUp(String why) {
        if (gaveUp != null) {
            return false;
        }
        gaveUp = why;
        return true;
    }

    /**
     * JOSDK's copy of an object for a reconcile, a round trip through JSON as its own: except that a LoadBalancer
     * spec this model cannot hold writes as empty, so the copy keeps the original's, and with it the reason.
     */
    private static <R extends HasMetadata> R copy(R object) {
        R copy = COPIES.clone(object);
        if (object instanceof LoadBalancer lb
                && lb.getSpec() != null
                && lb.getSpec().unreadable() != null) {
            ((LoadBalancer) copy).setSpec(lb.getSpec());
        }
        return copy;
    }

    /**
     * Another replica leads now: stop at once, so that only one operator ever reconciles. The operator's own process
     * exits (and restarts as a follower); an embedded one stops reconciling and fails liveness, leaving its JVM to
     * its owner (JOSDK, told not to exit, would go on reconciling beside the new leader).
     */
    private void stoppedLeading() {
        if (closing || !giveUp("lost the leader lease " + settings.leaseName())) {
            return;
        }
        if (ownsProcess) {
            log().error(
                            "Lost the leader lease {}; exiting so that another replica reconciles alone",
                            settings.leaseName());
            exitFromOwnThread(1);
        } else {
            log().error(
                            "Lost the leader lease {}; reconciling no more, so that another replica reconciles alone",
                            settings.leaseName());
            reconciler.stopReconciling(RECONCILES_STOP_WAIT);
        }
    }

    @Override
    public void close() {
        closing = true;
        if (started) { // a start still under way holds JOSDK's locks: stop() would wait for it
            log().info("Stopping the Roundhouse operator");
            int unfinished = reconciler.stopReconciling(RECONCILES_STOP_WAIT);
            if (unfinished > 0) {
                log().warn(
                                "{} reconcile(s) still running after {} s; stopping under them",
                                unfinished,
                                RECONCILES_STOP_WAIT.toSeconds());
            }
            operator.stop();
        }
        http.stop(0);
        registry.close();
        log().info("Roundhouse operator stopped");
    }

    /**
     * Not a static field: {@code main} hands the validated logging settings to Log4j before anything starts it, and
     * Log4j starts at the first logger asked for.
     */
    private static Logger log() {
        return LoggerFactory.getLogger(RoundhouseOperator.class);
    }

    /** For log4j2.xml, which reads these system properties, and only when Log4j has not started yet. */
    static void configureLogging(OperatorSettings settings) {
        System.setProperty("roundhouse.log.level", settings.logLevel());
        System.setProperty("roundhouse.log.format", settings.logFormat());
        if (settings.libraryLogLevel() != null) {
            System.setProperty("roundhouse.log.libraryLevel", settings.libraryLogLevel());
        }
    }

    /**
     * Exits from a thread of its own, not the caller's (a leader elector's, an informer's): the shutdown hook's stop
     * waits for those to finish, which they could not do while inside {@code System.exit}, waiting for the hook.
     */
    private static void exitFromOwnThread(int status) {
        new Thread(() -> exit(status), "exit").start();
    }

    private static void exit(int status) {
        exitStatus = status;
        System.exit(status);
    }

    public static void main(String[] args) {
        OperatorSettings settings;
        try {
            settings = OperatorSettings.fromEnvironment(System.getenv());
        } catch (InvalidSettingsException e) {
            e.problems().forEach(problem -> System.err.println("roundhouse-operator: cannot start, " + problem));
            System.exit(2);
            return;
        }
        configureLogging(settings);
        RoundhouseOperator running;
        try {
            running = new RoundhouseOperator(settings, null, true);
        } catch (IOException | RuntimeException e) {
            cannotStart(e);
            return;
        }
        // Before the start, which lasts as long as the API server does not answer: a SIGTERM then stops it too.
        Runtime.getRuntime()
                .addShutdownHook(new Thread(
                        () -> {
                            try {
                                running.close();
                            } catch (RuntimeException e) {
                                log().error("Could not stop cleanly: {}", e.toString());
                                exitStatus = 1;
                            }
                            org.apache.logging.log4j.LogManager.shutdown();
                            // The stop is complete. A JVM ended by SIGTERM would still exit with 143 (128 + 15), which
                            // Kubernetes and
                            // process supervisors show as an error; nothing else in this process registers a shutdown
                            // hook that
                            // halting would skip (Log4j's own is disabled, see log4j2.xml).
                            Runtime.getRuntime().halt(exitStatus);
                        },
                        "shutdown"));
        try {
            running.run(settings);
        } catch (RuntimeException e) {
            cannotStart(e);
        }
    }

    private static void cannotStart(Exception e) {
        Throwable cause = e;
        while (cause.getCause() != null) {
            cause = cause.getCause();
        }
        log().error("Cannot start: {} (cause: {})", e.getMessage(), cause.toString());
        exit(1);
    }
}
