package dev.roundhouse.operator;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.roundhouse.operator.reconciler.LoadBalancerReconciler;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.javaoperatorsdk.operator.Operator;
import io.fabric8.kubernetes.client.extended.leaderelection.LeaderCallbacks;
import io.javaoperatorsdk.operator.api.config.LeaderElectionConfiguration;
import io.javaoperatorsdk.operator.monitoring.micrometer.MicrometerMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;

/**
 * The Roundhouse operator: registers the LoadBalancer reconciler and serves {@code /healthz},
 * {@code /readyz} and {@code /metrics} (JOSDK's Micrometer metrics) on {@code HTTP_PORT}.
 */
public final class RoundhouseOperator implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(RoundhouseOperator.class);

    public static final String LEASE_NAME = "roundhouse-operator";

    private final Operator operator;
    private volatile boolean closing;
    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final HttpServer http;

    private RoundhouseOperator(OperatorSettings settings, KubernetesClient client) throws IOException {
        OperatorSettings.install(settings);
        // Two of Micrometer's processor meters break Prometheus naming rules (promtool rejects them);
        // process_cpu_usage and system_cpu_usage cover the same ground. Denied before anything registers.
        registry.config().meterFilter(io.micrometer.core.instrument.config.MeterFilter.deny(id ->
                id.getName().equals("process.cpu.time") || id.getName().equals("system.cpu.count")));
        registry.config().meterFilter(new dev.roundhouse.operator.metrics.SdkMetricDescriptions());
        operator = new Operator(o -> {
            // Not per resource: JOSDK would keep about 70 series (and a histogram in heap) per LoadBalancer,
            // 76,000 samples and 20 MB per scrape at 1,000 LoadBalancers (docs/benchmarks.md).
            o.withMetrics(MicrometerMetrics.newMicrometerMetricsBuilder(registry).notCollectingMetricsPerResource().build());
            if (client != null) {
                o.withKubernetesClient(client);
            }
            if (settings.leaderElection()) {
                // JOSDK would exit on every stop of leading, a graceful shutdown included (and
                // System.exit inside a shutdown hook hangs): exit only when leadership is lost.
                o.withLeaderElectionConfiguration(new LeaderElectionConfiguration(LEASE_NAME,
                        settings.leaseNamespace(), LeaderElectionConfiguration.LEASE_DURATION_DEFAULT_VALUE,
                        LeaderElectionConfiguration.RENEW_DEADLINE_DEFAULT_VALUE,
                        LeaderElectionConfiguration.RETRY_PERIOD_DEFAULT_VALUE, null,
                        new LeaderCallbacks(() -> { }, this::stoppedLeading, leader -> { }), false));
            }
        });
        operator.register(new LoadBalancerReconciler(registry), c -> {
            if (!settings.watchesAllNamespaces()) {
                c.settingNamespaces(settings.watchNamespaces());
            }
        });
        http = HttpServer.create(new InetSocketAddress(settings.httpPort()), 16);
        new io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics().bindTo(registry);
        new io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics().bindTo(registry);
        new io.micrometer.core.instrument.binder.system.ProcessorMetrics().bindTo(registry);
        http.createContext("/healthz", e -> answer(e, operator.getRuntimeInfo().allEventSourcesAreHealthy(), "ok"));
        http.createContext("/readyz", e -> answer(e, operator.getRuntimeInfo().isStarted(), "ready"));
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
        RoundhouseOperator running = new RoundhouseOperator(settings, client);
        running.http.start();
        running.operator.start();
        log.info("Roundhouse operator started, watching {}, proxy image {}, probes and metrics on :{}",
                settings.watchesAllNamespaces() ? "all namespaces" : settings.watchNamespaces(),
                settings.proxyImage(), running.httpPort());
        return running;
    }

    public int httpPort() {
        return http.getAddress().getPort();
    }

    private static void answer(HttpExchange exchange, boolean ok, String text) throws IOException {
        byte[] body = ((ok ? text : "not " + text) + "\n").getBytes(StandardCharsets.UTF_8);
        exchange.sendResponseHeaders(ok ? 200 : 503, body.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(body);
        }
    }

    /** Another replica leads now: stop at once, so that only one operator ever reconciles. */
    private void stoppedLeading() {
        if (!closing) {
            log.error("Lost the leader lease {}; exiting so that another replica reconciles alone", LEASE_NAME);
            System.exit(1); // not from a shutdown hook: closing is false here
        }
    }

    @Override
    public void close() {
        closing = true;
        operator.stop();
        http.stop(0);
        registry.close();
    }

    public static void main(String[] args) throws IOException {
        OperatorSettings settings;
        try {
            settings = OperatorSettings.fromEnvironment(System.getenv());
        } catch (IllegalArgumentException e) {
            System.err.println("roundhouse-operator: cannot start, " + e.getMessage());
            System.exit(2);
            return;
        }
        RoundhouseOperator running;
        try {
            running = start(settings, null);
        } catch (IOException | RuntimeException e) {
            Throwable cause = e;
            while (cause.getCause() != null) {
                cause = cause.getCause();
            }
            log.error("Cannot start: {} (cause: {})", e.getMessage(), cause.toString());
            System.exit(1);
            return;
        }
        Runtime.getRuntime().addShutdownHook(new Thread(running::close, "shutdown"));
    }
}
