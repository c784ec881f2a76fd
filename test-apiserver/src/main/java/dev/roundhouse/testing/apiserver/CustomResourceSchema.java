package dev.roundhouse.testing.apiserver;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import dev.roundhouse.testing.apiserver.FieldError.Type;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A CRD version's {@code openAPIV3Schema}, applied to custom resources as a real API server applies it: structural
 * pruning of unknown fields, {@code default:} values, validation of the OpenAPI subset Kubernetes allows, and the
 * {@code x-kubernetes-validations} CEL rules.
 *
 * <p>Our own walk rather than a JSON Schema library: Kubernetes' dialect ({@code nullable}, the {@code x-kubernetes-*}
 * extensions, boolean {@code exclusiveMaximum}) and its error wording are what matter here, pruning and defaulting
 * need the same walk, and the subset is small. Not checked: {@code format}, {@code multipleOf},
 * {@code uniqueItems}, {@code min/maxProperties}, {@code anyOf/allOf/oneOf/not} (beyond int-or-string), list types
 * ({@code x-kubernetes-list-type}), ObjectMeta, and the insides of embedded resources.
 */
final class CustomResourceSchema {

    private static final Logger LOG = LoggerFactory.getLogger(CustomResourceSchema.class);
    /** Kept at the root (and in embedded resources) whatever the schema says. */
    private static final Set<String> OBJECT_FIELDS = Set.of("apiVersion", "kind", "metadata");

    private final JsonNode root;
    private final Map<JsonNode, List<CelRule>> rules = new IdentityHashMap<>(); // by schema node; read-only once built
    private final Map<String, Optional<Pattern>> patterns = new ConcurrentHashMap<>();

    CustomResourceSchema(JsonNode openApiV3Schema) {
        this.root = openApiV3Schema;
        compileRules(root);
    }

    private void compileRules(JsonNode schema) {
        List<CelRule> compiled = CelRule.compile(schema);
        if (!compiled.isEmpty()) {
            rules.put(schema, compiled);
        }
        schema.path("properties").forEach(this::compileRules);
        if (schema.path("additionalProperties").isObject()) {
            compileRules(schema.get("additionalProperties"));
        }
        if (schema.path("items").isObject()) {
            compileRules(schema.get("items"));
        }
    }

    /**
     * Prunes and defaults {@code object} in place, then validates it.
     *
     * @param statusOnly a write to the status subresource: only the status is looked at
     * @return the problems, none when the object is valid
     */
    List<FieldError> admit(ObjectNode object, boolean statusOnly) {
        return admit(object, statusOnly, new ArrayList<>());
    }

    /**
     * As {@link #admit(ObjectNode, boolean)}, adding the path of each field pruned as unknown to {@code unknown}
     * ({@code spec.backends[0].bogus}), for the warnings or the refusal that field validation asks for.
     */
    List<FieldError> admit(ObjectNode object, boolean statusOnly, List<String> unknown) {
        JsonNode value = object;
        JsonNode schema = root;
        String path = "";
        if (statusOnly) {
            value = object.get("status");
            schema = root.path("properties").path("status");
            path = "status";
            if (value == null || value.isNull() || schema.isMissingNode()) {
                return List.of();
            }
        }
        prune(value, schema, !statusOnly, path, unknown);
        applyDefaults(value, schema);
        List<FieldError> errors = new ArrayList<>();
        validate(value, schema, path, errors);
        if (errors.stream().noneMatch(e -> e.type().blocksRules())) {
            checkRules(value, schema, path, errors);
        }
        return errors;
    }

    // ---------------------------------------------------------------- pruning and defaults

    /**
     * Drops the fields the schema does not know, unless it preserves unknown fields there. The apiVersion, kind and
     * metadata of the object (or of an embedded resource) stay whole whatever the schema says of them: a schema's
     * {@code metadata: {type: object}} would otherwise prune all of it.
     */
    private void prune(JsonNode value, JsonNode schema, boolean objectRoot, String path, List<String> pruned) {
        if (value.isObject()) {
            boolean keepUnknown =
                    schema.path("x-kubernetes-preserve-unknown-fields").asBoolean(false)
                            || schema.path("additionalProperties").asBoolean(false);
            boolean keepObjectFields =
                    objectRoot || schema.path("x-kubernetes-embedded-resource").asBoolean(false);
            List<String> unknown = new ArrayList<>();
            value.properties().forEach(field -> {
                JsonNode child = childSchema(schema, field.getKey());
                if (keepObjectFields && OBJECT_FIELDS.contains(field.getKey())) {
                    return;
                }
                String fieldPath = path.isEmpty() ? field.getKey() : path + "." + field.getKey();
                if (child != null) {
                    prune(field.getValue(), child, false, fieldPath, pruned);
                } else if (!keepUnknown) {
                    unknown.add(field.getKey());
                    pruned.add(fieldPath);
                }
            });
            ((ObjectNode) value).remove(unknown);
        } else if (value.isArray() && schema.path("items").isObject()) {
            for (int i = 0; i < value.size(); i++) {
                prune(value.get(i), schema.get("items"), false, path + "[" + i + "]", pruned);
            }
        }
    }

