package dev.roundhouse.proxy;

import dev.roundhouse.poolformat.Durations;
import dev.roundhouse.poolformat.InvalidPoolDocumentException;
import dev.roundhouse.poolformat.tls.InvalidCertificateException;
import dev.roundhouse.poolformat.tls.ServerCertificate;
import dev.roundhouse.proxy.breaker.Breakers;
import dev.roundhouse.proxy.config.InvalidSettingsException;
import dev.roundhouse.proxy.config.PoolConfigMapWatcher;
import dev.roundhouse.proxy.config.PoolFileWatcher;
import dev.roundhouse.proxy.config.PoolReloader;
import dev.roundhouse.proxy.config.ProxySettings;
import dev.roundhouse.proxy.forward.PoolRequestHandler;
import dev.roundhouse.proxy.health.HealthChecker;
import dev.roundhouse.proxy.metrics.ProxyMetrics;
import dev.roundhouse.proxy.pool.BackendPool;
import dev.roundhouse.proxy.server.HttpsRedirect;
import dev.roundhouse.proxy.server.IoThreadWatchdog;
import dev.roundhouse.proxy.server.ProxyServer;
import dev.roundhouse.proxy.server.RequestGuard;
import dev.roundhouse.proxy.status.AdminServer;
import dev.roundhouse.proxy.status.BackendActivity;
import dev.roundhouse.proxy.status.ProxyStatus;
import dev.roundhouse.proxy.status.StateChanges;
import dev.roundhouse.proxy.tls.BackendTrusts;
import dev.roundhouse.proxy.tls.TlsTermination;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.undertow.server.HttpHandler;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The Roundhouse proxy: wiring, start, and a graceful stop. Run with {@code java -jar
 * roundhouse-proxy.jar}; configured by environment variables (see {@link ProxySettings}).
 */
public final class RoundhouseProxy implements AutoCloseable {

    static {
        // Undertow and XNIO log through JBoss Logging: send it to Log4j2 like everything else.
        System.setProperty("org.jboss.logging.provider", "log4j2");
    }

    /**
     * Made on first use, not when the class loads: {@link #main} checks LOG_LEVEL and LOG_FORMAT before Log4j
     * reads its configuration, which would otherwise stumble on a bad value with a stack trace of its own.
     */
    private static final class Log {
        static final org.apache.logging.log4j.Logger log =
                org.apache.logging.log4j.LogManager.getLogger(RoundhouseProxy.class);
    }

    private final ProxySettings settings;
    private final ProxyMetrics metrics = new ProxyMetrics();
    private final Breakers breakers;
    private final BackendPool pool;
    private final PoolReloader reloader;
    private final HealthChecker healthChecker;
    private final ProxyServer server;
    private final AdminServer admin;
    private final ProxyStatus status;
    /** HTTPS for clients; null without TLS_CERT_FILE. */
    private final TlsTermination tls;

    private PoolFileWatcher fileWatcher;
    private KubernetesClient kubernetes;
    private PoolConfigMapWatcher configMapWatcher;
    private volatile IoThreadWatchdog watchdog;
    private volatile boolean draining;
    private boolean closed;

