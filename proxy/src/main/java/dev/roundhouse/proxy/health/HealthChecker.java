package dev.roundhouse.proxy.health;

import dev.roundhouse.poolformat.PoolDocument;
import dev.roundhouse.proxy.breaker.Breakers;
import dev.roundhouse.proxy.pool.Backend;
import dev.roundhouse.proxy.pool.BackendPool;
import dev.roundhouse.proxy.pool.HealthState;
import dev.roundhouse.proxy.pool.PoolSnapshot;
import dev.roundhouse.proxy.status.StateChanges;
import dev.roundhouse.proxy.tls.BackendTrust;
import dev.roundhouse.proxy.tls.BackendTrusts;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * Active health checks, off the request path: every interval, one GET per backend, all at once.
 * A 2xx or 3xx answer within the timeout passes. HTTP/2 backends are checked on the proxy's own connections to them
 * ({@link StreamChecks}), by GET or, with {@code healthCheck.grpcService}, by the gRPC health protocol. A backend leaves rotation after
 * {@code unhealthyThreshold} failures in a row and returns after {@code healthyThreshold} passes
 * in a row; backends out of rotation keep being checked on the same schedule.
 */
public final class HealthChecker implements AutoCloseable {

    /** Checks an HTTP/2 backend ({@code h2c} or {@code h2}) on the proxy's own connections to it. */
    @FunctionalInterface
    public interface StreamChecks {
        /** Completes with null when the check passed, else with the reason it failed. */
        CompletableFuture<String> check(Backend backend, PoolDocument.HealthCheck settings);
    }

    private static final Logger log = LogManager.getLogger(HealthChecker.class);

    private final BackendPool pool;
    private final BackendTrusts trusts;
    private final ScheduledExecutorService scheduler;
    /**
     * The client for http backends, made by the first check that needs one: making it sets up the JDK's TLS (its
     * default context), a fifth of a second of one CPU that start-up does not need to wait for.
     */
    private HttpClient plainClient;
    /** The client for https backends, and the settings it verifies them by; rebuilt when a document changes those. */
    private HttpClient tlsClient;

    private BackendTrust tlsTrust;
    private final AtomicBoolean running = new AtomicBoolean();

    private final StreamChecks streamChecks;
    private final StateChanges changes;

