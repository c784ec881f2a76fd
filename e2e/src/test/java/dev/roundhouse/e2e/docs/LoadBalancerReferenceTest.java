package dev.roundhouse.e2e.docs;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/**
 * docs/loadbalancer-reference.md against the committed CRD: every property under spec and status has a table
 * row (| `spec.a.b[].c` | type | default | validation | meaning |) that states its type, default, range, length,
 * pattern and whether it is required, and every CEL rule is quoted with its message.
 */
class LoadBalancerReferenceTest {

    static final String CRD = "crds/loadbalancers.roundhouse.dev-v1.yml";
    static final String DOC = "docs/loadbalancer-reference.md";
    /**
     * Kubernetes types the operator passes to the proxy pods as they are: one row each, saying so, not one per field
     * of theirs (the Kubernetes API reference describes those).
     */
    static final Set<String> PASSED_THROUGH = Set.of(
            "spec.podTemplate.imagePullSecrets",
            "spec.podTemplate.tolerations",
            "spec.podTemplate.affinity",
            "spec.podTemplate.topologySpreadConstraints");

    private static JsonNode schema() {
        JsonNode versions = Docs.yaml(Docs.read(CRD)).path("spec").path("versions");
        assertThat(versions).as("versions in %s", CRD).hasSize(1);
        return versions.get(0).path("schema").path("openAPIV3Schema");
    }

    /** Every property path under the schema's spec and status, with its schema and whether its parent requires it. */
    static Map<String, Property> properties() {
        Map<String, Property> paths = new LinkedHashMap<>();
        JsonNode root = schema().path("properties");
        for (String top : List.of("spec", "status")) {
            assertThat(root.has(top)).as("%s has %s", CRD, top).isTrue();
            walk(top, root.path(top), false, paths);
        }
        return paths;
    }

    record Property(String path, JsonNode schema, boolean required) {}

    private static void walk(String path, JsonNode node, boolean required, Map<String, Property> out) {
        out.put(path, new Property(path, node, required));
        if (PASSED_THROUGH.contains(path)) {
            return;
        }
        if (node.has("properties")) {
            Set<String> requiredNames = new TreeSet<>();
            node.path("required").forEach(r -> requiredNames.add(r.asText()));
            node.path("properties")
                    .properties()
                    .forEach(e -> walk(path + "." + e.getKey(), e.getValue(), requiredNames.contains(e.getKey()), out));
        }
        if (node.path("items").has("properties")) {
            JsonNode items = node.path("items");
            Set<String> requiredNames = new TreeSet<>();
            items.path("required").forEach(r -> requiredNames.add(r.asText()));
            items.path("properties")
                    .properties()
                    .forEach(e ->
                            walk(path + "[]." + e.getKey(), e.getValue(), requiredNames.contains(e.getKey()), out));
        }
    }

    @Test
    void theWalkFindsTheFieldsWeKnow() {
        assertThat(properties().keySet())
                .contains(
                        "spec.backends[].url",
                        "spec.metrics.serviceMonitor.labels",
                        "spec.resources.claims[].request",
                        "status.conditions[].observedGeneration",
                        "status.readyReplicas")
                .hasSizeGreaterThan(50);
    }

    @Test
    void everyFieldHasARowStatingItsTypeDefaultAndValidation() {
        String doc = Docs.read(DOC);
        List<String> problems = new ArrayList<>();
        for (Property p : properties().values()) {
            Optional<String> found = Docs.tableRow(doc, p.path());
            if (found.isEmpty()) {
                problems.add(p.path() + ": no row | `" + p.path() + "` | ...");
                continue;
            }
            // Pipes inside code spans are escaped in a table row.
            String row = found.get().replace("\\|", "|");
            for (String expected : expectations(p)) {
                if (!row.contains(expected)) {
                    problems.add(p.path() + ": row lacks " + expected + "\n    " + found.get());
                }
            }
        }
        assertThat(problems)
                .as("fields of %s missing or misdescribed in %s", CRD, DOC)
                .isEmpty();
    }

    /** What a field's row must say, from its schema. */
    static List<String> expectations(Property p) {
        JsonNode s = p.schema();
        List<String> expected = new ArrayList<>();
        String type = s.path("type").asText("");
        if (type.equals("object") && s.has("additionalProperties")) {
            expected.add("map of");
        } else if (!type.isEmpty()) {
            expected.add(type);
        }
        if (s.has("default")) {
            expected.add("`" + s.path("default").asText() + "`");
        }
        if (s.has("minimum") || s.has("maximum")) {
            expected.add(number(s.path("minimum")) + " to " + number(s.path("maximum")));
        }
        if (s.has("minItems") && s.has("maxItems")) {
            expected.add(number(s.path("minItems")) + " to " + number(s.path("maxItems")) + " items");
        } else if (s.has("maxItems")) {
            expected.add("at most " + number(s.path("maxItems")) + " items");
        } else if (s.has("minItems")) {
            expected.add("at least " + number(s.path("minItems")) + " items");
        }
        if (s.has("maxLength")) {
            expected.add("at most " + s.path("maxLength").asInt() + " characters");
        }
        if (s.has("pattern")) {
            expected.add("pattern `" + s.path("pattern").asText() + "`");
        }
        if (p.required()) {
            expected.add("required");
        }
        if (PASSED_THROUGH.contains(p.path())) {
            expected.add("as in a pod");
        }
        return expected;
    }

    /** Integral numbers as integers: the generator writes 1000.0 for @Max(1000). */
    private static String number(JsonNode n) {
        if (n.isMissingNode()) {
            return "?";
        }
        double d = n.asDouble();
        return d == Math.rint(d) ? Long.toString((long) d) : Double.toString(d);
    }

    @Test
    void everyCelRuleIsQuotedWithItsMessage() {
        String doc = Docs.read(DOC);
        List<JsonNode> rules = new ArrayList<>();
        collectRules(schema(), rules);
        assertThat(rules).as("x-kubernetes-validations in %s", CRD).isNotEmpty();
        for (JsonNode rule : rules) {
            assertThat(doc)
                    .as("CEL rule of %s", CRD)
                    .contains("`" + rule.path("rule").asText() + "`")
                    .contains(rule.path("message").asText());
        }
    }

    private static void collectRules(JsonNode node, List<JsonNode> out) {
        node.path("x-kubernetes-validations").forEach(out::add);
        node.forEach(child -> {
            if (child.isContainerNode()) {
                collectRules(child, out);
            }
        });
    }

    @Test
    void noRowDescribesAFieldTheCrdDoesNotHave() {
        String doc = Docs.read(DOC);
        Set<String> known = properties().keySet();
        List<String> unknown = doc.lines()
                .filter(l -> l.startsWith("| `spec") || l.startsWith("| `status"))
                .map(l -> l.substring(3, l.indexOf('`', 3)))
                .filter(path -> !known.contains(path))
                .toList();
        assertThat(unknown)
                .as("rows of %s for fields %s does not have", DOC, CRD)
                .isEmpty();
    }
}
