package dev.roundhouse.proxy.config;

import dev.roundhouse.poolformat.Durations;
import dev.roundhouse.poolformat.InvalidPoolDocumentException;
import dev.roundhouse.poolformat.PoolDocument;
import dev.roundhouse.poolformat.PoolDocumentCodec;
import dev.roundhouse.poolformat.PoolLimits;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The proxy's settings, read from environment variables. The pool comes from exactly one source:
 * {@code BACKENDS} plus the tuning variables below, the pool document in {@code POOL_FILE}, or the
 * pool document in the ConfigMap {@code POOL_CONFIGMAP} (in namespace {@code POD_NAMESPACE}).
 */
public record ProxySettings(
        int port,
        int metricsPort,
        String bindAddress,
        String logLevel,
        String libraryLogLevel,
        String logFormat,
        Duration shutdownTimeout,
        Duration shutdownDelay,
        int connectRetries,
        int maxConnectionsPerThread,
        PoolDocument backendsPool,
        Path poolFile,
        Duration poolFilePollInterval,
        String poolConfigMap,
        String podNamespace,
        long maxRequestBody,
        Duration requestHeaderTimeout,
        Duration keepAliveTimeout,
        Duration ioStallTimeout,
        Tls tls,
        int forwardedPort,
        int tlsForwardedPort) {

    /**
     * HTTPS for clients ({@code TLS_*}); null when {@code TLS_CERT_FILE} is unset.
     *
     * @param certFiles PEM certificate chains, or directories of pairs
     * @param keyFiles the key of each certificate file, at the same place (empty when {@code certFiles} are
     *     directories)
     * @param port the HTTPS port ({@code TLS_PORT})
     * @param redirect whether the plain port answers every request with a 308 to HTTPS
     * @param redirectPort the HTTPS port clients are sent to: the Service's, which may differ from {@code port};
     *     0 for the port the proxy listens on
     * @param clientCaFile CA certificates client certificates must chain to (then required); null: none asked for
     * @param engine who does the TLS ({@code TLS_ENGINE}): {@code auto} (BoringSSL where it loads, else the JDK),
     *     {@code openssl} or {@code jdk}
     */
    public record Tls(
            List<Path> certFiles,
            List<Path> keyFiles,
            int port,
            boolean redirect,
            int redirectPort,
            Path clientCaFile,
            String engine) {}

    /** Default {@code TLS_PORT}: 8443, unprivileged, as containers run. */
    public static final int DEFAULT_TLS_PORT = 8443;

    public static final Duration DEFAULT_SHUTDOWN_DELAY = Duration.ofSeconds(5);
    public static final Set<String> LOG_LEVELS = Set.of("trace", "debug", "info", "warn", "error", "off");

    /** The variable that sets each field of the pool built from BACKENDS, by the field's path in the document. */
    static final Map<String, String> POOL_VARIABLES = Map.ofEntries(
            Map.entry("healthCheck.path", "HEALTH_CHECK_PATH"),
            Map.entry("healthCheck.interval", "HEALTH_CHECK_INTERVAL"),
            Map.entry("healthCheck.timeout", "HEALTH_CHECK_TIMEOUT"),
            Map.entry("healthCheck.healthyThreshold", "HEALTHY_THRESHOLD"),
            Map.entry("healthCheck.unhealthyThreshold", "UNHEALTHY_THRESHOLD"),
            Map.entry("healthCheck.grpcService", "HEALTH_CHECK_GRPC_SERVICE"),
            Map.entry("circuitBreaker.failureRateThreshold", "CB_FAILURE_RATE_THRESHOLD"),
            Map.entry("circuitBreaker.slidingWindowSize", "CB_SLIDING_WINDOW_SIZE"),
            Map.entry("circuitBreaker.minimumNumberOfCalls", "CB_MINIMUM_CALLS"),
            Map.entry("circuitBreaker.waitDurationInOpenState", "CB_WAIT_IN_OPEN"),
            Map.entry("circuitBreaker.permittedNumberOfCallsInHalfOpenState", "CB_HALF_OPEN_CALLS"),
            Map.entry("circuitBreaker.consecutiveConnectFailures", "CB_CONSECUTIVE_CONNECT_FAILURES"),
            Map.entry("circuitBreaker.grpcFailureStatuses", "CB_GRPC_FAILURE_STATUSES"),
            Map.entry("timeouts.connect", "CONNECT_TIMEOUT"),
            Map.entry("timeouts.request", "REQUEST_TIMEOUT"),
            Map.entry("backendTLS.caBundle", "BACKEND_CA_FILE"),
            Map.entry("backendTLS.serverName", "BACKEND_SERVER_NAME"),
            Map.entry("backendTLS.insecureSkipVerify", "BACKEND_TLS_INSECURE_SKIP_VERIFY"));

    /** Kubernetes object names: a DNS subdomain for the ConfigMap, a DNS label for the namespace. */
    private static final Pattern DNS_SUBDOMAIN =
            Pattern.compile("[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*");

    private static final Pattern DNS_LABEL = Pattern.compile("[a-z0-9]([-a-z0-9]*[a-z0-9])?");

    /**
     * Default {@code MAX_REQUEST_BODY}: 0, no limit. Bodies stream through to the backend, so their size
     * costs the proxy nothing but time, and the application behind it knows which uploads it accepts; a
     * default cap (nginx's 1m) would turn every larger upload into a 413 nobody configured. Envoy, HAProxy
     * and Traefik have no default limit either. Set one to refuse larger bodies at the edge.
     */
    public static final long DEFAULT_MAX_REQUEST_BODY = 0;
    /** Default {@code REQUEST_HEADER_TIMEOUT}: time a client gets to send request line and headers. */
    public static final Duration DEFAULT_REQUEST_HEADER_TIMEOUT = Duration.ofSeconds(20);
    /** Default {@code KEEP_ALIVE_TIMEOUT}: idle time allowed on a client connection with no request (nginx's 75 s). */
    public static final Duration DEFAULT_KEEP_ALIVE_TIMEOUT = Duration.ofSeconds(75);
    /**
     * Default {@code IO_STALL_TIMEOUT}: how long an I/O thread may go without running a check task before
     * {@code /healthz} answers 503. Ten checks' worth (they run every second): long enough for a slow moment, well
     * inside a liveness probe's usual 30 s.
     */
    public static final Duration DEFAULT_IO_STALL_TIMEOUT = Duration.ofSeconds(10);
    /**
     * Default {@code MAX_CONNECTIONS_PER_THREAD}: connections to one backend an I/O thread may have open, busy or
     * idle; requests beyond it wait in the proxy for one to free. nginx and HAProxy open a connection per request in
     * flight with no cap of their own, so a lower default made Roundhouse queue what they send on at once (at 256
     * clients on two backends, 64 cost a sixth of its requests per second, docs/benchmark-history.md). 512 per
     * thread is Envoy's default of 1,024 per backend on a proxy with two cores; a backend that needs fewer says so
     * here.
     */
    public static final int DEFAULT_MAX_CONNECTIONS_PER_THREAD = 512;
    /**
     * Least {@code POOL_FILE_POLL_INTERVAL}: the poll reads the whole file; much more often than this it would keep a
     * core busy (0 would spin) for changes that inotify reports anyway.
     */
    public static final Duration MIN_POOL_FILE_POLL_INTERVAL = Duration.ofMillis(10);
    /** Upper bound for both connection timeouts: Undertow takes them as int milliseconds; a day is plenty. */
    private static final Duration MAX_CONNECTION_TIMEOUT = Duration.ofHours(24);

    private static final Pattern SIZE = Pattern.compile("(\\d+)\\s*([A-Za-z]*)");

    /**
     * The name of every variable {@link #fromEnvironment} reads, whatever the pool source (it reads them all): the
     * variables the README's table documents, as a test checks.
     */
    public static Set<String> variableNames() {
        Set<String> read = new java.util.TreeSet<>();
        Map<String, String> recording = new java.util.AbstractMap<>() {
            @Override
            public String get(Object name) {
                read.add((String) name);
                return "BACKENDS".equals(name) ? "http://127.0.0.1:1" : null;
            }

            @Override
            public Set<Entry<String, String>> entrySet() {
                return Set.of();
            }
        };
        try {
            fromEnvironment(recording);
        } catch (InvalidSettingsException e) {
            throw new IllegalStateException("the defaults are valid", e);
        }
        return read;
    }

    /**
     * The default of every variable that has one, as {@link #fromEnvironment} takes it when the variable is unset
     * ({@link Duration}, {@link Integer}, {@link Long}, {@link Float}, {@link Boolean} or {@link String}): the
     * defaults the README's table documents, as a test checks. Variables without a default (unset means off, or
     * decided elsewhere) are absent.
     */
    public static Map<String, Object> defaults() {
        Reader r = new Reader(Map.of("BACKENDS", "http://127.0.0.1:1"));
        try {
            read(r);
        } catch (InvalidSettingsException e) {
            throw new IllegalStateException("the defaults are valid", e);
        }
        return java.util.Collections.unmodifiableMap(r.defaults);
    }

    /** Reads and validates every setting, collecting all problems into one exception. */
    public static ProxySettings fromEnvironment(Map<String, String> env) throws InvalidSettingsException {
        return read(new Reader(env));
    }

    private static ProxySettings read(Reader r) throws InvalidSettingsException {
        Map<String, String> env = r.env;
        int port = r.port("PORT", 8080);
        int metricsPort = r.port("METRICS_PORT", 9090);
        if (port == metricsPort && port != 0) {
            r.problem("METRICS_PORT", "must differ from PORT (" + port + ")");
        }
        String bind = r.string("BIND_ADDRESS", "0.0.0.0");
        r.checkBindAddress("BIND_ADDRESS", bind);
        String level = r.string("LOG_LEVEL", "info").toLowerCase(Locale.ROOT);
        if (!LOG_LEVELS.contains(level)) {
            r.problem(
                    "LOG_LEVEL",
                    "must be one of "
                            + String.join(", ", LOG_LEVELS.stream().sorted().toList()) + ", got '" + level + "'");
        }
        // Read by log4j2.xml for Undertow, XNIO, Resilience4j and Fabric8 (warn unless set lower).
        String libraryLevel = r.string("LIBRARY_LOG_LEVEL", "warn").toLowerCase(Locale.ROOT);
        if (!LOG_LEVELS.contains(libraryLevel)) {
            r.problem(
                    "LIBRARY_LOG_LEVEL",
                    "must be one of "
                            + String.join(", ", LOG_LEVELS.stream().sorted().toList()) + ", got '" + libraryLevel
                            + "'");
        }
        String format = r.string("LOG_FORMAT", "text").toLowerCase(Locale.ROOT);
        if (!format.equals("text") && !format.equals("json")) {
            r.problem("LOG_FORMAT", "must be text or json, got '" + format + "'");
        }
        Duration shutdown = r.duration("SHUTDOWN_TIMEOUT", Duration.ofSeconds(30));
        // Endpoints take a few seconds to leave every kube-proxy and cloud load balancer after SIGTERM.
        Duration shutdownDelay = r.duration("SHUTDOWN_DELAY", DEFAULT_SHUTDOWN_DELAY);
        int retries = r.integer("CONNECT_RETRIES", 2, 0, 10);
        int connections = r.integer("MAX_CONNECTIONS_PER_THREAD", DEFAULT_MAX_CONNECTIONS_PER_THREAD, 1, 10_000);
        Duration poll = r.duration("POOL_FILE_POLL_INTERVAL", Duration.ofSeconds(1));
        if (poll.compareTo(MIN_POOL_FILE_POLL_INTERVAL) < 0) {
            r.problem(
                    "POOL_FILE_POLL_INTERVAL",
                    "must be at least " + MIN_POOL_FILE_POLL_INTERVAL.toMillis() + "ms, got '"
                            + env.get("POOL_FILE_POLL_INTERVAL").trim() + "'");
        }
        long maxBody = r.size("MAX_REQUEST_BODY", DEFAULT_MAX_REQUEST_BODY);
        Duration headerTimeout = r.timeout("REQUEST_HEADER_TIMEOUT", DEFAULT_REQUEST_HEADER_TIMEOUT);
        Duration keepAlive = r.timeout("KEEP_ALIVE_TIMEOUT", DEFAULT_KEEP_ALIVE_TIMEOUT);
        Duration ioStall = r.duration("IO_STALL_TIMEOUT", DEFAULT_IO_STALL_TIMEOUT);
        Tls tls = r.tls(port, metricsPort);
        // The ports clients reach, when they differ from the ones listened on (a Service's 80 and 443 in front of the
        // container's 8080 and 8443): what X-Forwarded-Port says. 0: the port the client connected to.
        int forwardedPort = r.port("FORWARDED_PORT", 0);
        int tlsForwardedPort = r.port("TLS_FORWARDED_PORT", 0);
        if (tls == null && r.string("TLS_FORWARDED_PORT", null) != null) {
            r.problem("TLS_FORWARDED_PORT", "needs TLS_CERT_FILE (HTTPS is off without a certificate)");
        }
        if (ioStall.compareTo(Duration.ofSeconds(2)) < 0 || ioStall.compareTo(MAX_CONNECTION_TIMEOUT) > 0) {
            r.problem(
                    "IO_STALL_TIMEOUT",
                    "must be between 2s (the checks run every second) and 24h, got '"
                            + env.get("IO_STALL_TIMEOUT").trim() + "'");
        }

        String backends = r.string("BACKENDS", null);
        String poolFile = r.string("POOL_FILE", null);
        String configMap = r.string("POOL_CONFIGMAP", null);
        // Absent: the Kubernetes client's own namespace (kubeconfig context or service account).
        String namespace = r.string("POD_NAMESPACE", null);
        PoolDocument pool = null;
        Path file = null;
        List<String> sources = new ArrayList<>();
        if (backends != null) {
            sources.add("BACKENDS");
        }
        if (poolFile != null) {
            sources.add("POOL_FILE");
        }
        if (configMap != null) {
            sources.add("POOL_CONFIGMAP");
        }
        if (sources.size() > 1) {
            r.problem(
                    String.join(", ", sources),
                    "set only one pool source (BACKENDS, POOL_FILE or POOL_CONFIGMAP)," + " not " + sources.size());
        } else if (poolFile != null) {
            file = Path.of(poolFile);
        } else if (backends != null) {
            pool = r.poolFromBackends(backends);
        }
        if (backends == null) {
            // The tuning variables go with BACKENDS, but a typo in one is still a typo: checked whatever the source.
            r.poolFromBackends("");
        }
        // Read only with POOL_CONFIGMAP, checked whatever the source: a typo waits for the day the source changes.
        if (namespace != null
                && (namespace.length() > 63 || !DNS_LABEL.matcher(namespace).matches())) {
            r.problem("POD_NAMESPACE", "must be a namespace name (lower-case DNS label), got '" + namespace + "'");
        }
        if (sources.size() > 1 || poolFile != null || backends != null) {
            // settled above
        } else if (configMap != null) {
            if (configMap.length() > 253 || !DNS_SUBDOMAIN.matcher(configMap).matches()) {
                r.problem(
                        "POOL_CONFIGMAP",
                        "must be a ConfigMap name (lower-case DNS subdomain), got '" + configMap + "'");
            }
        } else {
            r.problem(
                    "BACKENDS",
                    "no pool: set BACKENDS (e.g. http://localhost:3000,http://localhost:3001;weight=2),"
                            + " POOL_FILE (a pool document, see docs/pool-format.md) or POOL_CONFIGMAP (a ConfigMap holding"
                            + " one under key pool.json, as the operator writes it)");
        }
        r.throwIfProblems();
        return new ProxySettings(
                port,
                metricsPort,
                bind,
                level,
                libraryLevel,
                format,
                shutdown,
                shutdownDelay,
                retries,
                connections,
                pool,
                file,
                poll,
                configMap,
                namespace,
                maxBody,
                headerTimeout,
                keepAlive,
                ioStall,
                tls,
                forwardedPort,
                tlsForwardedPort);
    }

    /**
     * Parses a size in bytes: a whole number with an optional unit, {@code B}, binary {@code KiB},
     * {@code MiB}, {@code GiB} (also Kubernetes' {@code Ki}, {@code Mi}, {@code Gi}) or decimal {@code kB},
     * {@code MB}, {@code GB} (units case-insensitive). Single letters ({@code 10m}, {@code 1k}) are refused:
     * nginx reads them as binary, Kubernetes as decimal.
     *
     * @throws IllegalArgumentException saying what is wrong
     */
    public static long parseSize(String text) {
        String t = text == null ? "" : text.trim();
        java.util.regex.Matcher m = SIZE.matcher(t);
        if (!m.matches()) {
            throw new IllegalArgumentException("must be a size such as 10MiB, 512KiB or 1048576 (bytes),"
                    + " or 0 for no limit; got '" + text + "'");
        }
        long unit = switch (m.group(2).toLowerCase(Locale.ROOT)) {
            case "", "b" -> 1L;
            case "kib", "ki" -> 1L << 10;
            case "mib", "mi" -> 1L << 20;
            case "gib", "gi" -> 1L << 30;
            case "kb" -> 1_000L;
            case "mb" -> 1_000_000L;
            case "gb" -> 1_000_000_000L;
            default ->
                throw new IllegalArgumentException(
                        "unknown unit '" + m.group(2) + "' in '" + text + "' (use B, KiB, MiB, GiB, or kB, MB, GB)");
        };
        try {
            return Math.multiplyExact(Long.parseLong(m.group(1)), unit);
        } catch (ArithmeticException | NumberFormatException e) {
            throw new IllegalArgumentException("'" + text + "' is too large");
        }
    }

    /** Collects problems so a misconfigured proxy reports all of them at once. */
    private static final class Reader {
        private final Map<String, String> env;
        private final List<String> problems = new ArrayList<>();
        /** What each variable read with a default falls back to ({@link #defaults()}). */
        final Map<String, Object> defaults = new java.util.TreeMap<>();

        /** Notes {@code name}'s default, and returns it. */
        private <T> T fallback(String name, T value) {
            if (value != null) {
                defaults.put(name, value);
            }
            return value;
        }

        Reader(Map<String, String> env) {
            this.env = env;
        }

        void problem(String name, String reason) {
            problems.add(name + ": " + reason);
        }

        void throwIfProblems() throws InvalidSettingsException {
            if (!problems.isEmpty()) {
                throw new InvalidSettingsException(problems);
            }
        }

        /**
         * An address of this host to listen on (an IP address, or a name that resolves to one here; 0.0.0.0 or ::
         * for all): checked now, so that a wrong one is a settings problem naming the variable, not a failure to
         * listen on PORT.
         */
        void checkBindAddress(String name, String address) {
            java.net.InetAddress resolved;
            try {
                resolved = java.net.InetAddress.getByName(address);
            } catch (java.net.UnknownHostException e) {
                problem(name, "must be an IP address of this host (0.0.0.0 or :: for all), got '" + address + "'");
                return;
            }
            try {
                if (!resolved.isAnyLocalAddress() && java.net.NetworkInterface.getByInetAddress(resolved) == null) {
                    problem(name, "must be an address of this host (0.0.0.0 or :: for all), got '" + address + "'");
                }
            } catch (java.net.SocketException e) {
                // the interfaces cannot be listed here: listening will tell
            }
        }

        String string(String name, String fallback) {
            fallback(name, fallback);
            String v = env.get(name);
            return v == null || v.isBlank() ? fallback : v.trim();
        }

        int port(String name, int fallback) {
            return integer(name, fallback, 0, 65535);
        }

        int integer(String name, int fallback, int min, int max) {
            fallback(name, fallback);
            String v = env.get(name);
            if (v == null || v.isBlank()) {
                return fallback;
            }
            try {
                int n = Integer.parseInt(v.trim());
                if (n < min || n > max) {
                    problem(name, "must be between " + min + " and " + max + ", got " + n);
                }
                return n;
            } catch (NumberFormatException e) {
                problem(name, "must be an integer, got '" + v + "'");
                return fallback;
            }
        }

        float number(String name, float fallback) {
            fallback(name, fallback);
            String v = env.get(name);
            if (v == null || v.isBlank()) {
                return fallback;
            }
            try {
                return Float.parseFloat(v.trim());
            } catch (NumberFormatException e) {
                problem(name, "must be a number, got '" + v + "'");
                return fallback;
            }
        }

        Duration duration(String name, Duration fallback) {
            fallback(name, fallback);
            String v = env.get(name);
            if (v == null || v.isBlank()) {
                return fallback;
            }
            try {
                return Durations.parse(v.trim());
            } catch (IllegalArgumentException e) {
                problem(name, e.getMessage());
                return fallback;
            }
        }

        /**
         * TLS_CERT_FILE and TLS_KEY_FILE as lists of the same length (or TLS_CERT_FILE alone naming directories),
         * TLS_PORT, TLS_REDIRECT, TLS_REDIRECT_PORT and TLS_CLIENT_CA_FILE; the files themselves are read when the
         * proxy starts. Null without TLS_CERT_FILE, when the others are refused.
         */
        Tls tls(int port, int metricsPort) {
            List<Path> certs = paths("TLS_CERT_FILE");
            List<Path> keys = paths("TLS_KEY_FILE");
            int tlsPort = port("TLS_PORT", DEFAULT_TLS_PORT);
            boolean redirect = bool("TLS_REDIRECT", false);
            int redirectPort = port("TLS_REDIRECT_PORT", 0);
            String clientCa = string("TLS_CLIENT_CA_FILE", null);
            String engine = string("TLS_ENGINE", "auto").toLowerCase(Locale.ROOT);
            if (!List.of("auto", "openssl", "jdk").contains(engine)) {
                problem("TLS_ENGINE", "must be auto, openssl or jdk, got '" + engine + "'");
            }
            if (certs.isEmpty()) {
                for (String other : List.of(
                        "TLS_KEY_FILE",
                        "TLS_PORT",
                        "TLS_REDIRECT",
                        "TLS_REDIRECT_PORT",
                        "TLS_CLIENT_CA_FILE",
                        "TLS_ENGINE")) {
                    if (string(other, null) != null) {
                        problem(other, "needs TLS_CERT_FILE (HTTPS is off without a certificate)");
                    }
                }
                return null;
            }
            boolean directories = keys.isEmpty();
            if (directories) {
                for (Path cert : certs) {
                    if (!java.nio.file.Files.isDirectory(cert)) {
                        problem(
                                "TLS_KEY_FILE",
                                "must be set when TLS_CERT_FILE names files (" + cert + "); without it, TLS_CERT_FILE "
                                        + "names directories of tls.crt and tls.key pairs");
                        break;
                    }
                }
            } else if (keys.size() != certs.size()) {
                problem(
                        "TLS_KEY_FILE",
                        "must name one key per certificate file: " + certs.size() + " in TLS_CERT_FILE, " + keys.size()
                                + " here");
            }
            if (tlsPort != 0 && (tlsPort == port || tlsPort == metricsPort)) {
                problem("TLS_PORT", "must differ from PORT (" + port + ") and METRICS_PORT (" + metricsPort + ")");
            }
            return new Tls(
                    certs,
                    directories ? List.of() : keys,
                    tlsPort,
                    redirect,
                    redirectPort,
                    clientCa == null ? null : Path.of(clientCa),
                    engine);
        }

        /** A comma-separated list of paths; empty when unset. */
        List<Path> paths(String name) {
            String v = string(name, null);
            if (v == null) {
                return List.of();
            }
            List<Path> paths = new ArrayList<>();
            for (String part : v.split(",")) {
                if (!part.isBlank()) {
                    paths.add(Path.of(part.trim()));
                }
            }
            return List.copyOf(paths);
        }

        boolean bool(String name, boolean fallback) {
            fallback(name, fallback);
            String v = string(name, null);
            if (v == null) {
                return fallback;
            }
            return switch (v.toLowerCase(Locale.ROOT)) {
                case "true" -> true;
                case "false" -> false;
                default -> {
                    problem(name, "must be true or false, got '" + v + "'");
                    yield fallback;
                }
            };
        }

        /** The text of the file the variable names, read once at start; null when unset. */
        String fileText(String name) {
            String v = string(name, null);
            if (v == null) {
                return null;
            }
            try {
                return java.nio.file.Files.readString(Path.of(v), java.nio.charset.StandardCharsets.US_ASCII);
            } catch (java.io.IOException | RuntimeException e) {
                problem(
                        name,
                        "cannot read '" + v + "': "
                                + (e instanceof java.nio.file.NoSuchFileException ? "no such file" : e.getMessage()));
                return null;
            }
        }

        /** Comma-separated names; null when unset (the default), an empty list when set to nothing. */
        List<String> names(String name) {
            String v = env.get(name);
            if (v == null) {
                return null;
            }
            return v.isBlank()
                    ? List.of()
                    : java.util.Arrays.stream(v.split(",", -1))
                            .map(String::trim)
                            .toList();
        }

        /** A size in bytes (see {@link #parseSize}); 0 means no limit. */
        long size(String name, long fallback) {
            fallback(name, fallback);
            String v = env.get(name);
            if (v == null || v.isBlank()) {
                return fallback;
            }
            try {
                return parseSize(v);
            } catch (IllegalArgumentException e) {
                problem(name, e.getMessage());
                return fallback;
            }
        }

        /** A connection timeout: a duration from 1ms to 24h. */
        Duration timeout(String name, Duration fallback) {
            String v = env.get(name);
            Duration d = duration(name, fallback);
            if (v != null
                    && !v.isBlank()
                    && (d.compareTo(Duration.ofMillis(1)) < 0 || d.compareTo(MAX_CONNECTION_TIMEOUT) > 0)) {
                problem(name, "must be between 1ms and 24h, got '" + v.trim() + "'");
                return fallback;
            }
            return d;
        }

        /** A pool document problem ({@code healthCheck.interval: ...}) in the words of the variable that set it. */
        private static String variableOf(String problem) {
            int colon = problem.indexOf(':');
            String path = colon < 0 ? problem : problem.substring(0, colon);
            String variable = POOL_VARIABLES.get(path);
            if (variable == null && path.endsWith("]")) {
                variable = POOL_VARIABLES.get(path.substring(0, path.lastIndexOf('['))); // one item of a list
            }
            if (variable == null) {
                variable = path.startsWith("backends") ? "BACKENDS" : null;
            }
            return variable == null
                    ? "pool from environment: " + problem
                    : variable + (colon < 0 ? "" : problem.substring(colon));
        }

        /** BACKENDS plus the tuning variables, validated by the same rules as a pool document. */
        PoolDocument poolFromBackends(String backends) {
            List<PoolDocument.BackendEntry> entries = new ArrayList<>();
            try {
                entries = backends.isEmpty() ? List.of() : BackendList.parse(backends);
            } catch (IllegalArgumentException e) {
                problem("BACKENDS", e.getMessage());
            }
            PoolDocument.HealthCheck h = PoolDocument.HealthCheck.DEFAULTS;
            PoolDocument.CircuitBreaker c = PoolDocument.CircuitBreaker.DEFAULTS;
            PoolDocument.Timeouts t = PoolDocument.Timeouts.DEFAULTS;
            PoolDocument doc = new PoolDocument(
                            PoolDocument.CURRENT_VERSION,
                            entries,
                            new PoolDocument.HealthCheck(
                                    string("HEALTH_CHECK_PATH", h.path()),
                                    duration("HEALTH_CHECK_INTERVAL", h.interval()),
                                    duration("HEALTH_CHECK_TIMEOUT", h.timeout()),
                                    integer("HEALTHY_THRESHOLD", h.healthyThreshold(), 1, 100),
                                    integer("UNHEALTHY_THRESHOLD", h.unhealthyThreshold(), 1, 100),
                                    // Set, even empty (the server as a whole), it turns the gRPC health check on.
                                    env.get("HEALTH_CHECK_GRPC_SERVICE") == null
                                            ? null
                                            : env.get("HEALTH_CHECK_GRPC_SERVICE")
                                                    .trim()),
                            new PoolDocument.CircuitBreaker(
                                    number("CB_FAILURE_RATE_THRESHOLD", c.failureRateThreshold()),
                                    integer("CB_SLIDING_WINDOW_SIZE", c.slidingWindowSize(), 1, 10_000),
                                    integer("CB_MINIMUM_CALLS", c.minimumNumberOfCalls(), 1, 10_000),
                                    duration("CB_WAIT_IN_OPEN", c.waitDurationInOpenState()),
                                    integer("CB_HALF_OPEN_CALLS", c.permittedNumberOfCallsInHalfOpenState(), 1, 1000),
                                    integer(
                                            "CB_CONSECUTIVE_CONNECT_FAILURES",
                                            c.consecutiveConnectFailures(),
                                            PoolLimits.MIN_CONSECUTIVE_CONNECT_FAILURES,
                                            PoolLimits.MAX_CONSECUTIVE_CONNECT_FAILURES),
                                    names("CB_GRPC_FAILURE_STATUSES")),
                            new PoolDocument.Timeouts(
                                    duration("CONNECT_TIMEOUT", t.connect()), duration("REQUEST_TIMEOUT", t.request())),
                            new PoolDocument.BackendTls(
                                    fileText("BACKEND_CA_FILE"),
                                    string("BACKEND_SERVER_NAME", null),
                                    bool("BACKEND_TLS_INSECURE_SKIP_VERIFY", false)))
                    .atLowestVersion();
            try {
                PoolDocumentCodec.validate(doc);
            } catch (InvalidPoolDocumentException e) {
                e.problems().forEach(p -> problems.add(variableOf(p)));
            }
            return doc;
        }
    }
}
