package dev.roundhouse.proxy.metrics;

import dev.roundhouse.proxy.pool.BackendPool;
import io.github.resilience4j.circuitbreaker.CircuitBreakerRegistry;
import io.github.resilience4j.micrometer.tagged.TaggedCircuitBreakerMetrics;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.config.MeterFilter;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.FileDescriptorMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;

import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.function.Function;

/** The proxy's meters. Label values are bounded: known methods, status codes, pool backends. */
public final class ProxyMetrics implements AutoCloseable {

    /** Method label by {@link #methodIndex}; anything else is "other", which keeps the label bounded. */
    private static final String[] METHOD_LABELS = {
            "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT", MetricNames.OTHER_METHOD};
    private static final Duration[] BUCKETS = {
            Duration.ofMillis(1), Duration.ofMillis(2), Duration.ofMillis(5), Duration.ofMillis(10),
            Duration.ofMillis(25), Duration.ofMillis(50), Duration.ofMillis(100), Duration.ofMillis(250),
            Duration.ofMillis(500), Duration.ofSeconds(1), Duration.ofMillis(2500), Duration.ofSeconds(5),
            Duration.ofSeconds(10)};
    private static final String[] STATUS = new String[600];

    static {
        for (int i = 0; i < STATUS.length; i++) {
            STATUS[i] = Integer.toString(i);
        }
    }

    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final JvmGcMetrics gcMetrics = new JvmGcMetrics();
    private final Meter.MeterProvider<Counter> requests;
    private final Meter.MeterProvider<Timer> durations;
    private final Meter.MeterProvider<Counter> errors;
    private final Meter.MeterProvider<Counter> reloads;
    /** Request meters resolved once per backend, method and status: no lookup or allocation per request. */
    private final ConcurrentHashMap<String, BackendMeters> perBackend = new ConcurrentHashMap<>();
    private final Function<String, BackendMeters> newBackendMeters = BackendMeters::new;
    /** The one roundhouse_config_info series, replaced when another document goes live. */
    private Gauge configInfo;

    public ProxyMetrics() {
        // Two of Micrometer's processor meters break Prometheus naming rules (promtool rejects
        // them); process_cpu_usage and system_cpu_usage cover the same ground.
        registry.config().meterFilter(MeterFilter.deny(id ->
                id.getName().equals("process.cpu.time") || id.getName().equals("system.cpu.count")));
        new JvmMemoryMetrics().bindTo(registry);
        gcMetrics.bindTo(registry);
        new JvmThreadMetrics().bindTo(registry);
        new ClassLoaderMetrics().bindTo(registry);
        new ProcessorMetrics().bindTo(registry);
        new UptimeMetrics().bindTo(registry);
        new FileDescriptorMetrics().bindTo(registry);
        requests = Counter.builder(MetricNames.REQUESTS)
                .description("Requests answered, by method, status and the backend that served them")
                .withRegistry(registry);
        durations = Timer.builder(MetricNames.REQUEST_DURATION)
                .description("Time from receiving a request to completing its response")
                .serviceLevelObjectives(BUCKETS)
                .withRegistry(registry);
        errors = Counter.builder(MetricNames.ERRORS)
                .description("Failed attempts and refused requests, by type and backend")
                .withRegistry(registry);
        reloads = Counter.builder(MetricNames.CONFIG_RELOADS)
                .description("Pool documents received, by result")
                .withRegistry(registry);
        // Both results exist from the start, so rate() and alerts work before the first failure.
        reloads.withTag(MetricNames.TAG_RESULT, MetricNames.RELOAD_APPLIED);
        reloads.withTag(MetricNames.TAG_RESULT, MetricNames.RELOAD_INVALID);
    }

    /** Publishes pool gauges and the breakers' states (Resilience4j's own Micrometer binding). */
    public void bindPool(BackendPool pool, CircuitBreakerRegistry breakers) {
        Gauge.builder(MetricNames.BACKENDS, pool, p -> p.snapshot().size())
                .description("Backends in the applied pool document").register(registry);
        Gauge.builder(MetricNames.BACKENDS_HEALTHY, pool, p -> p.snapshot().healthyCount())
                .description("Backends passing their active health checks").register(registry);
        Gauge.builder(MetricNames.CONFIG_VERSION, pool,
                        p -> p.snapshot().document() == null ? 0 : p.snapshot().document().version())
                .description("Format version of the applied pool document (0 before the first)").register(registry);
        TaggedCircuitBreakerMetrics.ofCircuitBreakerRegistry(breakers).bindTo(registry);
    }

