package dev.roundhouse.poolformat;

import static dev.roundhouse.poolformat.Problems.child;

import com.fasterxml.jackson.databind.JsonNode;
import dev.roundhouse.poolformat.PoolDocument.BackendEntry;
import dev.roundhouse.poolformat.PoolDocument.BackendTls;
import dev.roundhouse.poolformat.PoolDocument.CircuitBreaker;
import dev.roundhouse.poolformat.PoolDocument.HealthCheck;
import dev.roundhouse.poolformat.PoolDocument.Timeouts;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;

/**
 * Turns a JSON tree into a {@link PoolDocument}, reporting structure and type problems (missing, unknown or
 * wrongly typed fields) and filling defaults. Value ranges are {@link PoolDocumentRules}' job. Where a value is
 * unusable a placeholder goes in, so reading carries on and every problem gets reported.
 */
final class PoolDocumentReader {

    private static final Set<String> DOCUMENT_FIELDS_V2 =
            Set.of("version", "backends", "healthCheck", "circuitBreaker", "timeouts");
    private static final Set<String> DOCUMENT_FIELDS = union(DOCUMENT_FIELDS_V2, "backendTLS");
    private static final Set<String> BACKEND_FIELDS_V3 = Set.of("url", "weight");
    private static final Set<String> BACKEND_FIELDS = union(BACKEND_FIELDS_V3, "protocol");
    private static final Set<String> HEALTH_CHECK_FIELDS_V3 =
            Set.of("path", "interval", "timeout", "healthyThreshold", "unhealthyThreshold");
    private static final Set<String> HEALTH_CHECK_FIELDS = union(HEALTH_CHECK_FIELDS_V3, "grpcService");
    private static final Set<String> CIRCUIT_BREAKER_FIELDS_V1 = Set.of(
            "failureRateThreshold",
            "slidingWindowSize",
            "minimumNumberOfCalls",
            "waitDurationInOpenState",
            "permittedNumberOfCallsInHalfOpenState");
    private static final Set<String> CIRCUIT_BREAKER_FIELDS_V2 =
            union(CIRCUIT_BREAKER_FIELDS_V1, "consecutiveConnectFailures");
    private static final Set<String> CIRCUIT_BREAKER_FIELDS = union(CIRCUIT_BREAKER_FIELDS_V2, "grpcFailureStatuses");
    private static final Set<String> TIMEOUTS_FIELDS = Set.of("connect", "request");
    private static final Set<String> BACKEND_TLS_FIELDS = Set.of("caBundle", "serverName", "insecureSkipVerify");

    private final Problems problems;

    PoolDocumentReader(Problems problems) {
        this.problems = problems;
    }

    /** Returns null when the root is not an object or the version is not one this build knows. */
    PoolDocument read(JsonNode root) {
        if (!root.isObject()) {
            problems.add("document", "must be a JSON object, got " + describe(root));
            return null;
        }
        // Another version's fields follow rules this build does not know: judging them as version 1 would be noise.
        JsonNode version = root.get("version");
        if (version != null
                && version.isIntegralNumber()
                && !(version.canConvertToInt() && PoolDocumentRules.supported(version.intValue()))) {
            problems.add("version", PoolDocumentRules.unsupportedVersion(version.asText()));
            return null;
        }
        // A field of a later version is unknown in an earlier one: a writer that uses it must say so.
        int known = version != null && version.isIntegralNumber() ? version.intValue() : PoolDocument.CURRENT_VERSION;
        rejectUnknown(root, "", known < PoolDocument.VERSION_3 ? DOCUMENT_FIELDS_V2 : DOCUMENT_FIELDS);
        return new PoolDocument(
                integer(root, "", "version", null),
                backends(root, known),
                healthCheck(section(
                        root,
                        "healthCheck",
                        known < PoolDocument.VERSION_4 ? HEALTH_CHECK_FIELDS_V3 : HEALTH_CHECK_FIELDS)),
                circuitBreaker(section(
                        root,
                        "circuitBreaker",
                        known == PoolDocument.VERSION_1
                                ? CIRCUIT_BREAKER_FIELDS_V1
                                : known < PoolDocument.VERSION_4 ? CIRCUIT_BREAKER_FIELDS_V2 : CIRCUIT_BREAKER_FIELDS)),
                timeouts(section(root, "timeouts", TIMEOUTS_FIELDS)),
                known < PoolDocument.VERSION_3 ? null : backendTls(section(root, "backendTLS", BACKEND_TLS_FIELDS)));
    }

