package dev.roundhouse.testing.apiserver;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceColumnDefinition;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code meta.k8s.io/v1 Table} answers for custom resources, which is what {@code kubectl get} asks for and prints:
 * Name, the CRD version's additionalPrinterColumns, and Age.
 */
final class Tables {

    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
    private static final String CREATION_TIMESTAMP = ".metadata.creationTimestamp";

    private Tables() {}

    /**
     * A Table of {@code listOrObject} (a List or a single object) with the given printer columns.
     *
     * @param includeObject the request's {@code includeObject}: None, Metadata (the default) or Object
     */
    static ObjectNode table(
            JsonNode listOrObject,
            List<CustomResourceColumnDefinition> printerColumns,
            String includeObject,
            Instant now) {
        List<CustomResourceColumnDefinition> columns = new ArrayList<>(printerColumns);
        // Age last, unless the CRD already prints the creation timestamp itself.
        if (columns.stream().noneMatch(c -> CREATION_TIMESTAMP.equals(c.getJsonPath()))) {
            CustomResourceColumnDefinition age = new CustomResourceColumnDefinition();
            age.setName("Age");
            age.setType("date");
            age.setJsonPath(CREATION_TIMESTAMP);
            age.setDescription("Time since the object was created");
            columns.add(age);
        }

        ObjectNode table = NODES.objectNode().put("kind", "Table").put("apiVersion", "meta.k8s.io/v1");
        table.putObject("metadata")
                .put(
                        "resourceVersion",
                        listOrObject.path("metadata").path("resourceVersion").asText(""));
        ArrayNode definitions = table.putArray("columnDefinitions");
        definitions
                .addObject()
                .put("name", "Name")
                .put("type", "string")
                .put("format", "name")
                .put("description", "Name must be unique within a namespace.")
                .put("priority", 0);
        for (CustomResourceColumnDefinition c : columns) {
            definitions
                    .addObject()
                    .put("name", c.getName())
                    .put("type", c.getType())
                    .put("format", c.getFormat() == null ? "" : c.getFormat())
                    .put("description", c.getDescription() == null ? "" : c.getDescription())
                    .put("priority", c.getPriority() == null ? 0 : c.getPriority());
        }

        ArrayNode rows = table.putArray("rows");
        JsonNode items = listOrObject.has("items")
                ? listOrObject.get("items")
                : NODES.arrayNode().add(listOrObject);
        for (JsonNode item : items) {
            ObjectNode row = rows.addObject();
            ArrayNode cells = row.putArray("cells");
            cells.add(item.path("metadata").path("name").asText());
            for (CustomResourceColumnDefinition c : columns) {
                cells.add(cell(JsonPath.first(item, c.getJsonPath()), c.getType(), now));
            }
            if ("Object".equals(includeObject)) {
                row.set("object", item);
            } else if (!"None".equals(includeObject)) {
                ObjectNode partial = row.putObject("object")
                        .put("kind", "PartialObjectMetadata")
                        .put("apiVersion", "meta.k8s.io/v1");
                partial.set("metadata", item.path("metadata"));
            }
        }
        return table;
    }

    private static JsonNode cell(JsonNode value, String type, Instant now) {
        if (value == null || value.isNull()) {
            return NODES.nullNode(); // kubectl prints <none>
        }
        if ("date".equals(type)) {
            try {
                return NODES.textNode(humanDuration(Duration.between(Instant.parse(value.asText()), now)));
            } catch (DateTimeParseException e) {
                return NODES.textNode(value.asText());
            }
        }
        if (value.isContainerNode()) {
            return NODES.textNode(value.toString());
        }
        return switch (type) {
            case "integer", "number", "boolean" -> value;
            default -> NODES.textNode(value.asText());
        };
    }

    /** Kubernetes' {@code duration.HumanDuration}, as kubectl shows ages: 45s, 3m20s, 5h, 3d4h, 2y30d... */
    static String humanDuration(Duration d) {
        long seconds = d.getSeconds();
        if (seconds < -1) {
            return "<invalid>";
        }
        if (seconds < 0) {
            return "0s";
        }
        if (seconds < 60 * 2) {
            return seconds + "s";
        }
        long minutes = seconds / 60;
        if (minutes < 10) {
            return seconds % 60 == 0 ? minutes + "m" : minutes + "m" + seconds % 60 + "s";
        }
        if (minutes < 60 * 3) {
            return minutes + "m";
        }
        long hours = minutes / 60;
        if (hours < 8) {
            return minutes % 60 == 0 ? hours + "h" : hours + "h" + minutes % 60 + "m";
        }
        if (hours < 48) {
            return hours + "h";
        }
        if (hours < 24 * 8) {
            return hours % 24 == 0 ? hours / 24 + "d" : hours / 24 + "d" + hours % 24 + "h";
        }
        if (hours < 24 * 365 * 2) {
            return hours / 24 + "d";
        }
        if (hours < 24 * 365 * 8) {
            long days = hours / 24 % 365;
            return days == 0 ? hours / 24 / 365 + "y" : hours / 24 / 365 + "y" + days + "d";
        }
        return hours / 24 / 365 + "y";
    }

