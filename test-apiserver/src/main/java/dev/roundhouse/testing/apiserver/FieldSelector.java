package dev.roundhouse.testing.apiserver;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A {@code fieldSelector} of a list request, for the fields a real API server lets a kind be selected by beyond
 * {@code metadata.name} and {@code metadata.namespace} (which the base class already handles): for Events,
 * {@code involvedObject.*}, {@code reason}, {@code type} and {@code source}, which is how {@code kubectl describe}
 * and {@code kubectl get events --field-selector} find the Events of one object. Terms are {@code field=value},
 * {@code field==value} or {@code field!=value}, joined by commas (all must hold).
 */
final class FieldSelector {

    /** One term; {@code path} is the field's JSON pointer in the object. */
    record Term(String field, String path, boolean equal, String value) {

        boolean matches(JsonNode object) {
            JsonNode node = object.at(path);
            String actual = node.isValueNode() ? node.asText() : "";
            return equal == actual.equals(value);
        }
    }

    private static final Set<String> METADATA = Set.of("metadata.name", "metadata.namespace");

    /** The selectable fields of each kind (by plural) beyond metadata, with where each one lives in the object. */
    private static final Map<String, Map<String, String>> SELECTABLE = Map.of(
            "events",
            Map.ofEntries(
                    Map.entry("involvedObject.kind", "/involvedObject/kind"),
                    Map.entry("involvedObject.namespace", "/involvedObject/namespace"),
                    Map.entry("involvedObject.name", "/involvedObject/name"),
                    Map.entry("involvedObject.uid", "/involvedObject/uid"),
                    Map.entry("involvedObject.apiVersion", "/involvedObject/apiVersion"),
                    Map.entry("involvedObject.resourceVersion", "/involvedObject/resourceVersion"),
                    Map.entry("involvedObject.fieldPath", "/involvedObject/fieldPath"),
                    Map.entry("reason", "/reason"),
                    Map.entry("reportingComponent", "/reportingComponent"),
                    Map.entry("source", "/source/component"),
                    Map.entry("type", "/type")));

    private final List<Term> terms;
    private final List<String> metadataTerms;

    private FieldSelector(List<Term> terms, List<String> metadataTerms) {
        this.terms = terms;
        this.metadataTerms = metadataTerms;
    }

    /**
     * Parses {@code selector} for a list of {@code plural}.
     *
     * @throws FieldError.BadRequest a term that is not {@code field=value} or a field the kind cannot be selected by,
     *     in the words of a real API server
     */
    static FieldSelector parse(String plural, String selector) throws FieldError.BadRequest {
        List<Term> terms = new ArrayList<>();
        List<String> metadataTerms = new ArrayList<>();
        for (String term : selector.split(",")) {
            if (term.isBlank()) {
                continue;
            }
            int not = term.indexOf("!=");
            int eq = term.indexOf('=');
            if (eq < 0) {
                throw new FieldError.BadRequest(
                        "invalid selector: '" + selector + "'; can't understand '" + term + "'");
            }
            boolean equal = not < 0 || not > eq;
            String field = term.substring(0, equal ? eq : not).trim();
            String value = term.substring(equal ? (term.startsWith("==", eq) ? eq + 2 : eq + 1) : not + 2)
                    .trim();
            if (METADATA.contains(field)) {
                metadataTerms.add(term);
                continue;
            }
            String path = SELECTABLE.getOrDefault(plural, Map.of()).get(field);
            if (path == null) {
                throw new FieldError.BadRequest("field label not supported: " + field);
            }
            terms.add(new Term(field, path, equal, value));
        }
        return new FieldSelector(terms, metadataTerms);
    }

    /** Whether there is anything here the base class cannot select by. */
    boolean needsFiltering() {
        return !terms.isEmpty();
    }

    /** The metadata terms, for the base class, as a selector (empty when there are none). */
    String metadataSelector() {
        return String.join(",", metadataTerms);
    }

    boolean matches(JsonNode object) {
        return terms.stream().allMatch(term -> term.matches(object));
    }
}