    /**
     * Sets the {@code default} of each absent field of the objects present, at any depth (so a default object gets
     * its own fields' defaults too). A null where null is not allowed counts as absent, or goes when there is no
     * default.
     */
    private void applyDefaults(JsonNode value, JsonNode schema) {
        if (value.isObject()) {
            ObjectNode object = (ObjectNode) value;
            schema.path("properties").properties().forEach(property -> {
                String name = property.getKey();
                JsonNode fieldSchema = property.getValue();
                JsonNode current = object.get(name);
                if (current == null
                        || current.isNull() && !fieldSchema.path("nullable").asBoolean(false)) {
                    if (fieldSchema.has("default")) {
                        object.set(name, fieldSchema.get("default").deepCopy());
                    } else if (current != null) {
                        object.remove(name);
                    }
                }
            });
            object.properties().forEach(field -> {
                JsonNode child = childSchema(schema, field.getKey());
                if (child != null) {
                    applyDefaults(field.getValue(), child);
                }
            });
        } else if (value.isArray() && schema.path("items").isObject()) {
            value.forEach(item -> applyDefaults(item, schema.get("items")));
        }
    }

    /** The schema of an object's field: its property, else the map's value schema, else null (unknown). */
    private static JsonNode childSchema(JsonNode schema, String field) {
        JsonNode property = schema.path("properties").get(field);
        if (property != null) {
            return property;
        }
        JsonNode additional = schema.get("additionalProperties");
        return additional != null && additional.isObject() ? additional : null;
    }

    // ---------------------------------------------------------------- validation

    private void validate(JsonNode value, JsonNode schema, String path, List<FieldError> errors) {
        String type = schema.path("type").asText("");
        if (value.isNull()) {
            if (!type.isEmpty() && !schema.path("nullable").asBoolean(false)) {
                errors.add(typeError(path, type, "null"));
            }
            return;
        }
        if (schema.path("x-kubernetes-int-or-string").asBoolean(false)) {
            if (!value.isIntegralNumber() && !value.isTextual()) {
                errors.add(typeError(path, "integer,string", typeOf(value)));
                return;
            }
        } else if (!type.isEmpty() && !hasType(value, type)) {
            errors.add(typeError(path, type, typeOf(value)));
            return;
        }
        if (schema.path("enum").isArray() && !contains(schema.get("enum"), value)) {
            List<String> supported = new ArrayList<>();
            schema.get("enum").forEach(v -> supported.add(v.toString()));
            errors.add(new FieldError(
                    Type.NOT_SUPPORTED, path, value, "supported values: " + String.join(", ", supported)));
        }
        if (value.isTextual()) {
            validateString(value.asText(), schema, path, errors);
        } else if (value.isNumber()) {
            validateNumber(value, schema, path, errors);
        } else if (value.isArray()) {
            validateArray(value, schema, path, errors);
        } else if (value.isObject()
                && !schema.path("x-kubernetes-embedded-resource").asBoolean(false)) {
            validateObject(value, schema, path, errors);
        }
    }

    private void validateString(String text, JsonNode schema, String path, List<FieldError> errors) {
        int length = text.codePointCount(0, text.length());
        if (schema.has("maxLength") && length > schema.get("maxLength").asLong()) {
            errors.add(new FieldError(
                    Type.TOO_LONG,
                    path,
                    text,
                    "may not be more than " + schema.get("maxLength").asLong() + " bytes"));
        }
        if (schema.has("minLength") && length < schema.get("minLength").asLong()) {
            errors.add(new FieldError(
                    Type.INVALID,
                    path,
                    text,
                    path + " in body should be at least "
                            + schema.get("minLength").asLong() + " chars long"));
        }
        Optional<Pattern> pattern =
                schema.has("pattern") ? pattern(schema.get("pattern").asText()) : Optional.empty();
        if (pattern.isPresent() && !pattern.get().matcher(text).find()) {
            errors.add(new FieldError(
                    Type.INVALID,
                    path,
                    text,
                    path + " in body should match '" + schema.get("pattern").asText() + "'"));
        }
    }

    private static void validateNumber(JsonNode number, JsonNode schema, String path, List<FieldError> errors) {
        double value = number.doubleValue();
        if (schema.has("maximum")) {
            double maximum = schema.get("maximum").doubleValue();
            boolean exclusive = schema.path("exclusiveMaximum").asBoolean(false);
            if (exclusive ? value >= maximum : value > maximum) {
                errors.add(new FieldError(
                        Type.INVALID,
                        path,
                        number,
                        path + " in body should be less than " + (exclusive ? "" : "or equal to ")
                                + FieldError.number(schema.get("maximum"))));
            }
        }
        if (schema.has("minimum")) {
            double minimum = schema.get("minimum").doubleValue();
            boolean exclusive = schema.path("exclusiveMinimum").asBoolean(false);
            if (exclusive ? value <= minimum : value < minimum) {
                errors.add(new FieldError(
                        Type.INVALID,
                        path,
                        number,
                        path + " in body should be greater than " + (exclusive ? "" : "or equal to ")
                                + FieldError.number(schema.get("minimum"))));
            }
        }
    }

