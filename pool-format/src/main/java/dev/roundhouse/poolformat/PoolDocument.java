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
public record PoolDocument(
        int version,
        List<BackendEntry> backends,
        HealthCheck healthCheck,
        CircuitBreaker circuitBreaker,
        Timeouts timeouts,
        BackendTls backendTls) {

    /** The first version: everything but {@code circuitBreaker.consecutiveConnectFailures}. */
    public static final int VERSION_1 = 1;
    /** Adds {@code circuitBreaker.consecutiveConnectFailures}. */
    public static final int VERSION_2 = 2;
    /** Adds {@code backendTLS}. */
    public static final int VERSION_3 = 3;
    /**
     * Adds {@code backends[].protocol}, {@code healthCheck.grpcService} and {@code
     * circuitBreaker.grpcFailureStatuses}.
     */
    public static final int VERSION_4 = 4;
    /** The highest version this build reads and writes; it reads every version from {@link #VERSION_1} on. */
    public static final int CURRENT_VERSION = VERSION_4;
    /** The ConfigMap key the operator writes the document under and the proxy reads it from. */
    public static final String CONFIG_MAP_KEY = "pool.json";

    public PoolDocument {
        backends = List.copyOf(Objects.requireNonNull(backends, "backends"));
        healthCheck = healthCheck == null ? HealthCheck.DEFAULTS : healthCheck;
        circuitBreaker = circuitBreaker == null ? CircuitBreaker.DEFAULTS : circuitBreaker;
        timeouts = timeouts == null ? Timeouts.DEFAULTS : timeouts;
        backendTls = backendTls == null ? BackendTls.DEFAULTS : backendTls;
    }

    /** A document without {@code backendTLS} (its defaults): every section of versions 1 and 2. */
    public PoolDocument(
            int version,
            List<BackendEntry> backends,
            HealthCheck healthCheck,
            CircuitBreaker circuitBreaker,
            Timeouts timeouts) {
        this(version, backends, healthCheck, circuitBreaker, timeouts, null);
    }

    /** A document with the given backends and every section at its defaults, at the lowest version. */
    public static PoolDocument of(List<BackendEntry> backends) {
        return new PoolDocument(VERSION_1, backends, null, null, null, null);
    }

    /**
     * The lowest version that expresses this document: what writers write, so that a proxy of an older build
     * keeps reading every document that uses nothing newer.
     */
    public int lowestVersion() {
        if (healthCheck.grpc() || !circuitBreaker.grpcFailureStatuses().equals(GrpcStatuses.DEFAULT_FAILURES)) {
            return VERSION_4;
        }
        for (BackendEntry entry : backends) {
            if (entry.protocol() != BackendProtocol.DEFAULT) {
                return VERSION_4;
            }
        }
        if (!backendTls.equals(BackendTls.DEFAULTS)) {
            return VERSION_3;
        }
        return circuitBreaker.consecutiveConnectFailures() != CircuitBreaker.DEFAULT_CONSECUTIVE_CONNECT_FAILURES
                ? VERSION_2
                : VERSION_1;
    }

    /** This document at {@link #lowestVersion()}. */
    public PoolDocument atLowestVersion() {
        return new PoolDocument(lowestVersion(), backends, healthCheck, circuitBreaker, timeouts, backendTls);
    }

    /**
     * One backend: an origin URL ({@link BackendUrls} rules), its share of the traffic, and the protocol it is
     * spoken to in (null only while a document is read: an unknown name, reported by validation).
     */
    public record BackendEntry(String url, int weight, BackendProtocol protocol) {
        public static final int DEFAULT_WEIGHT = 1;

        /** An HTTP/1.1 backend. */
        public BackendEntry(String url, int weight) {
            this(url, weight, BackendProtocol.DEFAULT);
        }
    }

    /** Active health checking: GET {@code path} every {@code interval}; thresholds count consecutive results. */
    public record HealthCheck(
            String path,
            Duration interval,
            Duration timeout,
            int healthyThreshold,
            int unhealthyThreshold,
            String grpcService) {
        public static final HealthCheck DEFAULTS =
                new HealthCheck("/", Duration.ofSeconds(30), Duration.ofSeconds(2), 2, 3);

        /** Checks by HTTP GET of {@code path} only (no gRPC health service). */
        public HealthCheck(
                String path, Duration interval, Duration timeout, int healthyThreshold, int unhealthyThreshold) {
            this(path, interval, timeout, healthyThreshold, unhealthyThreshold, null);
        }

        /** Whether HTTP/2 backends are checked by the gRPC health protocol ({@code grpcService} is set). */
        public boolean grpc() {
            return grpcService != null;
        }
    }

    /**
     * Per-backend circuit breaker settings, named as in Resilience4j's CircuitBreakerConfig, and
     * {@code consecutiveConnectFailures}: that many failed connects in a row open a backend's breaker at once,
     * whatever the failure rate (0: never), until a health check or a half-open probe gets through.
     */
    public record CircuitBreaker(
            float failureRateThreshold,
            int slidingWindowSize,
            int minimumNumberOfCalls,
            Duration waitDurationInOpenState,
            int permittedNumberOfCallsInHalfOpenState,
            int consecutiveConnectFailures,
            List<String> grpcFailureStatuses) {
        public static final int DEFAULT_CONSECUTIVE_CONNECT_FAILURES = 3;
        public static final CircuitBreaker DEFAULTS =
                new CircuitBreaker(50f, 20, 10, Duration.ofSeconds(10), 3, DEFAULT_CONSECUTIVE_CONNECT_FAILURES);

        public CircuitBreaker {
            grpcFailureStatuses =
                    grpcFailureStatuses == null ? GrpcStatuses.DEFAULT_FAILURES : List.copyOf(grpcFailureStatuses);
        }

        /** Version 2's settings, with {@code grpcFailureStatuses} at its default. */
        public CircuitBreaker(
                float failureRateThreshold,
                int slidingWindowSize,
                int minimumNumberOfCalls,
                Duration waitDurationInOpenState,
                int permittedNumberOfCallsInHalfOpenState,
                int consecutiveConnectFailures) {
            this(
                    failureRateThreshold,
                    slidingWindowSize,
                    minimumNumberOfCalls,
                    waitDurationInOpenState,
                    permittedNumberOfCallsInHalfOpenState,
                    consecutiveConnectFailures,
                    null);
        }

        /** Version 1's settings, with {@code consecutiveConnectFailures} at its default. */
        public CircuitBreaker(
                float failureRateThreshold,
                int slidingWindowSize,
                int minimumNumberOfCalls,
                Duration waitDurationInOpenState,
                int permittedNumberOfCallsInHalfOpenState) {
            this(
                    failureRateThreshold,
                    slidingWindowSize,
                    minimumNumberOfCalls,
                    waitDurationInOpenState,
                    permittedNumberOfCallsInHalfOpenState,
                    DEFAULT_CONSECUTIVE_CONNECT_FAILURES);
        }
    }

    /** Proxy-to-backend timeouts: establishing the connection, and the whole exchange. */
    public record Timeouts(Duration connect, Duration request) {
        public static final Timeouts DEFAULTS = new Timeouts(Duration.ofSeconds(3), Duration.ofSeconds(60));
    }

    /**
     * How the proxy verifies {@code https} backends (version 3). By default it trusts the JVM's CAs and checks
     * that each backend's certificate names the host in its URL.
     *
     * @param caBundle PEM certificates to trust instead of the default CAs, or null
     * @param serverName the name sent as SNI and checked against each backend's certificate instead of the host
     *     in its URL (backends are usually pod IPs, their certificates name a Service), or null
     * @param insecureSkipVerify accept any certificate, unchecked: for trying things out, never for production
     */
    public record BackendTls(String caBundle, String serverName, boolean insecureSkipVerify) {
        public static final BackendTls DEFAULTS = new BackendTls(null, null, false);
    }
}