    private List<BackendEntry> backends(JsonNode root, int version) {
        JsonNode array = root.get("backends");
        if (array == null) {
            problems.add("backends", "required (an empty list is allowed)");
            return List.of();
        }
        if (!array.isArray()) {
            problems.add("backends", "must be an array, got " + describe(array));
            return List.of();
        }
        List<BackendEntry> entries = new ArrayList<>(array.size());
        for (int i = 0; i < array.size(); i++) {
            String path = "backends[" + i + "]";
            JsonNode entry = array.get(i);
            if (!entry.isObject()) {
                problems.add(path, "must be an object, got " + describe(entry));
                entries.add(new BackendEntry(null, BackendEntry.DEFAULT_WEIGHT));
                continue;
            }
            rejectUnknown(entry, path, version < PoolDocument.VERSION_4 ? BACKEND_FIELDS_V3 : BACKEND_FIELDS);
            entries.add(new BackendEntry(
                    string(entry, path, "url", null),
                    integer(entry, path, "weight", BackendEntry.DEFAULT_WEIGHT),
                    protocol(entry, path)));
        }
        return entries;
    }

    private HealthCheck healthCheck(JsonNode node) {
        if (node == null) {
            return null;
        }
        HealthCheck defaults = HealthCheck.DEFAULTS;
        String path = "healthCheck";
        return new HealthCheck(
                string(node, path, "path", defaults.path()),
                duration(node, path, "interval", defaults.interval()),
                duration(node, path, "timeout", defaults.timeout()),
                integer(node, path, "healthyThreshold", defaults.healthyThreshold()),
                integer(node, path, "unhealthyThreshold", defaults.unhealthyThreshold()),
                string(node, path, "grpcService"));
    }

    private CircuitBreaker circuitBreaker(JsonNode node) {
        if (node == null) {
            return null;
        }
        CircuitBreaker defaults = CircuitBreaker.DEFAULTS;
        String path = "circuitBreaker";
        return new CircuitBreaker(
                number(node, path, "failureRateThreshold", defaults.failureRateThreshold()),
                integer(node, path, "slidingWindowSize", defaults.slidingWindowSize()),
                integer(node, path, "minimumNumberOfCalls", defaults.minimumNumberOfCalls()),
                duration(node, path, "waitDurationInOpenState", defaults.waitDurationInOpenState()),
                integer(
                        node,
                        path,
                        "permittedNumberOfCallsInHalfOpenState",
                        defaults.permittedNumberOfCallsInHalfOpenState()),
                integer(node, path, "consecutiveConnectFailures", defaults.consecutiveConnectFailures()),
                strings(node, path, "grpcFailureStatuses"));
    }

    /** A list of strings; absent is null (the default), a wrong type is reported and taken as absent. */
    private List<String> strings(JsonNode object, String parent, String name) {
        JsonNode node = object.get(name);
        if (node == null) {
            return null;
        }
        if (!node.isArray()) {
            problems.add(child(parent, name), "must be an array of strings, got " + describe(node));
            return null;
        }
        List<String> values = new ArrayList<>(node.size());
        for (int i = 0; i < node.size(); i++) {
            JsonNode item = node.get(i);
            if (!item.isTextual()) {
                problems.add(child(parent, name) + "[" + i + "]", "must be a string, got " + describe(item));
                return null;
            }
            values.add(item.textValue());
        }
        return values;
    }

    private Timeouts timeouts(JsonNode node) {
        if (node == null) {
            return null;
        }
        Timeouts defaults = Timeouts.DEFAULTS;
        return new Timeouts(
                duration(node, "timeouts", "connect", defaults.connect()),
                duration(node, "timeouts", "request", defaults.request()));
    }

    private BackendTls backendTls(JsonNode node) {
        if (node == null) {
            return null;
        }
        String path = "backendTLS";
        return new BackendTls(
                string(node, path, "caBundle"),
                string(node, path, "serverName"),
                bool(node, path, "insecureSkipVerify", BackendTls.DEFAULTS.insecureSkipVerify()));
    }

    /** An optional section: null when absent or not an object (then its defaults apply). */
    private JsonNode section(JsonNode root, String name, Set<String> fields) {
        JsonNode node = root.get(name);
        if (node == null) {
            return null;
        }
        if (!node.isObject()) {
            problems.add(name, "must be an object, got " + describe(node));
            return null;
        }
        rejectUnknown(node, name, fields);
        return node;
    }