    private void validateArray(JsonNode array, JsonNode schema, String path, List<FieldError> errors) {
        if (schema.has("maxItems") && array.size() > schema.get("maxItems").asLong()) {
            errors.add(new FieldError(
                    Type.TOO_MANY,
                    path,
                    array.size(),
                    "must have at most " + schema.get("maxItems").asLong() + " items"));
        }
        if (schema.has("minItems") && array.size() < schema.get("minItems").asLong()) {
            errors.add(new FieldError(
                    Type.INVALID,
                    path,
                    array.size(),
                    path + " in body should have at least "
                            + schema.get("minItems").asLong() + " items"));
        }
        if (schema.path("items").isObject()) {
            for (int i = 0; i < array.size(); i++) {
                validate(array.get(i), schema.get("items"), path + "[" + i + "]", errors);
            }
        }
    }

    private void validateObject(JsonNode object, JsonNode schema, String path, List<FieldError> errors) {
        for (JsonNode required : schema.path("required")) {
            if (!object.has(required.asText())) {
                errors.add(new FieldError(Type.REQUIRED, child(path, required.asText()), null, ""));
            }
        }
        object.properties().forEach(field -> {
            JsonNode property = schema.path("properties").get(field.getKey());
            if (property != null) {
                validate(field.getValue(), property, child(path, field.getKey()), errors);
            } else if (schema.path("additionalProperties").isObject()) {
                validate(
                        field.getValue(),
                        schema.get("additionalProperties"),
                        path + "[" + field.getKey() + "]",
                        errors);
            }
        });
    }

    /** Kubernetes' wording: {@code Invalid value: "string": spec.port in body must be of type integer: "string"}. */
    private static FieldError typeError(String path, String expected, String actual) {
        return new FieldError(
                Type.TYPE_INVALID,
                path,
                actual,
                (path.isEmpty() ? "body" : path + " in body") + " must be of type " + expected + ": "
                        + TextNode.valueOf(actual));
    }

    private static boolean hasType(JsonNode value, String type) {
        return switch (type) {
            case "object" -> value.isObject();
            case "array" -> value.isArray();
            case "string" -> value.isTextual();
            case "boolean" -> value.isBoolean();
            case "number" -> value.isNumber();
            // A whole number written 2.0 is an integer to Kubernetes too.
            case "integer" ->
                value.isIntegralNumber() || value.isNumber() && value.doubleValue() == Math.rint(value.doubleValue());
            default -> true;
        };
    }

    private static String typeOf(JsonNode value) {
        return switch (value.getNodeType()) {
            case OBJECT -> "object";
            case ARRAY -> "array";
            case STRING -> "string";
            case BOOLEAN -> "boolean";
            case NUMBER -> value.isIntegralNumber() ? "integer" : "number";
            default -> "null";
        };
    }

    /** Enum members compared as values: 1 and 1.0 are the same number. */
    private static boolean contains(JsonNode members, JsonNode value) {
        for (JsonNode member : members) {
            if (member.equals(value)
                    || member.isNumber()
                            && value.isNumber()
                            && member.decimalValue().compareTo(value.decimalValue()) == 0) {
                return true;
            }
        }
        return false;
    }

    /** A compiled {@code pattern}; none (logged once) when Java cannot read it: never block writes for that. */
    private Optional<Pattern> pattern(String regex) {
        return patterns.computeIfAbsent(regex, r -> {
            try {
                return Optional.of(Pattern.compile(r));
            } catch (PatternSyntaxException e) {
                LOG.warn("Not checking the schema pattern {}: {}", r, e.getDescription());
                return Optional.empty();
            }
        });
    }

    // ---------------------------------------------------------------- CEL rules

    /** Evaluates the rules of every schema node that has a value, with {@code self} bound to that value. */
    private void checkRules(JsonNode value, JsonNode schema, String path, List<FieldError> errors) {
        if (value.isNull()) {
            return;
        }
        for (CelRule rule : rules.getOrDefault(schema, List.of())) {
            FieldError error = rule.check(value, path, schema.path("type").asText(""));
            if (error != null) {
                errors.add(error);
            }
        }
        if (value.isObject()) {
            value.properties().forEach(field -> {
                JsonNode property = schema.path("properties").get(field.getKey());
                if (property != null) {
                    checkRules(field.getValue(), property, child(path, field.getKey()), errors);
                } else if (schema.path("additionalProperties").isObject()) {
                    checkRules(
                            field.getValue(),
                            schema.get("additionalProperties"),
                            path + "[" + field.getKey() + "]",
                            errors);
                }
            });
        } else if (value.isArray() && schema.path("items").isObject()) {
            for (int i = 0; i < value.size(); i++) {
                checkRules(value.get(i), schema.get("items"), path + "[" + i + "]", errors);
            }
        }
    }

    private static String child(String path, String field) {
        return path.isEmpty() ? field : path + "." + field;
    }
}
