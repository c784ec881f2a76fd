package dev.roundhouse.poolformat;

import static dev.roundhouse.poolformat.PoolLimits.*;

import dev.roundhouse.poolformat.PoolDocument.BackendEntry;
import dev.roundhouse.poolformat.PoolDocument.BackendTls;
import dev.roundhouse.poolformat.PoolDocument.CircuitBreaker;
import dev.roundhouse.poolformat.PoolDocument.HealthCheck;
import dev.roundhouse.poolformat.PoolDocument.Timeouts;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/** The value rules of a pool document, checked on the typed object so parsed and built documents share them. */
final class PoolDocumentRules {

    private static final Duration SHORTEST = Durations.parse(MIN_DURATION);
    private static final Duration LONGEST = Durations.parse(MAX_DURATION);
    /** A DNS name (RFC 1123), as SNI carries it: letters, digits and hyphens in dot-separated labels. */
    private static final Pattern DNS_NAME =
            Pattern.compile("(?i)[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*");

    /** A fully-qualified protobuf service name, or empty (the server as a whole, in grpc.health.v1). */
    private static final Pattern GRPC_SERVICE =
            Pattern.compile("([A-Za-z_][A-Za-z0-9_]*(\\.[A-Za-z_][A-Za-z0-9_]*)*)?");

    static final int MAX_GRPC_SERVICE_LENGTH = 256;

    private PoolDocumentRules() {}

    static void check(PoolDocument doc, Problems problems) {
        if (!supported(doc.version())) {
            problems.add("version", unsupportedVersion(String.valueOf(doc.version())));
        } else {
            if (doc.version() < PoolDocument.VERSION_2
                    && doc.circuitBreaker().consecutiveConnectFailures()
                            != CircuitBreaker.DEFAULT_CONSECUTIVE_CONNECT_FAILURES) {
                problems.add("circuitBreaker.consecutiveConnectFailures", needsVersion(PoolDocument.VERSION_2, doc));
            }
            if (doc.version() < PoolDocument.VERSION_3 && !doc.backendTls().equals(BackendTls.DEFAULTS)) {
                problems.add("backendTLS", needsVersion(PoolDocument.VERSION_3, doc));
            }
            if (doc.version() < PoolDocument.VERSION_4
                    && !doc.circuitBreaker().grpcFailureStatuses().equals(GrpcStatuses.DEFAULT_FAILURES)) {
                problems.add("circuitBreaker.grpcFailureStatuses", needsVersion(PoolDocument.VERSION_4, doc));
            }
            if (doc.version() < PoolDocument.VERSION_4 && doc.healthCheck().grpc()) {
                problems.add("healthCheck.grpcService", needsVersion(PoolDocument.VERSION_4, doc));
            }
            if (doc.version() < PoolDocument.VERSION_4) {
                for (int i = 0; i < doc.backends().size(); i++) {
                    BackendProtocol protocol = doc.backends().get(i).protocol();
                    if (protocol != null && protocol != BackendProtocol.DEFAULT) {
                        problems.add(backendPath(i, "protocol"), needsVersion(PoolDocument.VERSION_4, doc));
                    }
                }
            }
        }
        checkBackends(doc.backends(), problems);

        HealthCheck health = doc.healthCheck();
        checkHealthPath("healthCheck.path", health.path(), problems);
        checkDuration("healthCheck.interval", health.interval(), problems);
        if (health.grpc()
                && (health.grpcService().length() > MAX_GRPC_SERVICE_LENGTH
                        || !GRPC_SERVICE.matcher(health.grpcService()).matches())) {
            problems.add(
                    "healthCheck.grpcService",
                    "must be a gRPC service name such as shop.v1.Cart (letters, digits, '_' and '.'; empty for the"
                            + " whole server), at most " + MAX_GRPC_SERVICE_LENGTH + " characters, got '"
                            + health.grpcService() + "'");
        }
        checkDuration("healthCheck.timeout", health.timeout(), problems);
        checkRange("healthCheck.healthyThreshold", health.healthyThreshold(), MIN_THRESHOLD, MAX_THRESHOLD, problems);
        checkRange(
                "healthCheck.unhealthyThreshold", health.unhealthyThreshold(), MIN_THRESHOLD, MAX_THRESHOLD, problems);

        CircuitBreaker breaker = doc.circuitBreaker();
        float rate = breaker.failureRateThreshold();
        if (!(rate > MIN_FAILURE_RATE_EXCLUSIVE && rate <= MAX_FAILURE_RATE)) {
            problems.add("circuitBreaker.failureRateThreshold", "must be greater than 0 and at most 100, got " + rate);
        }
        checkRange(
                "circuitBreaker.slidingWindowSize", breaker.slidingWindowSize(), 1, MAX_SLIDING_WINDOW_SIZE, problems);
        checkRange(
                "circuitBreaker.minimumNumberOfCalls",
                breaker.minimumNumberOfCalls(),
                1,
                MAX_MINIMUM_NUMBER_OF_CALLS,
                problems);
        checkDuration("circuitBreaker.waitDurationInOpenState", breaker.waitDurationInOpenState(), problems);
        checkRange(
                "circuitBreaker.permittedNumberOfCallsInHalfOpenState",
                breaker.permittedNumberOfCallsInHalfOpenState(),
                1,
                MAX_PERMITTED_CALLS_IN_HALF_OPEN_STATE,
                problems);
        List<String> statuses = breaker.grpcFailureStatuses();
        for (int i = 0; i < statuses.size(); i++) {
            String status = statuses.get(i);
            String path = "circuitBreaker.grpcFailureStatuses[" + i + "]";
            if (GrpcStatuses.code(status) < 0) {
                problems.add(path, "must be a gRPC status name such as UNAVAILABLE, got '" + status + "'");
            } else if (statuses.indexOf(status) != i) {
                problems.add(path, "duplicate of circuitBreaker.grpcFailureStatuses[" + statuses.indexOf(status) + "]");
            }
        }
        checkRange(
                "circuitBreaker.consecutiveConnectFailures",
                breaker.consecutiveConnectFailures(),
                MIN_CONSECUTIVE_CONNECT_FAILURES,
                MAX_CONSECUTIVE_CONNECT_FAILURES,
                problems);

        Timeouts timeouts = doc.timeouts();
        checkDuration("timeouts.connect", timeouts.connect(), problems);
        checkDuration("timeouts.request", timeouts.request(), problems);

        checkBackendTls(doc.backendTls(), problems);
    }

