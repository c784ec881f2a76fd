package dev.roundhouse.testing.apiserver;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * What a real API server checks of every object's metadata, so that a name or label it would refuse is refused
 * here too: the name by the rule of its kind (a DNS-1035 label for Services, a DNS-1123 label for Namespaces, a
 * path segment for RBAC objects, a DNS-1123 subdomain for the rest, custom resources included), label keys and
 * annotation keys as qualified names, label values, and the size of all annotations together. Messages are worded
 * as Kubernetes' validation words them.
 */
final class ObjectMetaRules {

    private static final String DNS1123_LABEL = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
    private static final String DNS1123_SUBDOMAIN = DNS1123_LABEL + "(\\." + DNS1123_LABEL + ")*";
    private static final String DNS1035_LABEL = "[a-z]([-a-z0-9]*[a-z0-9])?";
    private static final String QUALIFIED_NAME_PART = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
    private static final String LABEL_VALUE = "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?";
    private static final Pattern DNS1123_LABEL_RE = Pattern.compile(DNS1123_LABEL);
    private static final Pattern DNS1123_SUBDOMAIN_RE = Pattern.compile(DNS1123_SUBDOMAIN);
    private static final Pattern DNS1035_LABEL_RE = Pattern.compile(DNS1035_LABEL);
    private static final Pattern QUALIFIED_NAME_PART_RE = Pattern.compile(QUALIFIED_NAME_PART);
    private static final Pattern LABEL_VALUE_RE = Pattern.compile(LABEL_VALUE);
    private static final int TOTAL_ANNOTATION_BYTES = 256 * 1024;

    private ObjectMetaRules() {}

    /** The problems with {@code metadata} of an object of the resource {@code plural}; empty when there are none. */
    static List<FieldError> check(String plural, JsonNode metadata) {
        List<FieldError> errors = new ArrayList<>();
        JsonNode name = metadata.path("name");
        if (name.isTextual() && !name.asText().isEmpty()) {
            checkName(plural, name.asText(), errors);
        }
        checkLabels("metadata.labels", metadata.path("labels"), errors);
        JsonNode annotations = metadata.path("annotations");
        if (annotations.isObject()) {
            long total = 0;
            for (Map.Entry<String, JsonNode> annotation : annotations.properties()) {
                checkQualifiedName(
                        "metadata.annotations", annotation.getKey().toLowerCase(java.util.Locale.ROOT), errors);
                total += annotation.getKey().getBytes(StandardCharsets.UTF_8).length
                        + annotation.getValue().asText().getBytes(StandardCharsets.UTF_8).length;
            }
            if (total > TOTAL_ANNOTATION_BYTES) {
                errors.add(new FieldError(
                        FieldError.Type.TOO_LONG,
                        "metadata.annotations",
                        null,
                        "may not be more than " + TOTAL_ANNOTATION_BYTES + " bytes"));
            }
        }
        return errors;
    }

    /** The workloads whose {@code spec.template} is a pod template and whose {@code spec.selector} selects its pods. */
    private static final java.util.Set<String> WORKLOADS =
            java.util.Set.of("deployments", "replicasets", "statefulsets", "daemonsets");

    /**
     * The labels inside a built-in object's spec, as a real API server checks them: a workload's pod template labels
     * and selector, and a PodDisruptionBudget's selector (keys as qualified names, values as label values, the
     * selector matching the template's labels). Empty for other kinds.
     */
    static List<FieldError> checkSpec(String plural, JsonNode object) {
        List<FieldError> errors = new ArrayList<>();
        JsonNode spec = object.path("spec");
        if (WORKLOADS.contains(plural)) {
            JsonNode templateLabels = spec.path("template").path("metadata").path("labels");
            checkLabels("spec.template.metadata.labels", templateLabels, errors);
            checkSelector("spec.selector", spec.path("selector"), errors);
            JsonNode matchLabels = spec.path("selector").path("matchLabels");
            if (errors.isEmpty() && matchLabels.isObject() && !matchLabels.isEmpty()) {
                for (Map.Entry<String, JsonNode> wanted : matchLabels.properties()) {
                    if (!wanted.getValue().equals(templateLabels.path(wanted.getKey()))) {
                        errors.add(new FieldError(
                                FieldError.Type.INVALID,
                                "spec.template.metadata.labels",
                                templateLabels.toString(),
                                "`selector` does not match template `labels`"));
                        break;
                    }
                }
            }
        } else if ("poddisruptionbudgets".equals(plural)) {
            checkSelector("spec.selector", spec.path("selector"), errors);
        }
        return errors;
    }

    private static void checkLabels(String field, JsonNode labels, List<FieldError> errors) {
        if (labels.isObject()) {
            for (Map.Entry<String, JsonNode> label : labels.properties()) {
                checkQualifiedName(field, label.getKey(), errors);
                checkLabelValue(field, label.getValue().asText(), errors);
            }
        }
    }

