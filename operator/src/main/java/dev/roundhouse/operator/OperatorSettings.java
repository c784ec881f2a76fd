package dev.roundhouse.operator;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The operator's settings, from environment variables. {@code WATCH_NAMESPACES}: comma-separated,
 * empty for all namespaces. {@code PROXY_IMAGE}: the proxy image when a LoadBalancer names none.
 */
public record OperatorSettings(
        Set<String> watchNamespaces,
        String proxyImage,
        String logLevel,
        int httpPort,
        boolean leaderElection,
        String leaseNamespace) {

    public static final String DEFAULT_PROXY_IMAGE = "ghcr.io/roundhouse-dev/roundhouse-proxy:0.1.0";

    private static volatile OperatorSettings current = new OperatorSettings(
            Set.of(), DEFAULT_PROXY_IMAGE, "info", 8081, false, "default");

    /** The settings in force; dependent resources, created by the framework, read them here. */
    public static OperatorSettings current() {
        return current;
    }

    public static void install(OperatorSettings settings) {
        current = settings;
    }

    public boolean watchesAllNamespaces() {
        return watchNamespaces.isEmpty();
    }

    public static OperatorSettings fromEnvironment(Map<String, String> env) {
        List<String> problems = new ArrayList<>();
        Set<String> namespaces = Set.copyOf(Arrays.stream(env.getOrDefault("WATCH_NAMESPACES", "").split(","))
                .map(String::trim).filter(s -> !s.isEmpty()).toList());
        String image = env.getOrDefault("PROXY_IMAGE", "").isBlank() ? DEFAULT_PROXY_IMAGE : env.get("PROXY_IMAGE").trim();
        String level = env.getOrDefault("LOG_LEVEL", "info").trim().toLowerCase(Locale.ROOT);
        if (!Set.of("trace", "debug", "info", "warn", "error", "off").contains(level)) {
            problems.add("LOG_LEVEL: must be one of trace, debug, info, warn, error, off, got '" + level + "'");
        }
        int port = 8081;
        String portText = env.getOrDefault("HTTP_PORT", "").trim();
        if (!portText.isEmpty()) {
            try {
                port = Integer.parseInt(portText);
                if (port < 0 || port > 65535) {
                    problems.add("HTTP_PORT: must be between 0 and 65535, got " + port);
                }
            } catch (NumberFormatException e) {
                problems.add("HTTP_PORT: must be an integer, got '" + portText + "'");
            }
        }
        boolean leader = !"false".equalsIgnoreCase(env.getOrDefault("LEADER_ELECTION", "true").trim());
        String leaseNamespace = env.getOrDefault("POD_NAMESPACE", "").isBlank() ? "default" : env.get("POD_NAMESPACE").trim();
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException("invalid configuration: " + String.join("; ", problems));
        }
        return new OperatorSettings(namespaces, image, level, port, leader, leaseNamespace);
    }
}
