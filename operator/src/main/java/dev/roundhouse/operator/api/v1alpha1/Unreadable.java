package dev.roundhouse.operator.api.v1alpha1;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.deser.std.StdDeserializer;
import java.io.IOException;

/**
 * How a LoadBalancer's spec and status are read when the API server holds a value this model cannot: a number beyond
 * an int in a Kubernetes type the CRD passes through (such as a topology spread constraint's {@code maxSkew}, which the
 * schema bounds to 64 bits only), or whatever a user wrote through the status subresource. Read as usual, one such
 * object fails the whole watch of LoadBalancers, and the operator with it. Instead, such a spec reads as one that
 * says which field does not fit (the reconcile reports it as {@code InvalidSpec}, and the object stays as stored),
 * and such a status reads as none (the reconcile writes it afresh).
 */
final class Unreadable {

    private Unreadable() {}

    /** Reads a {@code T}, or, when the stored one does not fit the model, what {@link #unreadable} makes of it. */
    private abstract static class Reader<T> extends StdDeserializer<T> {

        private final Class<T> type;
        private final String root;

        Reader(Class<T> type, String root) {
            super(type);
            this.type = type;
            this.root = root;
        }

        abstract T unreadable(String problem);

        @Override
        public T deserialize(JsonParser parser, DeserializationContext context) throws IOException {
            JsonNode stored = context.readTree(parser);
            try {
                return context.readTreeAsValue(stored, type);
            } catch (JsonProcessingException e) {
                return unreadable(problem(root, e));
            }
        }
    }

    static final class SpecReader extends Reader<LoadBalancerSpec> {

        SpecReader() {
            super(LoadBalancerSpec.class, "spec");
        }

        @Override
        LoadBalancerSpec unreadable(String problem) {
            return LoadBalancerSpec.unreadable(problem);
        }
    }

    static final class StatusReader extends Reader<LoadBalancerStatus> {

        StatusReader() {
            super(LoadBalancerStatus.class, "status");
        }

        @Override
        LoadBalancerStatus unreadable(String problem) {
            return null;
        }
    }

    /** The field that does not fit, from {@code root}, and why, in a line: {@code spec.a.b[0].c: why}. */
    static String problem(String root, JsonProcessingException e) {
        StringBuilder field = new StringBuilder(root);
        if (e instanceof JsonMappingException mapping) {
            for (JsonMappingException.Reference step : mapping.getPath()) {
                if (step.getFieldName() != null) {
                    field.append('.').append(step.getFieldName());
                } else if (step.getIndex() >= 0) {
                    field.append('[').append(step.getIndex()).append(']');
                }
            }
        }
        String why = e.getOriginalMessage() == null
                ? e.getClass().getSimpleName()
                : e.getOriginalMessage().lines().findFirst().orElse("").strip();
        return field + ": " + why;
    }
}
