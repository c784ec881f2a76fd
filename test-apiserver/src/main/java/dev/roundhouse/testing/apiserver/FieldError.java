package dev.roundhouse.testing.apiserver;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.TextNode;
import io.fabric8.kubernetes.api.model.Status;
import io.fabric8.kubernetes.api.model.StatusBuilder;
import io.fabric8.kubernetes.api.model.StatusCauseBuilder;
import io.fabric8.kubernetes.client.server.mock.crud.KubernetesCrudDispatcherException;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * One problem with a field of an object, worded as Kubernetes' {@code field.Error} words it (so that messages read
 * like a real API server's): {@code spec.replicas: Invalid value: 200: spec.replicas in body should be less than or
 * equal to 100}.
 *
 * @param type what is wrong
 * @param field the field's path, e.g. {@code spec.backends[0].url}
 * @param value the bad value, shown for the types that show one: a {@link JsonNode}, a String, a number
 * @param detail what the value should be, or ""
 */
record FieldError(Type type, String field, Object value, String detail) {

    enum Type {
        REQUIRED("Required value", "FieldValueRequired", false),
        INVALID("Invalid value", "FieldValueInvalid", true),
        TYPE_INVALID("Invalid value", "FieldValueTypeInvalid", true),
        NOT_SUPPORTED("Unsupported value", "FieldValueNotSupported", true),
        DUPLICATE("Duplicate value", "FieldValueDuplicate", true),
        TOO_LONG("Too long", "FieldValueTooLong", false),
        TOO_MANY("Too many", "FieldValueTooMany", true),
        FORBIDDEN("Forbidden", "FieldValueForbidden", false);

        final String label;
        final String reason;
        final boolean showsValue;

        Type(String label, String reason, boolean showsValue) {
            this.label = label;
            this.reason = reason;
            this.showsValue = showsValue;
        }

        /** The type a CEL rule's {@code reason} names; anything unknown is Invalid, as in Kubernetes. */
        static Type ofReason(String reason) {
            for (Type type : values()) {
                if (type.reason.equals(reason)) {
                    return type;
                }
            }
            return INVALID;
        }

        /** Errors after which CEL rules would see values of the wrong shape, so Kubernetes does not run them. */
        boolean blocksRules() {
            return this == REQUIRED
                    || this == TYPE_INVALID
                    || this == NOT_SUPPORTED
                    || this == TOO_LONG
                    || this == TOO_MANY;
        }
    }

    /** The message without the field, as in a Status cause: {@code Invalid value: 200: ... less than ...}. */
    String body() {
        String body = type.label + (type.showsValue ? ": " + goValue(value) : "");
        return detail.isEmpty() ? body : body + ": " + detail;
    }

    @Override
    public String toString() {
        return field + ": " + body();
    }

    /** How Go's {@code %v} and {@code %q} show a value: strings quoted, numbers without a needless ".0". */
    private static String goValue(Object value) {
        if (value instanceof JsonNode node) {
            if (node.isTextual()) {
                return node.toString();
            }
            if (node.isNumber()) {
                return number(node);
            }
            return node.isContainerNode() ? TextNode.valueOf(node.toString()).toString() : node.asText();
        }
        if (value instanceof String text) {
            return TextNode.valueOf(text).toString();
        }
        return String.valueOf(value);
    }

    /** A number as Go's {@code %v} prints it: a limit written as 100.0 is "100". */
    static String number(JsonNode number) {
        double value = number.doubleValue();
        if (number.isIntegralNumber()) {
            return number.asText();
        }
        return value == Math.rint(value) && Math.abs(value) < 1e15
                ? String.valueOf((long) value)
                : String.valueOf(value);
    }

    /** An error answered with a Status of our making (the base class's carries a kind and fields we do not want). */
    abstract static class StatusAnswer extends KubernetesCrudDispatcherException {

        private static final KubernetesSerialization SERIALIZATION = new KubernetesSerialization();

        private final transient Status status;

        StatusAnswer(Status status) {
            super(status.getMessage(), status.getCode());
            this.status = status;
        }

        @Override
        public Status toStatus() {
            return status;
        }

        @Override
        public String toStatusBody() {
            return SERIALIZATION.asJson(status);
        }
    }

    /** The 422 Invalid answer a real API server gives, with one cause per problem. */
    static final class Invalid extends StatusAnswer {

        Invalid(String kind, String group, String name, List<FieldError> errors) {
            super(status(kind, group, name, errors, message(kind, group, name, errors)));
        }

        private static Status status(String kind, String group, String name, List<FieldError> errors, String message) {
            return new StatusBuilder()
                    .withStatus("Failure")
                    .withReason("Invalid")
                    .withCode(422)
                    .withMessage(message)
                    .withNewDetails()
                    .withName(name)
                    .withGroup(group)
                    .withKind(kind)
                    .withCauses(errors.stream()
                            .map(e -> new StatusCauseBuilder()
                                    .withReason(e.type().reason)
                                    .withMessage(e.body())
                                    .withField(e.field())
                                    .build())
                            .toList())
                    .endDetails()
                    .build();
        }

        /** {@code Kind.group "name" is invalid: a} or, for several problems, {@code ...: [a, b]}. */
        private static String message(String kind, String group, String name, List<FieldError> errors) {
            Set<String> problems = new LinkedHashSet<>(); // Kubernetes' aggregate drops repeats
            errors.forEach(e -> problems.add(e.toString()));
            String all = problems.size() == 1 ? problems.iterator().next() : "[" + String.join(", ", problems) + "]";
            String qualified = group.isEmpty() ? kind : kind + "." + group;
            return qualified + " " + TextNode.valueOf(name) + " is invalid: " + all;
        }
    }

    /** A 400 BadRequest with only a message, as a real API server answers a body it cannot decode strictly. */
    static final class BadRequest extends StatusAnswer {

        BadRequest(String message) {
            super(new StatusBuilder()
                    .withStatus("Failure")
                    .withReason("BadRequest")
                    .withCode(400)
                    .withMessage(message)
                    .build());
        }
    }
}