    /** A label selector: matchLabels as labels, matchExpressions' keys as qualified names and values as values. */
    private static void checkSelector(String field, JsonNode selector, List<FieldError> errors) {
        checkLabels(field + ".matchLabels", selector.path("matchLabels"), errors);
        JsonNode expressions = selector.path("matchExpressions");
        for (int i = 0; i < expressions.size(); i++) {
            String at = field + ".matchExpressions[" + i + "]";
            checkQualifiedName(at + ".key", expressions.get(i).path("key").asText(), errors);
            for (JsonNode value : expressions.get(i).path("values")) {
                checkLabelValue(at + ".values", value.asText(), errors);
            }
        }
    }

    private static void checkName(String plural, String name, List<FieldError> errors) {
        switch (plural) {
            case "services" -> {
                if (name.length() > 63) {
                    errors.add(invalid("metadata.name", name, "must be no more than 63 characters"));
                }
                if (!DNS1035_LABEL_RE.matcher(name).matches()) {
                    errors.add(invalid(
                            "metadata.name",
                            name,
                            "a DNS-1035 label must consist of lower case alphanumeric"
                                    + " characters or '-', start with an alphabetic character, and end with an alphanumeric"
                                    + " character (e.g. 'my-name',  or 'abc-123', regex used for validation is '"
                                    + DNS1035_LABEL + "')"));
                }
            }
            case "namespaces" -> {
                if (name.length() > 63) {
                    errors.add(invalid("metadata.name", name, "must be no more than 63 characters"));
                }
                if (!DNS1123_LABEL_RE.matcher(name).matches()) {
                    errors.add(invalid(
                            "metadata.name",
                            name,
                            "a lowercase RFC 1123 label must consist of lower case"
                                    + " alphanumeric characters or '-', and must start and end with an alphanumeric character"
                                    + " (e.g. 'my-name',  or '123-abc', regex used for validation is '" + DNS1123_LABEL
                                    + "')"));
                }
            }
            case "roles", "rolebindings", "clusterroles", "clusterrolebindings" -> {
                if (name.equals(".") || name.equals("..") || name.contains("/") || name.contains("%")) {
                    errors.add(invalid("metadata.name", name, "may not be '.' or '..' and may not contain '/' or '%'"));
                }
            }
            default -> checkSubdomain("metadata.name", name, errors);
        }
    }

    private static void checkSubdomain(String field, String value, List<FieldError> errors) {
        if (value.length() > 253) {
            errors.add(invalid(field, value, "must be no more than 253 characters"));
        }
        if (!DNS1123_SUBDOMAIN_RE.matcher(value).matches()) {
            errors.add(invalid(
                    field,
                    value,
                    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric"
                            + " characters, '-' or '.', and must start and end with an alphanumeric character (e.g."
                            + " 'example.com', regex used for validation is '" + DNS1123_SUBDOMAIN + "')"));
        }
    }

    private static void checkQualifiedName(String field, String key, List<FieldError> errors) {
        int slash = key.lastIndexOf('/');
        String name = slash < 0 ? key : key.substring(slash + 1);
        if (slash >= 0) {
            String prefix = key.substring(0, slash);
            if (prefix.isEmpty()) {
                errors.add(invalid(field, key, "prefix part must be non-empty"));
            } else {
                checkSubdomain(field, prefix, errors);
            }
        }
        if (name.isEmpty()) {
            errors.add(invalid(field, key, "name part must be non-empty"));
        } else {
            if (name.length() > 63) {
                errors.add(invalid(field, key, "name part must be no more than 63 characters"));
            }
            if (!QUALIFIED_NAME_PART_RE.matcher(name).matches()) {
                errors.add(invalid(
                        field,
                        key,
                        "name part must consist of alphanumeric characters, '-', '_' or '.',"
                                + " and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name', "
                                + " or '123-abc', regex used for validation is '" + QUALIFIED_NAME_PART + "')"));
            }
        }
    }

    private static void checkLabelValue(String field, String value, List<FieldError> errors) {
        if (value.length() > 63) {
            errors.add(invalid(field, value, "must be no more than 63 characters"));
        }
        if (!LABEL_VALUE_RE.matcher(value).matches()) {
            errors.add(invalid(
                    field,
                    value,
                    "a valid label must be an empty string or consist of alphanumeric"
                            + " characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g."
                            + " 'MyValue',  or 'my_value',  or '12345', regex used for validation is '" + LABEL_VALUE
                            + "')"));
        }
    }

    private static FieldError invalid(String field, String value, String detail) {
        return new FieldError(FieldError.Type.INVALID, field, value, detail);
    }
}
