package dev.roundhouse.proxy.metrics;

import dev.roundhouse.proxy.codec.Grpc;
import dev.roundhouse.proxy.pool.BackendPool;
import io.github.resilience4j.circuitbreaker.CircuitBreakerRegistry;
import io.github.resilience4j.micrometer.tagged.TaggedCircuitBreakerMetrics;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.FileDescriptorMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.core.instrument.config.MeterFilter;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.prometheus.metrics.model.registry.Collector;
import io.prometheus.metrics.model.snapshots.InfoSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.function.Function;

/** The proxy's meters. Label values are bounded: known methods, status codes, pool backends. */
public final class ProxyMetrics implements AutoCloseable {

    /** Method label by {@link #methodIndex}; anything else is "other", which keeps the label bounded. */
    private static final String[] METHOD_LABELS = {
        "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT", MetricNames.OTHER_METHOD
    };

    private static final Duration[] BUCKETS = {
        Duration.ofMillis(1), Duration.ofMillis(2), Duration.ofMillis(5), Duration.ofMillis(10),
        Duration.ofMillis(25), Duration.ofMillis(50), Duration.ofMillis(100), Duration.ofMillis(250),
        Duration.ofMillis(500), Duration.ofSeconds(1), Duration.ofMillis(2500), Duration.ofSeconds(5),
        Duration.ofSeconds(10)
    };
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
    /** Resolved once: a lookup by tag on every reload cost about 50 us while the reload path runs interpreted. */
    private final Counter reloadsApplied;

    private final Counter reloadsInvalid;
    /** Request meters resolved once per backend, method and status: no lookup or allocation per request. */
    private final ConcurrentHashMap<String, BackendMeters> perBackend = new ConcurrentHashMap<>();

    private final Function<String, BackendMeters> newBackendMeters = BackendMeters::new;
    /** First 12 hex characters of the live document's SHA-256, null before the first: what roundhouse_config_info shows. */
    private volatile String liveDocument;