    public PrometheusMeterRegistry registry() {
        return registry;
    }

    public void request(String method, int status, String backend, long durationNanos) {
        BackendMeters meters = perBackend.get(backend);
        if (meters == null) {
            meters = perBackend.computeIfAbsent(backend, newBackendMeters);
        }
        int m = methodIndex(method);
        meters.counter(m, status).increment();
        meters.timer(m).record(durationNanos, TimeUnit.NANOSECONDS);
    }

    /**
     * Registers the meters a backend's requests use most (GET answered 200) before it takes traffic, so that
     * they start at zero (rate() works from the first scrape) and the first request does not register them.
     */
    public void prepareBackend(String backend) {
        BackendMeters meters = perBackend.computeIfAbsent(backend, newBackendMeters);
        meters.counter(methodIndex("GET"), 200);
        meters.timer(methodIndex("GET"));
    }

    /** One backend's request meters; a lost race resolves the same meter twice, harmlessly. */
    private final class BackendMeters {
        private final String backend;
        private final AtomicReferenceArray<Counter> counters = new AtomicReferenceArray<>(METHOD_LABELS.length * STATUS.length);
        private final AtomicReferenceArray<Timer> timers = new AtomicReferenceArray<>(METHOD_LABELS.length);

        BackendMeters(String backend) {
            this.backend = backend;
        }

        Counter counter(int method, int status) {
            int s = status >= 0 && status < STATUS.length ? status : 0;
            int slot = method * STATUS.length + s;
            Counter counter = counters.get(slot);
            if (counter == null) {
                counter = requests.withTags(MetricNames.TAG_METHOD, METHOD_LABELS[method],
                        MetricNames.TAG_STATUS, s == 0 ? "other" : STATUS[s], MetricNames.TAG_BACKEND, backend);
                counters.set(slot, counter);
            }
            return counter;
        }

        Timer timer(int method) {
            Timer timer = timers.get(method);
            if (timer == null) {
                timer = durations.withTags(MetricNames.TAG_METHOD, METHOD_LABELS[method], MetricNames.TAG_BACKEND, backend);
                timers.set(method, timer);
            }
            return timer;
        }
    }

    public void error(String type, String backend) {
        errors.withTags(MetricNames.TAG_TYPE, type, MetricNames.TAG_BACKEND, backend).increment();
    }

    public void reload(String result) {
        reloads.withTag(MetricNames.TAG_RESULT, result).increment();
    }

    /** Shows {@code documentHash} (SHA-256 hex of the applied text) as the live document, replacing the last one. */
    public synchronized void configApplied(String documentHash) {
        String shortHash = documentHash.substring(0, Math.min(12, documentHash.length()));
        if (configInfo != null) {
            if (shortHash.equals(configInfo.getId().getTag(MetricNames.TAG_HASH))) {
                return;
            }
            registry.remove(configInfo);
        }
        configInfo = Gauge.builder(MetricNames.CONFIG_INFO, () -> 1)
                .description("The live pool document: 1, labelled with the first 12 hex characters of its SHA-256")
                .tag(MetricNames.TAG_HASH, shortHash)
                .register(registry);
    }

    /** Drops every series of a backend that left the pool, so label cardinality stays bounded. */
    public void forgetBackend(String backend) {
        perBackend.remove(backend);
        for (Meter meter : registry.getMeters()) {
            if (backend.equals(meter.getId().getTag(MetricNames.TAG_BACKEND))) {
                registry.remove(meter);
            }
        }
    }

    public String scrape() {
        return registry.scrape();
    }

    private static int methodIndex(String method) {
        return switch (method) {
            case "GET" -> 0;
            case "HEAD" -> 1;
            case "POST" -> 2;
            case "PUT" -> 3;
            case "DELETE" -> 4;
            case "PATCH" -> 5;
            case "OPTIONS" -> 6;
            case "TRACE" -> 7;
            case "CONNECT" -> 8;
            default -> 9;
        };
    }

    @Override
    public void close() {
        gcMetrics.close();
        registry.close();
    }
}
