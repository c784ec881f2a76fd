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
 * object fails the whole watch of LoadBalancers, and the operator with it. Instead, such a spec reads as one that says which
 * field does not fit (the reconcile reports it as {@code InvalidSpec}, and the object stays as stored), and such a
 * status reads as none (the reconcile writes it afresh).
 */
final class Unreadable {

    /** Longer is not a field and a reason any more, but a value quoted whole. */
    private static final int MAX_PROBLEM = 300;

    private Unreadable() {}

    static final class SpecReader extends StdDeserializer<LoadBalancerSpec> {

        SpecReader() {
            super(LoadBalancerSpec.class);
        }

        @Override
        public LoadBalancerSpec deserialize(JsonParser parser, DeserializationContext context) throws IOException {
            JsonNode stored = context.readTree(parser);
            try {
                return context.readTreeAsValue(stored, LoadBalancerSpec.class);
            } catch (JsonProcessingException e) {
                return LoadBalancerSpec.unreadable(problem("spec", e));
            }
        }
    }

    static final class StatusReader extends StdDeserializer<LoadBalancerStatus> {

        StatusReader() {
            super(LoadBalancerStatus.class);
        }

        @Override
        public LoadBalancerStatus deserialize(JsonParser parser, DeserializationContext context) throws IOException {
            JsonNode stored = context.readTree(parser);
            try {
                return context.readTreeAsValue(stored, LoadBalancerStatus.class);
            } catch (JsonProcessingException e) {
                return null;
            }
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
        String problem = field + ": " + why;
        return problem.length() <= MAX_PROBLEM ? problem : problem.substring(0, MAX_PROBLEM - 3) + "...";
    }
}
