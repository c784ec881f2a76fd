package dev.roundhouse.operator;

import io.javaoperatorsdk.operator.api.reconciler.Context;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The operator's settings, from environment variables (docs/install.md lists them). {@code WATCH_NAMESPACES}:
 * comma-separated, empty for all namespaces. {@code PROXY_IMAGE}: the proxy image when a LoadBalancer names none.
 * {@code PROXY_IMAGE_PULL_SECRETS}: Secrets (comma-separated names) every proxy pod pulls its image with.
 * {@code LEADER_ELECTION_LEASE}: the Lease the replicas elect a leader with, in {@code POD_NAMESPACE}; one per
 * installation, so that two releases in one namespace do not take turns leading each other's.
 * {@code logFormat} and {@code libraryLogLevel} (null: each library's default) only matter to {@code main}, which
 * hands them to Log4j.
 */
public record OperatorSettings(
        Set<String> watchNamespaces,
        String proxyImage,
        String logLevel,
        int httpPort,
        boolean leaderElection,
        String leaseNamespace,
        String leaseName,
        String logFormat,
        String libraryLogLevel,
        List<String> proxyImagePullSecrets) {

    /** The leader-election Lease when {@code LEADER_ELECTION_LEASE} names none. */
    public static final String DEFAULT_LEASE_NAME = "roundhouse-operator";

    /** The image the release workflow publishes for this release. */
    public static final String DEFAULT_PROXY_IMAGE = "ghcr.io/roundhouse-dev/roundhouse-proxy:" + Release.VERSION;

    private static final List<String> LOG_LEVELS = List.of("trace", "debug", "info", "warn", "error", "off");
    /** What Kubernetes accepts as a namespace name. */
    private static final Pattern DNS_1123_LABEL = Pattern.compile("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?");

    private static final Pattern DNS_1123_SUBDOMAIN =
            Pattern.compile("[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*");
    private static final String NAMESPACE_RULE = "(a DNS-1123 label: at most 63 lower-case letters, digits and '-', "
            + "starting and ending with a letter or digit)";

    /** Where a reconcile hands its operator's settings to the dependents it runs (see {@link #of(Context)}). */
    public static final String KEY = "operatorSettings";

    /** For an operator started in-process, which logs as the JVM around it is set up to. */
    public OperatorSettings(
            Set<String> watchNamespaces,
            String proxyImage,
            String logLevel,
            int httpPort,
            boolean leaderElection,
            String leaseNamespace) {
        this(
                watchNamespaces,
                proxyImage,
                logLevel,
                httpPort,
                leaderElection,
                leaseNamespace,
                DEFAULT_LEASE_NAME,
                "text",
                null,
                List.of());
    }

    /**
     * The settings of the operator running this reconcile. Dependent resources are created by the framework, so
     * the reconciler hands them its settings through the reconcile's context rather than a static, and two
     * operators in one JVM (tests, the local mode) keep their own.
     */
    public static OperatorSettings of(Context<?> context) {
        return context.managedWorkflowAndDependentResourceContext().getMandatory(KEY, OperatorSettings.class);
    }

    public boolean watchesAllNamespaces() {
        return watchNamespaces.isEmpty();
    }

    /** The name of every variable {@link #fromEnvironment} reads: those docs/install.md lists, as a test checks. */
    public static Set<String> variableNames() {
        Set<String> read = new java.util.TreeSet<>();
        fromEnvironment(new java.util.AbstractMap<>() {
            @Override
            public String get(Object name) {
                read.add((String) name);
                return null;
            }

            @Override
            public Set<Entry<String, String>> entrySet() {
                return Set.of();
            }
        });
        return read;
    }

    /**
     * The settings in {@code env}. A variable that is unset or blank takes its default; values are trimmed and, where
     * they are words, case-insensitive.
     *
     * @throws InvalidSettingsException naming every bad setting, not only the first
     */
    public static OperatorSettings fromEnvironment(Map<String, String> env) {
        List<String> problems = new ArrayList<>();
        Set<String> namespaces = namespaces(given(env.get("WATCH_NAMESPACES")), problems);
        String image = given(env.get("PROXY_IMAGE"));
        if (image == null) {
            image = DEFAULT_PROXY_IMAGE;
        } else if (image.chars().anyMatch(Character::isWhitespace)) {
            problems.add("PROXY_IMAGE: must not contain whitespace, got '" + image + "'");
        }
        String level = choice("LOG_LEVEL", env.get("LOG_LEVEL"), "info", LOG_LEVELS, problems);
        String format = choice("LOG_FORMAT", env.get("LOG_FORMAT"), "text", List.of("text", "json"), problems);
        String libraryLevel = choice("LIBRARY_LOG_LEVEL", env.get("LIBRARY_LOG_LEVEL"), null, LOG_LEVELS, problems);
        int port = port("HTTP_PORT", env.get("HTTP_PORT"), 8081, problems);
        boolean leader = Boolean.parseBoolean(
                choice("LEADER_ELECTION", env.get("LEADER_ELECTION"), "true", List.of("true", "false"), problems));
        List<String> pullSecrets =
                secretNames("PROXY_IMAGE_PULL_SECRETS", given(env.get("PROXY_IMAGE_PULL_SECRETS")), problems);
        String leaseNamespace = given(env.get("POD_NAMESPACE"));
        if (leaseNamespace == null) {
            leaseNamespace = "default";
        } else if (!DNS_1123_LABEL.matcher(leaseNamespace).matches()) {
            problems.add("POD_NAMESPACE: '" + leaseNamespace + "' is not a namespace name " + NAMESPACE_RULE);
        }
        String leaseName = given(env.get("LEADER_ELECTION_LEASE"));
        if (leaseName == null) {
            leaseName = DEFAULT_LEASE_NAME;
        } else if (leaseName.length() > 253
                || !DNS_1123_SUBDOMAIN.matcher(leaseName).matches()) {
            problems.add(
                    "LEADER_ELECTION_LEASE: '" + leaseName + "' is not a Lease name (a DNS-1123 subdomain: at most "
                            + "253 lower-case letters, digits, '-' and '.', starting and ending with a letter or digit)");
        }
        if (!problems.isEmpty()) {
            throw new InvalidSettingsException(problems);
        }
        return new OperatorSettings(
                namespaces, image, level, port, leader, leaseNamespace, leaseName, format, libraryLevel, pullSecrets);
    }

    /** The value trimmed, or null when unset or blank. */
    private static String given(String value) {
        return value == null || value.isBlank() ? null : value.trim();
    }

    private static Set<String> namespaces(String value, List<String> problems) {
        if (value == null) {
            return Set.of();
        }
        Set<String> names = new LinkedHashSet<>();
        boolean emptyReported = false;
        for (String part : value.split(",", -1)) {
            String name = part.trim();
            if (name.isEmpty()) {
                if (!emptyReported) {
                    problems.add("WATCH_NAMESPACES: an empty name in '" + value + "'");
                    emptyReported = true;
                }
            } else if (DNS_1123_LABEL.matcher(name).matches()) {
                names.add(name);
            } else {
                problems.add("WATCH_NAMESPACES: '" + name + "' is not a namespace name " + NAMESPACE_RULE);
            }
        }
        return Set.copyOf(names);
    }

    /** Comma-separated Secret names (DNS-1123 subdomains), in their order, each once. */
    private static List<String> secretNames(String variable, String value, List<String> problems) {
        if (value == null) {
            return List.of();
        }
        Set<String> names = new LinkedHashSet<>();
        for (String part : value.split(",", -1)) {
            String name = part.trim();
            if (name.isEmpty()) {
                continue; // a trailing comma, as a template's loop leaves
            }
            if (name.length() > 253 || !DNS_1123_SUBDOMAIN.matcher(name).matches()) {
                problems.add(variable + ": '" + name + "' is not a Secret name (a DNS-1123 subdomain: lower-case "
                        + "letters, digits, '-' and '.', starting and ending with a letter or digit)");
            } else {
                names.add(name);
            }
        }
        return List.copyOf(names);
    }

    /** One of {@code allowed} (any case), {@code fallback} when unset or blank. */
    private static String choice(
            String name, String value, String fallback, List<String> allowed, List<String> problems) {
        String given = given(value);
        if (given == null) {
            return fallback;
        }
        String word = given.toLowerCase(Locale.ROOT);
        if (allowed.contains(word)) {
            return word;
        }
        String expected =
                allowed.size() == 2 ? allowed.get(0) + " or " + allowed.get(1) : "one of " + String.join(", ", allowed);
        problems.add(name + ": must be " + expected + ", got '" + given + "'");
        return fallback;
    }

    private static int port(String name, String value, int fallback, List<String> problems) {
        String given = given(value);
        if (given == null) {
            return fallback;
        }
        try {
            int port = Integer.parseInt(given);
            if (port >= 0 && port <= 65535) {
                return port;
            }
            problems.add(name + ": must be between 0 and 65535, got '" + given + "'");
        } catch (NumberFormatException e) {
            problems.add(name + ": must be an integer, got '" + given + "'");
        }
        return fallback;
    }
}