    public ProxyMetrics() {
        // Two of Micrometer's processor meters break Prometheus naming rules (promtool rejects
        // them); process_cpu_usage and system_cpu_usage cover the same ground.
        registry.config()
                .meterFilter(MeterFilter.deny(id ->
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
        // Both results exist from the start, so rate() and alerts work before the first failure.
        reloadsApplied = reloadCounter(MetricNames.RELOAD_APPLIED);
        reloadsInvalid = reloadCounter(MetricNames.RELOAD_INVALID);
        registry.getPrometheusRegistry().register(new ConfigInfo());
    }

    private Counter reloadCounter(String result) {
        return Counter.builder(MetricNames.CONFIG_RELOADS)
                .description("Pool documents received, by result")
                .tag(MetricNames.TAG_RESULT, result)
                .register(registry);
    }

    /** TLS certificate reloads by result, both at 0 once HTTPS is on; absent (null) without it. */
    private volatile Counter tlsReloadsApplied;

    private volatile Counter tlsReloadsInvalid;
    private volatile MultiGauge certificateExpiry;

    /** HTTPS is on: its reload counters start at 0 (so rate() and alerts work before the first failure). */
    public void tlsEnabled() {
        tlsReloadsApplied = tlsReloadCounter(MetricNames.RELOAD_APPLIED);
        tlsReloadsInvalid = tlsReloadCounter(MetricNames.RELOAD_INVALID);
    }

    private Counter tlsReloadCounter(String result) {
        return Counter.builder(MetricNames.TLS_RELOADS)
                .description("TLS certificate sets read after their files changed, by result")
                .tag(MetricNames.TAG_RESULT, result)
                .register(registry);
    }

    /** A changed certificate set was read: applied, or kept out (the last good set stays). */
    public void tlsReload(boolean applied) {
        Counter counter = applied ? tlsReloadsApplied : tlsReloadsInvalid;
        if (counter != null) {
            counter.increment();
        }
    }

    /** The certificates served now, by name, with when each expires: one series each, replacing the last set's. */
    public synchronized void tlsCertificates(java.util.Map<String, java.time.Instant> expiries) {
        if (certificateExpiry == null) {
            certificateExpiry = MultiGauge.builder(MetricNames.TLS_CERTIFICATE_EXPIRY)
                    .description("When each certificate the proxy serves expires, as Unix time")
                    .baseUnit("seconds")
                    .register(registry);
        }
        java.util.List<MultiGauge.Row<?>> rows = new java.util.ArrayList<>();
        expiries.forEach((name, notAfter) -> rows.add(MultiGauge.Row.of(
                io.micrometer.core.instrument.Tags.of(MetricNames.TAG_CERTIFICATE, name), notAfter.getEpochSecond())));
        certificateExpiry.register(rows, true);
    }

    /** Publishes pool gauges and the breakers' states (Resilience4j's own Micrometer binding). */
    public void bindPool(BackendPool pool, CircuitBreakerRegistry breakers) {
        Gauge.builder(MetricNames.BACKENDS, pool, p -> p.snapshot().size())
                .description("Backends in the applied pool document")
                .register(registry);
        Gauge.builder(MetricNames.BACKENDS_HEALTHY, pool, p -> p.snapshot().healthyCount())
                .description("Backends passing their active health checks")
                .register(registry);
        Gauge.builder(
                        MetricNames.CONFIG_VERSION,
                        pool,
                        p -> p.snapshot().document() == null
                                ? 0
                                : p.snapshot().document().version())
                .description("Format version of the applied pool document (0 before the first)")
                .register(registry);
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
        perBackend.computeIfAbsent(backend, newBackendMeters).prepare(methodIndex("GET"), 200);
    }

    /** One backend's request meters; a lost race resolves the same meter twice, harmlessly. */
    private final class BackendMeters {
        private final String backend;
        private final AtomicReferenceArray<Counter> counters =
                new AtomicReferenceArray<>(METHOD_LABELS.length * STATUS.length);
        private final AtomicReferenceArray<Timer> timers = new AtomicReferenceArray<>(METHOD_LABELS.length);
        /** The counters registered so far, and which of them count 5xx answers: what {@link #totals} sums. */
        private final java.util.concurrent.CopyOnWriteArrayList<Counter> registered =
                new java.util.concurrent.CopyOnWriteArrayList<>();

        private final java.util.concurrent.CopyOnWriteArrayList<Counter> serverErrors =
                new java.util.concurrent.CopyOnWriteArrayList<>();

        BackendMeters(String backend) {
            this.backend = backend;
        }

        Counter counter(int method, int status) {
            int s = statusIndex(status);
            Counter counter = counters.get(slot(method, s));
            return counter != null ? counter : newCounter(method, s);
        }

        Timer timer(int method) {
            Timer timer = timers.get(method);
            return timer != null ? timer : newTimer(method);
        }

        /**
         * For the reload thread: registers the meters without going through {@link #counter} and {@link #timer}.
         * Their compiled code, profiled on I/O threads, assumes the meters exist; the reload thread calling them
         * for a new backend hit that assumption and threw the compiled code away (seen in a JIT log).
         */
        void prepare(int method, int status) {
            int s = statusIndex(status);
            if (counters.get(slot(method, s)) == null) {
                newCounter(method, s);
            }
            if (timers.get(method) == null) {
                newTimer(method);
            }
        }

        private Counter newCounter(int method, int s) {
            Counter counter = requests.withTags(
                    MetricNames.TAG_METHOD,
                    METHOD_LABELS[method],
                    MetricNames.TAG_STATUS,
                    s == 0 ? "other" : STATUS[s],
                    MetricNames.TAG_BACKEND,
                    backend);
            // a lost race resolves the same meter: counted once
            if (registered.addIfAbsent(counter) && s >= 500) {
                serverErrors.add(counter);
            }
            counters.set(slot(method, s), counter);
            return counter;
        }

        private Timer newTimer(int method) {
            Timer timer =
                    durations.withTags(MetricNames.TAG_METHOD, METHOD_LABELS[method], MetricNames.TAG_BACKEND, backend);
            timers.set(method, timer);
            return timer;
        }

        private static int slot(int method, int s) {
            return method * STATUS.length + s;
        }

        private static int statusIndex(int status) {
            return status >= 0 && status < STATUS.length ? status : 0;
        }
    }

    /**
     * A backend's request meters summed over methods and statuses, since they were registered: what the status
     * page's per-minute figures are differences of. Zeros for a backend with no meters.
     */
    public Totals totals(String backend) {
        BackendMeters meters = perBackend.get(backend);
        long[] buckets = new long[BUCKETS.length];
        if (meters == null) {
            return new Totals(0, 0, buckets);
        }
        long requests = 0;
        long errors = 0;
        for (Counter c : meters.registered) {
            requests += (long) c.count();
        }
        for (Counter c : meters.serverErrors) {
            errors += (long) c.count();
        }
        for (int m = 0; m < METHOD_LABELS.length; m++) {
            Timer timer = meters.timers.get(m);
            if (timer == null) {
                continue;
            }
            io.micrometer.core.instrument.distribution.CountAtBucket[] counts =
                    timer.takeSnapshot().histogramCounts();
            for (int i = 0; i < counts.length && i < buckets.length; i++) {
                buckets[i] += (long) counts[i].count();
            }
        }
        return new Totals(requests, errors, buckets);
    }

    /**
     * Request counts of one backend: all answers, 5xx answers, and durations as cumulative counts at each of
     * {@link #bucketBounds()} (the histogram's buckets, as Prometheus exposes them).
     */
    public record Totals(long requests, long serverErrors, long[] buckets) {}

    /** The duration histogram's bucket upper bounds, in seconds. */
    public static double[] bucketBounds() {
        double[] bounds = new double[BUCKETS.length];
        for (int i = 0; i < bounds.length; i++) {
            bounds[i] = BUCKETS[i].toNanos() / 1e9;
        }
        return bounds;
    }

    /** gRPC call counters by backend, then status code: resolved once each, as the request meters are. */
    private final ConcurrentHashMap<String, AtomicReferenceArray<Counter>> grpcCalls = new ConcurrentHashMap<>();

    private final Function<String, AtomicReferenceArray<Counter>> newGrpcCounters =
            backend -> new AtomicReferenceArray<>(Grpc.CODES);

    /** A gRPC call ended with status {@code code} (0 to 16) as its client got it. */
    public void grpcCall(String backend, int code) {
        AtomicReferenceArray<Counter> counters = grpcCalls.computeIfAbsent(backend, newGrpcCounters);
        Counter counter = counters.get(code);
        if (counter == null) {
            counter = Counter.builder(MetricNames.GRPC_CALLS)
                    .description("gRPC calls ended, by backend and the gRPC status their client got")
                    .tag(MetricNames.TAG_BACKEND, backend)
                    .tag(MetricNames.TAG_GRPC_STATUS, Grpc.name(code))
                    .register(registry);
            counters.set(code, counter);
        }
        counter.increment();
    }

    public void error(String type, String backend) {
        errors.withTags(MetricNames.TAG_TYPE, type, MetricNames.TAG_BACKEND, backend)
                .increment();
    }

    public void reload(String result) {
        switch (result) {
            case MetricNames.RELOAD_APPLIED -> reloadsApplied.increment();
            case MetricNames.RELOAD_INVALID -> reloadsInvalid.increment();
            default -> throw new IllegalArgumentException("unknown reload result " + result);
        }
    }

    /** Shows {@code documentHash} (SHA-256 hex of the applied text) as the live document, replacing the last one. */
    public void configApplied(String documentHash) {
        liveDocument = documentHash.substring(0, Math.min(12, documentHash.length()));
    }

    /**
     * {@code roundhouse_config_info{hash} 1}, read at each scrape. A Prometheus collector rather than a Micrometer
     * gauge, whose labels are fixed: each new document registered one meter and removed another, about a fifth of
     * a reload's CPU (measured, docs/benchmark-history.md). Absent before the first document.
     */
    private final class ConfigInfo implements Collector {
        private final String name = MetricNames.CONFIG_INFO.replace('.', '_');

        @Override
        public MetricSnapshot collect() {
            String hash = liveDocument;
            if (hash == null) {
                return null;
            }
            return InfoSnapshot.builder()
                    .name(name)
                    .help("The live pool document: 1, labelled with the first 12 hex characters of its SHA-256")
                    .dataPoint(InfoSnapshot.InfoDataPointSnapshot.builder()
                            .labels(Labels.of(MetricNames.TAG_HASH, hash))
                            .build())
                    .build();
        }
    }

    /** Drops every series of a backend that left the pool, so label cardinality stays bounded. */
    public void forgetBackend(String backend) {
        perBackend.remove(backend);
        grpcCalls.remove(backend);
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