    private static String needsVersion(int version, PoolDocument doc) {
        return "needs version " + version + " of the pool document, got version " + doc.version();
    }

    private static void checkBackendTls(BackendTls tls, Problems problems) {
        String bundle = tls.caBundle();
        if (bundle != null) {
            if (tls.insecureSkipVerify()) {
                problems.add(
                        "backendTLS.insecureSkipVerify",
                        "cannot be combined with caBundle (a CA bundle is for verifying certificates)");
            }
            String problem = caBundleProblem(bundle);
            if (problem != null) {
                problems.add("backendTLS.caBundle", problem);
            }
        }
        String name = tls.serverName();
        if (name != null
                && (name.length() > MAX_SERVER_NAME_LENGTH
                        || !DNS_NAME.matcher(name).matches())) {
            problems.add(
                    "backendTLS.serverName",
                    "must be a DNS name such as backend.shop.svc, got '"
                            + (name.length() > 80 ? name.substring(0, 80) + "..." : name) + "'");
        }
    }

    /** What is wrong with a CA bundle, or null when it holds one or more PEM certificates and nothing else. */
    static String caBundleProblem(String bundle) {
        if (bundle.length() > MAX_CA_BUNDLE_LENGTH) {
            return "at most " + MAX_CA_BUNDLE_LENGTH + " characters, got " + bundle.length();
        }
        if (!bundle.contains("-----BEGIN CERTIFICATE-----")) {
            return "must hold PEM certificates (-----BEGIN CERTIFICATE-----), found none";
        }
        try {
            Collection<? extends Certificate> certificates = CertificateFactory.getInstance("X.509")
                    .generateCertificates(new ByteArrayInputStream(bundle.getBytes(StandardCharsets.US_ASCII)));
            return certificates.isEmpty() ? "must hold PEM certificates, found none" : null;
        } catch (CertificateException e) {
            return "not a valid PEM certificate bundle: " + e.getMessage();
        }
    }