    private RoundhouseProxy(ProxySettings settings, Clock clock) {
        this.settings = settings;
        StateChanges changes = new StateChanges(clock);
        this.breakers = new Breakers(
                clock,
                (backend, from, to, reason, at) ->
                        changes.record(at, StateChanges.Kind.BREAKER, backend, from, to, reason));
        // A new backend's meters are registered as it is added, not by its first request on an I/O thread,
        // where registering them cost 0.1-0.2 ms (measured, docs/benchmark-history.md).
        this.pool = new BackendPool(breakers, metrics::prepareBackend, metrics::forgetBackend, clock);
        // Requests and health checks trust https backends through one context per backendTLS settings.
        BackendTrusts trusts = new BackendTrusts();
        PoolRequestHandler forwarding = new PoolRequestHandler(
                pool,
                metrics,
                settings.connectRetries(),
                settings.maxConnectionsPerThread(),
                trusts,
                settings.forwardedPort(),
                settings.tlsForwardedPort());
        this.tls = settings.tls() == null ? null : tlsTermination(settings.tls(), clock, metrics);
        HttpHandler served = forwarding;
        if (tls != null && settings.tls().redirect()) {
            served = new HttpsRedirect(forwarding, this::redirectPort, metrics);
        }
        this.server = new ProxyServer(
                settings, new RequestGuard(served, settings.maxRequestBody(), metrics), forwarding::close);
        if (tls != null) {
            server.listenHttps(new ProxyServer.Https(
                    tls.context(),
                    settings.tls().port(),
                    TlsTermination.PROTOCOLS,
                    tls.cipherSuites(),
                    tls.requiresClientCertificates(),
                    tls.engine() == TlsTermination.Engine.OPENSSL));
        }
        this.reloader = new PoolReloader(
                pool,
                metrics,
                change -> forwarding.configure(pool.snapshot()),
                (applied, reason) ->
                        changes.record(StateChanges.Kind.RELOAD, null, null, applied ? "applied" : "rejected", reason));
        List<org.xnio.XnioIoThread> ioThreads = new java.util.concurrent.CopyOnWriteArrayList<>();
        this.healthChecker = new HealthChecker(
                pool,
                trusts,
                (backend, check) -> {
                    if (ioThreads.isEmpty()) {
                        ioThreads.addAll(server.ioThreads());
                    }
                    // One I/O thread per backend, so its checks reuse that thread's connections to it.
                    org.xnio.XnioIoThread io =
                            ioThreads.get(Math.floorMod(backend.key().hashCode(), ioThreads.size()));
                    return forwarding.probe(io, backend, check, server.bufferPool());
                },
                changes);
        this.status = new ProxyStatus(pool, breakers, reloader, changes, new BackendActivity(metrics));
        this.admin = new AdminServer(
                settings.bindAddress(), settings.metricsPort(), metrics, status, this::ready, this::unhealthy);
        metrics.bindPool(pool, breakers.registry());
    }

    private static TlsTermination tlsTermination(ProxySettings.Tls settings, Clock clock, ProxyMetrics metrics) {
        metrics.tlsEnabled();
        try {
            return TlsTermination.start(
                    settings.certFiles(),
                    settings.keyFiles(),
                    settings.clientCaFile(),
                    engine(settings),
                    clock,
                    new TlsTermination.Listener() {
                        @Override
                        public void reloaded(boolean applied) {
                            metrics.tlsReload(applied);
                        }

                        @Override
                        public void serving(List<ServerCertificate> certificates) {
                            Map<String, Instant> expiries = new LinkedHashMap<>();
                            certificates.forEach(
                                    c -> expiries.merge(c.name(), c.notAfter(), (a, b) -> a.isBefore(b) ? a : b));
                            metrics.tlsCertificates(expiries);
                        }
                    });
        } catch (InvalidCertificateException e) {
            throw new UncheckedIOException(e.getMessage(), new IOException(e));
        }
    }

    /**
     * Loads the pool, then starts serving; throws with a clear reason when BACKENDS or POOL_FILE is
     * invalid. With POOL_CONFIGMAP it starts serving at once and is ready once the ConfigMap holds a
     * valid document.
     */
    public static RoundhouseProxy start(ProxySettings settings) throws IOException, InvalidPoolDocumentException {
        return start(settings, Clock.systemUTC());
    }

    public static RoundhouseProxy start(ProxySettings settings, Clock clock)
            throws IOException, InvalidPoolDocumentException {
        // In-cluster config (service account) or KUBECONFIG, as Fabric8 finds them.
        return start(settings, clock, () -> new KubernetesClientBuilder().build());
    }