    public HealthChecker(BackendPool pool, BackendTrusts trusts, StreamChecks streamChecks, StateChanges changes) {
        this.pool = pool;
        this.changes = changes;
        this.trusts = trusts;
        this.streamChecks = streamChecks;
        this.scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "health-checks");
            t.setDaemon(true);
            return t;
        });
    }

    private HttpClient client(BackendTrust trust) {
        HttpClient.Builder builder = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .followRedirects(HttpClient.Redirect.NEVER)
                .executor(scheduler);
        if (trust != null) {
            builder.sslContext(trust.context()).sslParameters(trust.parameters());
        }
        return builder.build();
    }

    /** Runs on the scheduler's thread, as every round does. */
    private HttpClient plainClient() {
        if (plainClient == null) {
            plainClient = client(null);
        }
        return plainClient;
    }

    /** The client that checks https backends as requests reach them: the same CAs, server name and checks. */
    private HttpClient tlsClient(PoolDocument.BackendTls settings) {
        BackendTrust trust = trusts.of(settings);
        if (trust != tlsTrust) {
            tlsTrust = trust;
            tlsClient = client(trust);
        }
        return tlsClient;
    }

    /** Starts the first round at once, then one round per interval of the current document. */
    public void start() {
        if (running.compareAndSet(false, true)) {
            scheduler.execute(this::round);
        }
    }

    private void round() {
        if (!running.get()) {
            return;
        }
        long started = System.nanoTime();
        // the pool's only periodic chore: forget removed backends no document brought back in time
        pool.forgetParked();
        PoolSnapshot snapshot = pool.snapshot();
        PoolDocument document = snapshot.document();
        Duration interval = document == null
                ? Duration.ofSeconds(1)
                : document.healthCheck().interval();
        CompletableFuture<?> all = document == null
                ? CompletableFuture.completedFuture(null)
                : checkAll(snapshot.backends(), document.healthCheck(), document.backendTls());
        all.whenComplete((ignored, error) -> {
            long elapsed = System.nanoTime() - started;
            long delay = Math.max(0, interval.toNanos() - elapsed);
            try {
                scheduler.schedule(this::round, delay, TimeUnit.NANOSECONDS);
            } catch (java.util.concurrent.RejectedExecutionException stopped) {
                // closed meanwhile
            }
        });
    }

    private CompletableFuture<Void> checkAll(
            List<Backend> backends, PoolDocument.HealthCheck settings, PoolDocument.BackendTls tls) {
        CompletableFuture<?>[] checks = new CompletableFuture<?>[backends.size()];
        for (int i = 0; i < checks.length; i++) {
            Backend b = backends.get(i);
            long started = System.nanoTime();
            CompletableFuture<String> check;
            if (b.protocol().multiplexed()) {
                check = streamChecks
                        .check(b, settings)
                        .orTimeout(settings.timeout().toMillis() + 1000, TimeUnit.MILLISECONDS)
                        .exceptionally(e -> "no answer: " + e);
            } else {
                check = check("https".equals(b.uri().getScheme()) ? tlsClient(tls) : plainClient(), b, settings);
            }
            checks[i] = check.thenAcceptAsync(
                    failure -> record(
                            b,
                            new HealthState.Check(java.time.Instant.now(), System.nanoTime() - started, failure),
                            settings),
                    scheduler);
        }
        return CompletableFuture.allOf(checks);
    }

    /** Completes with null when the check passed, or with the reason it failed. */
    private CompletableFuture<String> check(HttpClient client, Backend backend, PoolDocument.HealthCheck settings) {
        HttpRequest request;
        try {
            request = HttpRequest.newBuilder(URI.create(backend.key() + settings.path()))
                    .timeout(settings.timeout())
                    .header("User-Agent", "roundhouse-health-check")
                    .GET()
                    .build();
        } catch (IllegalArgumentException e) {
            return CompletableFuture.completedFuture("invalid check URL: " + e.getMessage());
        }
        return client.sendAsync(request, HttpResponse.BodyHandlers.discarding())
                .orTimeout(settings.timeout().toMillis() + 1000, TimeUnit.MILLISECONDS)
                .handle((response, error) -> {
                    if (error != null) {
                        Throwable cause = error.getCause() != null ? error.getCause() : error;
                        return cause.getClass().getSimpleName()
                                + (cause.getMessage() == null ? "" : ": " + cause.getMessage());
                    }
                    int status = response.statusCode();
                    return status >= 200 && status < 400 ? null : "status " + status;
                });
    }

    private void record(Backend backend, HealthState.Check check, PoolDocument.HealthCheck settings) {
        String failure = check.failure();
        if (failure == null && backend.endEjection()) {
            // Ejected for failed connects: a check that got through brings it back (its breaker was opened for it).
            Breakers.close(backend.breaker(), "a health check got through");
            log.info("Backend {} back in rotation: a health check got through after its connects had failed", backend);
        }
        boolean changed = backend.health().record(check, settings.healthyThreshold(), settings.unhealthyThreshold());
        if (!changed) {
            return;
        }
        if (backend.health().isHealthy()) {
            log.info(
                    "Backend {} back in rotation: {} health checks passed in a row",
                    backend,
                    settings.healthyThreshold());
            changes.record(
                    check.at(),
                    StateChanges.Kind.HEALTH,
                    backend.key(),
                    "unhealthy",
                    "healthy",
                    settings.healthyThreshold() + " health checks passed in a row");
        } else {
            changes.record(
                    check.at(),
                    StateChanges.Kind.HEALTH,
                    backend.key(),
                    "healthy",
                    "unhealthy",
                    settings.unhealthyThreshold() + " health checks failed in a row (last: " + failure + ")");
            log.info(
                    "Backend {} out of rotation: {} health checks failed in a row (last: {})",
                    backend,
                    settings.unhealthyThreshold(),
                    failure);
        }
        pool.refreshRotation();
    }

    @Override
    public void close() {
        running.set(false);
        scheduler.shutdownNow();
    }
}