    static boolean supported(int version) {
        return version >= PoolDocument.VERSION_1 && version <= PoolDocument.CURRENT_VERSION;
    }

    static String unsupportedVersion(String version) {
        return "unsupported version " + version + " (this build reads versions " + PoolDocument.VERSION_1 + " to "
                + PoolDocument.CURRENT_VERSION + ")";
    }

    private static void checkBackends(List<BackendEntry> backends, Problems problems) {
        if (backends.size() > MAX_BACKENDS) {
            problems.add("backends", "at most " + MAX_BACKENDS + " entries, got " + backends.size());
        }
        Map<String, Integer> firstIndexByKey = new HashMap<>();
        for (int i = 0; i < backends.size(); i++) {
            BackendEntry entry = backends.get(i);
            if (entry.url() == null) {
                problems.add(backendPath(i, "url"), "required");
            } else {
                try {
                    String key = BackendUrls.key(entry.url());
                    Integer first = firstIndexByKey.putIfAbsent(key, i);
                    if (first != null) {
                        problems.add(
                                backendPath(i, "url"), "duplicate of backends[" + first + "] (both are " + key + ")");
                    }
                    BackendProtocol protocol = entry.protocol();
                    String scheme = key.substring(0, key.indexOf(':'));
                    if (protocol != null && !protocol.fits(scheme)) {
                        problems.add(
                                backendPath(i, "protocol"),
                                protocol.wireName() + " needs an " + protocol.scheme() + " URL, got " + key);
                    }
                } catch (IllegalArgumentException e) {
                    problems.add(backendPath(i, "url"), e.getMessage());
                }
            }
            if (entry.protocol() == null) {
                problems.add(backendPath(i, "protocol"), "required, one of " + BackendProtocol.names());
            }
            String weightProblem = rangeProblem(entry.weight(), MIN_WEIGHT, MAX_WEIGHT);
            if (weightProblem != null) {
                problems.add(backendPath(i, "weight"), weightProblem);
            }
        }
    }

    /** Built only for a problem: this runs on every reload, mostly as interpreted code. */
    private static String backendPath(int index, String field) {
        return "backends[" + index + "]." + field;
    }

    private static void checkHealthPath(String path, String value, Problems problems) {
        if (value == null) {
            problems.add(path, "required");
        } else if (!value.startsWith("/")) {
            problems.add(path, "must start with '/', got '" + value + "'");
        } else if (value.length() > MAX_HEALTH_PATH_LENGTH) {
            problems.add(path, "at most " + MAX_HEALTH_PATH_LENGTH + " characters, got " + value.length());
        } else if (hasSpaceOrControl(value)) {
            problems.add(path, "must not contain whitespace or control characters");
        }
    }

    private static boolean hasSpaceOrControl(String value) {
        for (int i = 0; i < value.length(); ) {
            int c = value.codePointAt(i);
            if (Character.isWhitespace(c) || Character.isSpaceChar(c) || Character.isISOControl(c)) {
                return true;
            }
            i += Character.charCount(c);
        }
        return false;
    }

    private static void checkDuration(String path, Duration value, Problems problems) {
        if (value == null) {
            problems.add(path, "required");
        } else if (value.compareTo(SHORTEST) < 0 || value.compareTo(LONGEST) > 0) {
            String shown = value.isNegative() ? value.toString() : Durations.format(value);
            problems.add(path, "must be between " + MIN_DURATION + " and " + MAX_DURATION + ", got " + shown);
        }
    }

    private static void checkRange(String path, int value, int min, int max, Problems problems) {
        String problem = rangeProblem(value, min, max);
        if (problem != null) {
            problems.add(path, problem);
        }
    }

    /** What is wrong with {@code value}, or null when it is within [min, max]. */
    private static String rangeProblem(int value, int min, int max) {
        return value < min || value > max ? "must be between " + min + " and " + max + ", got " + value : null;
    }
}