    private void rejectUnknown(JsonNode object, String path, Set<String> known) {
        for (Iterator<String> names = object.fieldNames(); names.hasNext(); ) {
            String name = names.next();
            if (!known.contains(name)) {
                problems.add(child(path, name), "unknown field");
            }
        }
    }

    // The accessors below return the default when the field is absent; a null default makes the field required.
    // On a problem they return a placeholder, whose own rule violations Problems then drops as repeats.

    // Paths ("backends[0].weight") are built only when there is a problem to report: this runs on every reload,
    // mostly as interpreted code, where each string concatenation is costly.

    private int integer(JsonNode object, String parent, String name, Integer defaultValue) {
        JsonNode node = present(object, parent, name, defaultValue);
        if (node == null) {
            return defaultValue == null ? 0 : defaultValue;
        }
        if (!node.isIntegralNumber()) {
            problems.add(
                    child(parent, name),
                    "must be an integer, got " + (node.isNumber() ? node.asText() : describe(node)));
            return 0;
        }
        if (!node.canConvertToInt()) {
            problems.add(child(parent, name), "out of range, got " + node.asText());
            return 0;
        }
        return node.intValue();
    }

    private float number(JsonNode object, String parent, String name, float defaultValue) {
        JsonNode node = object.get(name);
        if (node == null) {
            return defaultValue;
        }
        if (!node.isNumber()) {
            problems.add(child(parent, name), "must be a number, got " + describe(node));
            return Float.NaN;
        }
        return (float) node.doubleValue();
    }

    private boolean bool(JsonNode object, String parent, String name, boolean defaultValue) {
        JsonNode node = object.get(name);
        if (node == null) {
            return defaultValue;
        }
        if (!node.isBoolean()) {
            problems.add(child(parent, name), "must be true or false, got " + describe(node));
            return defaultValue;
        }
        return node.booleanValue();
    }

    /** An optional string field (absent: null). */
    /** {@code protocol}: a name of {@link BackendProtocol}, HTTP/1.1 when absent; null (reported) for another. */
    private BackendProtocol protocol(JsonNode entry, String path) {
        String name = string(entry, path, "protocol", BackendProtocol.DEFAULT.wireName());
        if (name == null) {
            return null;
        }
        BackendProtocol protocol = BackendProtocol.named(name);
        if (protocol == null) {
            problems.add(child(path, "protocol"), "must be one of " + BackendProtocol.names() + ", got '" + name + "'");
        }
        return protocol;
    }

    private String string(JsonNode object, String parent, String name) {
        // Present, it is read as a required one is (no default, so no "required" problem can arise).
        return object.has(name) ? string(object, parent, name, null) : null;
    }

    private String string(JsonNode object, String parent, String name, String defaultValue) {
        JsonNode node = present(object, parent, name, defaultValue);
        if (node == null) {
            return defaultValue;
        }
        if (!node.isTextual()) {
            problems.add(child(parent, name), "must be a string, got " + describe(node));
            return null;
        }
        return node.textValue();
    }

    private Duration duration(JsonNode object, String parent, String name, Duration defaultValue) {
        JsonNode node = present(object, parent, name, defaultValue);
        if (node == null) {
            return defaultValue;
        }
        if (!node.isTextual()) {
            problems.add(child(parent, name), "must be a duration string such as \"30s\", got " + describe(node));
            return null;
        }
        try {
            return Durations.parse(node.textValue());
        } catch (IllegalArgumentException e) {
            problems.add(child(parent, name), e.getMessage());
            return null;
        }
    }

    /** The field's node, or null when absent (reported when there is no default to fall back on). */
    private JsonNode present(JsonNode object, String parent, String name, Object defaultValue) {
        JsonNode node = object.get(name);
        if (node == null && defaultValue == null) {
            problems.add(child(parent, name), "required");
        }
        return node;
    }

    private static String describe(JsonNode node) {
        return switch (node.getNodeType()) {
            case STRING -> "string";
            case NUMBER -> "number";
            case BOOLEAN -> "boolean";
            case NULL -> "null";
            case ARRAY -> "array";
            case OBJECT, POJO -> "object";
            case BINARY, MISSING -> "nothing";
        };
    }

    private static Set<String> union(Set<String> fields, String... more) {
        Set<String> all = new java.util.HashSet<>(fields);
        all.addAll(List.of(more));
        return Set.copyOf(all);
    }
}