    /**
     * @param kubernetesClients makes the client for POOL_CONFIGMAP, which the proxy then owns and
     *     closes; not called in the other modes
     */
    public static RoundhouseProxy start(
            ProxySettings settings, Clock clock, Supplier<KubernetesClient> kubernetesClients)
            throws IOException, InvalidPoolDocumentException {
        RoundhouseProxy proxy = new RoundhouseProxy(settings, clock);
        try {
            if (settings.poolFile() != null) {
                proxy.fileWatcher = new PoolFileWatcher(settings.poolFile(), proxy.reloader);
                proxy.fileWatcher.loadInitial();
                proxy.fileWatcher.start(settings.poolFilePollInterval());
            } else if (settings.poolConfigMap() != null) {
                proxy.kubernetes = kubernetesClients.get();
                proxy.configMapWatcher = new PoolConfigMapWatcher(
                        proxy.kubernetes, settings.podNamespace(), settings.poolConfigMap(), proxy.reloader);
            } else {
                proxy.reloader.apply("BACKENDS", settings.backendsPool());
            }
            proxy.server.start();
            if (proxy.tls != null) {
                proxy.tls.watch();
            }
            proxy.watchdog = IoThreadWatchdog.start(proxy.server.ioThreads(), settings.ioStallTimeout());
            proxy.admin.start(); // last, so /readyz never answers before the traffic port is bound
            proxy.healthChecker.start();
            proxy.status.start();
            if (proxy.configMapWatcher != null) {
                // Not ready (and answering 503) until the first valid document; this never waits.
                proxy.configMapWatcher.start();
            }
        } catch (IOException | InvalidPoolDocumentException | RuntimeException e) {
            proxy.close();
            throw e;
        }
        Log.log.info(
                "Roundhouse proxy listening on {}:{}{} (metrics on :{}), {} backends",
                settings.bindAddress(),
                proxy.port(),
                proxy.tls == null ? "" : " and HTTPS :" + proxy.httpsPort(),
                proxy.metricsPort(),
                proxy.pool.snapshot().size());
        return proxy;
    }

    public int port() {
        return server.port();
    }

    /** The HTTPS port TLS_REDIRECT sends clients to: TLS_REDIRECT_PORT, else the port listened on. */
    private int redirectPort() {
        int configured = settings.tls().redirectPort();
        return configured != 0 ? configured : server.httpsPort();
    }

    /** The bound HTTPS port; 0 without TLS_CERT_FILE. */
    public int httpsPort() {
        return server.httpsPort();
    }

    public int metricsPort() {
        return admin.port();
    }

    public BackendPool pool() {
        return pool;
    }

    /** The reload path: a ConfigMap watch (or a test) hands new documents to it. */
    public PoolReloader reloader() {
        return reloader;
    }

    public ProxyMetrics metrics() {
        return metrics;
    }

    /** The traffic server's I/O threads (for tests: one stuck on purpose, or their CPU time measured). */
    public java.util.List<org.xnio.XnioIoThread> ioThreads() {
        return server.ioThreads();
    }

    /** Why the proxy cannot serve, or null while it can: what {@code /healthz} says. */
    String unhealthy() {
        IoThreadWatchdog w = watchdog;
        return w == null ? null : w.stalled();
    }

    boolean ready() {
        return pool.loaded() && !draining;
    }

