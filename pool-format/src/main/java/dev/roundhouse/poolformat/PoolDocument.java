package dev.roundhouse.poolformat;

import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * The pool document: which backends a proxy balances over and how it treats them.
 * The operator writes it, the proxy reads it; {@link PoolDocumentCodec} is the only way in or out as JSON.
 *
 * <p>The records hold values as given and do not validate them, so that {@link PoolDocumentCodec#validate}
 * can report every problem at once instead of failing at the first constructor.
 */
public record PoolDocument(int version, List<BackendEntry> backends, HealthCheck healthCheck,
                           CircuitBreaker circuitBreaker, Timeouts timeouts) {

    public static final int CURRENT_VERSION = 1;
    /** The ConfigMap key the operator writes the document under and the proxy reads it from. */
    public static final String CONFIG_MAP_KEY = "pool.json";

    public PoolDocument {
        backends = List.copyOf(Objects.requireNonNull(backends, "backends"));
        healthCheck = healthCheck == null ? HealthCheck.DEFAULTS : healthCheck;
        circuitBreaker = circuitBreaker == null ? CircuitBreaker.DEFAULTS : circuitBreaker;
        timeouts = timeouts == null ? Timeouts.DEFAULTS : timeouts;
    }

    /** A current-version document with the given backends and every section at its defaults. */
    public static PoolDocument of(List<BackendEntry> backends) {
        return new PoolDocument(CURRENT_VERSION, backends, null, null, null);
    }

    /** One backend: an origin URL ({@link BackendUrls} rules) and its share of the traffic. */
    public record BackendEntry(String url, int weight) {
        public static final int DEFAULT_WEIGHT = 1;
    }

    /** Active health checking: GET {@code path} every {@code interval}; thresholds count consecutive results. */
    public record HealthCheck(String path, Duration interval, Duration timeout,
                              int healthyThreshold, int unhealthyThreshold) {
        public static final HealthCheck DEFAULTS =
                new HealthCheck("/", Duration.ofSeconds(30), Duration.ofSeconds(2), 2, 3);
    }

    /** Per-backend circuit breaker settings, named as in Resilience4j's CircuitBreakerConfig. */
    public record CircuitBreaker(float failureRateThreshold, int slidingWindowSize, int minimumNumberOfCalls,
                                 Duration waitDurationInOpenState, int permittedNumberOfCallsInHalfOpenState) {
        public static final CircuitBreaker DEFAULTS =
                new CircuitBreaker(50f, 20, 10, Duration.ofSeconds(10), 3);
    }

    /** Proxy-to-backend timeouts: establishing the connection, and the whole exchange. */
    public record Timeouts(Duration connect, Duration request) {
        public static final Timeouts DEFAULTS = new Timeouts(Duration.ofSeconds(3), Duration.ofSeconds(60));
    }
}