    /**
     * The JSONPath subset printer columns use: {@code .a.b.c}, {@code [n]}, {@code [*]} and filters
     * {@code [?(@.k=="v")]} (or {@code @.k.l=='v'}, {@code @.k==3}, {@code @.k}). Optional surrounding braces.
     */
    static final class JsonPath {

        private JsonPath() {}

        /** The first value {@code path} selects in {@code root}, or null. */
        static JsonNode first(JsonNode root, String path) {
            List<JsonNode> all = all(root, path);
            return all.isEmpty() ? null : all.get(0);
        }

        /** Every value {@code path} selects in {@code root}; unsupported syntax selects nothing. */
        static List<JsonNode> all(JsonNode root, String path) {
            String p = path.trim();
            if (p.startsWith("{") && p.endsWith("}")) {
                p = p.substring(1, p.length() - 1).trim();
            }
            List<JsonNode> current = new ArrayList<>(List.of(root));
            int i = 0;
            while (i < p.length() && !current.isEmpty()) { // every branch advances i
                char c = p.charAt(i);
                if (c == '.') {
                    int end = i + 1;
                    while (end < p.length() && p.charAt(end) != '.' && p.charAt(end) != '[') {
                        end++;
                    }
                    String name = p.substring(i + 1, end);
                    current = name.isEmpty() ? current : children(current, name);
                    i = end;
                } else if (c == '[') {
                    boolean filter = p.startsWith("[?(", i);
                    int end = filter ? p.indexOf(")]", i) : p.indexOf(']', i);
                    if (end < 0) {
                        return List.of();
                    }
                    current =
                            filter ? filter(current, p.substring(i + 3, end)) : index(current, p.substring(i + 1, end));
                    i = end + (filter ? 2 : 1);
                } else {
                    return List.of();
                }
            }
            return current.stream().filter(n -> !n.isMissingNode()).toList();
        }

        private static List<JsonNode> children(List<JsonNode> nodes, String name) {
            List<JsonNode> out = new ArrayList<>();
            for (JsonNode n : nodes) {
                if (n.isObject() && n.has(name)) {
                    out.add(n.get(name));
                }
            }
            return out;
        }

        private static List<JsonNode> index(List<JsonNode> nodes, String index) {
            List<JsonNode> out = new ArrayList<>();
            for (JsonNode n : nodes) {
                if (!n.isArray()) {
                    continue;
                }
                if (index.trim().equals("*")) {
                    n.forEach(out::add);
                } else {
                    try {
                        int k = Integer.parseInt(index.trim());
                        JsonNode element = n.get(k < 0 ? n.size() + k : k);
                        if (element != null) {
                            out.add(element);
                        }
                    } catch (NumberFormatException e) {
                        return List.of();
                    }
                }
            }
            return out;
        }

        /** {@code expression} is {@code @.a.b=="v"}, {@code @.a=='v'}, {@code @.a==3} or {@code @.a}. */
        private static List<JsonNode> filter(List<JsonNode> nodes, String expression) {
            String e = expression.trim();
            int eq = e.indexOf("==");
            String left = (eq < 0 ? e : e.substring(0, eq)).trim();
            String right = eq < 0 ? null : unquote(e.substring(eq + 2).trim());
            if (!left.startsWith("@")) {
                return List.of();
            }
            List<JsonNode> out = new ArrayList<>();
            for (JsonNode n : nodes) {
                if (!n.isArray()) {
                    continue;
                }
                for (JsonNode element : n) {
                    JsonNode value = first(element, left.substring(1));
                    if (value != null && (right == null || right.equals(value.asText()))) {
                        out.add(element);
                    }
                }
            }
            return out;
        }

        private static String unquote(String s) {
            if (s.length() >= 2 && (s.startsWith("\"") && s.endsWith("\"") || s.startsWith("'") && s.endsWith("'"))) {
                return s.substring(1, s.length() - 1);
            }
            return s;
        }
    }
}
