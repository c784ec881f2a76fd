package dev.roundhouse.proxy.metrics;

/**
 * Every meter and label name the proxy publishes, in one place. Micrometer's Prometheus naming adds
 * the unit and {@code _total} suffixes: {@code roundhouse.requests} is scraped as
 * {@code roundhouse_requests_total}. Dashboards, alerts and docs refer to the scraped names.
 */
public final class MetricNames {

    /** Counter {@code roundhouse_requests_total{method,status,backend}}. */
    public static final String REQUESTS = "roundhouse.requests";
    /** Histogram {@code roundhouse_request_duration_seconds{method,backend}}, buckets 1 ms to 10 s. */
    public static final String REQUEST_DURATION = "roundhouse.request.duration";
    /** Counter {@code roundhouse_errors_total{type,backend}}. */
    public static final String ERRORS = "roundhouse.errors";
    /** Gauge {@code roundhouse_backends}: backends in the applied pool document. */
    public static final String BACKENDS = "roundhouse.backends";
    /** Gauge {@code roundhouse_backends_healthy}: backends passing their active health checks. */
    public static final String BACKENDS_HEALTHY = "roundhouse.backends.healthy";
    /** Counter {@code roundhouse_config_reloads_total{result}}: result is applied or invalid. */
    public static final String CONFIG_RELOADS = "roundhouse.config.reloads";
    /** Gauge {@code roundhouse_config_version}: the {@code version} field of the applied document. */
    public static final String CONFIG_VERSION = "roundhouse.config.version";
    /**
     * Gauge {@code roundhouse_config_info{hash}} = 1: which document is live, as the first 12 hex characters of
     * the SHA-256 of its text. One series at a time; absent before the first document.
     */
    public static final String CONFIG_INFO = "roundhouse.config.info";
    /**
     * Counter {@code roundhouse_tls_reloads_total{result}}: certificate sets read after their files changed,
     * {@code applied} or {@code invalid} (the last good set stays); only with HTTPS on.
     */
    public static final String TLS_RELOADS = "roundhouse.tls.reloads";
    /**
     * Gauge {@code roundhouse_tls_certificate_expiry_seconds{certificate}}: when each served certificate expires, as
     * Unix time; {@code certificate} is its first DNS name. Only with HTTPS on.
     */
    public static final String TLS_CERTIFICATE_EXPIRY = "roundhouse.tls.certificate.expiry";

    /**
     * Counter {@code roundhouse_grpc_calls_total{backend,grpc_status}}: gRPC calls by the status their client got
     * ({@code OK}, {@code UNAVAILABLE}, ...: the 17 canonical names; backend {@code none} for the proxy's own answers).
     */
    public static final String GRPC_CALLS = "roundhouse.grpc.calls";

    public static final String TAG_GRPC_STATUS = "grpc_status";
    public static final String TAG_METHOD = "method";
    public static final String TAG_STATUS = "status";
    public static final String TAG_BACKEND = "backend";
    public static final String TAG_TYPE = "type";
    public static final String TAG_RESULT = "result";
    public static final String TAG_HASH = "hash";
    public static final String TAG_CERTIFICATE = "certificate";

    /** Backend label of requests no backend served (no backend available, all connects failed). */
    public static final String NO_BACKEND = "none";
    /** Method label for methods outside the standard set, which keeps the label bounded. */
    public static final String OTHER_METHOD = "other";

    /** Error types that are not an attempt on a backend. */
    public static final String ERROR_NO_BACKEND = "no_backend";

    public static final String ERROR_CIRCUIT_OPEN = "circuit_open";

    public static final String RELOAD_APPLIED = "applied";
    public static final String RELOAD_INVALID = "invalid";

    private MetricNames() {}
}