    /**
     * Graceful stop: not ready any more, still accepting for the shutdown delay (new connections keep coming while
     * the endpoint leaves every kube-proxy and load balancer), then stop accepting and let requests in flight finish
     * for up to the shutdown timeout, then close everything.
     */
    public synchronized void shutdown() {
        if (closed) {
            return;
        }
        draining = true;
        Duration delay = settings.shutdownDelay();
        Duration timeout = settings.shutdownTimeout();
        if (!delay.isZero()) {
            Log.log.info(
                    "Shutting down: not ready, still accepting connections for {} while clients are sent "
                            + "elsewhere",
                    Durations.format(delay));
        }
        try {
            if (!server.drain(
                    delay,
                    timeout,
                    () -> Log.log.info(
                            "Stopped accepting connections: draining {} " + "requests in flight (up to {})",
                            server.inFlight(),
                            Durations.format(timeout)))) {
                Log.log.warn("Shutdown timeout passed with {} requests still in flight", server.inFlight());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        close();
        Log.log.info("Stopped");
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        draining = true;
        if (fileWatcher != null) {
            fileWatcher.close();
        }
        if (configMapWatcher != null) {
            configMapWatcher.close();
        }
        if (kubernetes != null) {
            kubernetes.close();
        }
        healthChecker.close();
        status.close();
        if (tls != null) {
            tls.close();
        }
        if (watchdog != null) {
            watchdog.close();
        }
        server.close();
        admin.close();
        pool.close();
        metrics.close();
    }

    private static TlsTermination.Engine engine(ProxySettings.Tls tls) {
        return TlsTermination.Engine.valueOf(tls.engine().toUpperCase(java.util.Locale.ROOT));
    }

    /** The certificate files are settings too: a pair that cannot be served stops the start, as a bad variable. */
    private static void checkCertificates(ProxySettings.Tls tls) throws InvalidSettingsException {
        try {
            TlsTermination.check(tls.certFiles(), tls.keyFiles(), tls.clientCaFile(), engine(tls));
        } catch (InvalidCertificateException e) {
            throw new InvalidSettingsException(List.of(e.getMessage()));
        }
    }

    public static void main(String[] args) {
        ProxySettings settings;
        try {
            settings = ProxySettings.fromEnvironment(System.getenv());
            // What log4j2.xml reads: the checked values, set before anything starts Log4j.
            System.setProperty("roundhouse.log.level", settings.logLevel());
            System.setProperty("roundhouse.log.libraryLevel", settings.libraryLogLevel());
            System.setProperty("roundhouse.log.format", settings.logFormat());
            if (settings.poolFile() != null) {
                PoolFileWatcher.checkInitial(settings.poolFile()); // its problems are settings problems: exit 2
            }
            if (settings.tls() != null) {
                checkCertificates(settings.tls());
            }
        } catch (InvalidSettingsException e) {
            // One line per problem, before Log4j starts: nothing but what is wrong, and no stack trace.
            System.err.println("roundhouse-proxy: cannot start, invalid configuration:");
            e.problems().forEach(problem -> System.err.println("  " + problem));
            System.exit(2);
            return;
        }
        RoundhouseProxy proxy;
        try {
            proxy = start(settings);
        } catch (InvalidPoolDocumentException | IOException | RuntimeException e) {
            // What the environment could not show: a port taken, the pool file changed since it was checked.
            System.err.println("roundhouse-proxy: cannot start, "
                    + (e instanceof UncheckedIOException || e instanceof InvalidPoolDocumentException
                            ? e.getMessage()
                            : e.toString()));
            org.apache.logging.log4j.LogManager.shutdown();
            System.exit(1);
            return;
        }
        // Once serving, so that the JIT compiles the document path now rather than during reloads under traffic,
        // without holding up readiness: 1,000 rounds cost about 0.2 s of CPU once. -Droundhouse.reloadWarmUp=0 skips
        // it.
        Thread warmUp = new Thread(
                () -> PoolReloader.warmUp(Integer.getInteger("roundhouse.reloadWarmUp", 1000)), "reload-warm-up");
        warmUp.setDaemon(true);
        warmUp.setPriority(Thread.MIN_PRIORITY);
        warmUp.start();
        Runtime.getRuntime()
                .addShutdownHook(new Thread(
                        () -> {
                            proxy.shutdown();
                            org.apache.logging.log4j.LogManager.shutdown();
                            // The stop is complete and was graceful. A JVM ended by SIGTERM would still exit with 143
                            // (128 + 15),
                            // which Kubernetes and process supervisors show as an error; nothing else in this process
                            // registers a
                            // shutdown hook that halting would skip (Log4j's own is disabled, see log4j2.xml).
                            Runtime.getRuntime().halt(0);
                        },
                        "shutdown"));
    }
}
