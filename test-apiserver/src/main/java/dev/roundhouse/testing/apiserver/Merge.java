package dev.roundhouse.testing.apiserver;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.zjsonpatch.JsonPatch;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The merges behind apply, JSON merge patch and strategic merge patch, and JSON patch.
 *
 * <p>Everything is JSON merge patch (RFC 7386: objects merge, {@code null} removes, anything else replaces). A
 * strategic merge patch additionally merges the built-in keyed lists by their merge key, because that is what
 * {@code kubectl apply} relies on: for a changed container it sends only {@code {name, image}}, and replacing the
 * list would drop the container's other fields.
 */
final class Merge {

    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

    /**
     * Keyed lists of the built-in kinds (their Go {@code patchMergeKey} / {@code listMapKeys}), by field name. Every
     * other list is atomic, except that managed fields key any list of objects that all carry a {@code name}.
     */
    private static final Map<String, String> MERGE_KEYS = Map.ofEntries(
            Map.entry("containers", "name"),
            Map.entry("initContainers", "name"),
            Map.entry("ephemeralContainers", "name"),
            Map.entry("volumes", "name"),
            Map.entry("env", "name"),
            Map.entry("imagePullSecrets", "name"),
            Map.entry("volumeMounts", "mountPath"),
            Map.entry("volumeDevices", "devicePath"),
            Map.entry("ownerReferences", "uid"),
            Map.entry("conditions", "type"),
            Map.entry("hostAliases", "ip"));

    private Merge() {}

    /** JSON merge patch (RFC 7386) of {@code patch} onto a copy of {@code target}. */
    static JsonNode mergePatch(JsonNode target, JsonNode patch) {
        return merge(target, patch, false);
    }

    /** Strategic merge patch, approximated: JSON merge patch plus keyed merging of the built-in keyed lists. */
    static JsonNode strategicMergePatch(JsonNode target, JsonNode patch) {
        return merge(target, patch, true);
    }

    /**
     * JSON patch (RFC 6902) of {@code patch} onto a copy of {@code target}. As in the Fabric8 mock, missing parent
     * objects of the patched paths are created first (Fabric8's {@code edit} adds {@code /spec/x} to objects without a
     * spec).
     */
    static JsonNode jsonPatch(JsonNode target, JsonNode patch) {
        JsonNode result = target.deepCopy();
        for (JsonNode operation : patch) {
            String[] steps =
                    operation.path("path").asText().replaceAll("^/", "").split("/");
            JsonNode node = result;
            for (int i = 0; i < steps.length - 1; i++) {
                if (node.isObject() && node.get(steps[i]) == null) {
                    ((ObjectNode) node).putObject(steps[i]);
                }
                node = node.path(steps[i]);
            }
        }
        return JsonPatch.apply(patch, result);
    }

    private static JsonNode merge(JsonNode target, JsonNode patch, boolean strategic) {
        if (!patch.isObject()) {
            return patch.deepCopy();
        }
        ObjectNode result = target != null && target.isObject() ? ((ObjectNode) target).deepCopy() : NODES.objectNode();
        if (strategic && patch.path("$retainKeys").isArray()) {
            Set<String> retain = new HashSet<>();
            patch.get("$retainKeys").forEach(k -> retain.add(k.asText()));
            result.retain(retain);
        }
        for (Map.Entry<String, JsonNode> field : patch.properties()) {
            String name = field.getKey();
            JsonNode value = field.getValue();
            if (strategic && name.startsWith("$")) {
                // Directives; $setElementOrder is ignored (new elements are appended), $patch/$retainKeys are handled
                // here.
                if (name.startsWith("$deleteFromPrimitiveList/")) {
                    deleteFromPrimitiveList(result, name.substring("$deleteFromPrimitiveList/".length()), value);
                }
                continue;
            }
            if (value.isNull()) {
                result.remove(name);
            } else if (strategic && value.isArray() && result.path(name).isArray() && mergeKey(name, value) != null) {
                result.set(name, mergeList((ArrayNode) result.get(name), (ArrayNode) value, mergeKey(name, value)));
            } else {
                result.set(name, merge(result.get(name), value, strategic));
            }
        }
        return result;
    }

    private static ArrayNode mergeList(ArrayNode current, ArrayNode patch, String key) {
        List<JsonNode> out = new ArrayList<>();
        current.forEach(out::add);
        for (JsonNode element : patch) {
            int index = indexOf(out, key, element.get(key));
            if ("delete".equals(element.path("$patch").asText())) {
                if (index >= 0) {
                    out.remove(index);
                }
            } else if (index >= 0) {
                out.set(index, merge(out.get(index), element, true));
            } else {
                out.add(merge(null, element, true));
            }
        }
        ArrayNode result = NODES.arrayNode();
        out.forEach(result::add);
        return result;
    }

    private static int indexOf(List<JsonNode> elements, String key, JsonNode value) {
        for (int i = 0; i < elements.size(); i++) {
            if (value.equals(elements.get(i).get(key))) {
                return i;
            }
        }
        return -1;
    }

    private static void deleteFromPrimitiveList(ObjectNode target, String field, JsonNode values) {
        if (target.path(field).isArray()) {
            ArrayNode kept = NODES.arrayNode();
            target.get(field).forEach(v -> {
                if (!contains(values, v)) {
                    kept.add(v);
                }
            });
            target.set(field, kept);
        }
    }

    private static boolean contains(JsonNode array, JsonNode value) {
        for (JsonNode v : array) {
            if (v.equals(value)) {
                return true;
            }
        }
        return false;
    }

    /** The strategic merge key of the built-in list {@code field}, when every element of {@code list} carries it. */
    static String mergeKey(String field, JsonNode list) {
        String key = "ports".equals(field) ? portKey(list) : MERGE_KEYS.get(field);
        return key != null && allHave(list, List.of(key)) ? key : null;
    }

    /**
     * The key fields that managed fields use for the list {@code field} ({@code k:{...}} entries), or null when the
     * list is atomic. Only key fields that every element carries are used: this server does not default
     * {@code protocol}, and JOSDK's matcher looks elements up by exactly these fields.
     */
    static List<String> managedListKeys(String field, JsonNode list) {
        if (list.isEmpty()) {
            return null;
        }
        List<String> keys;
        if ("ports".equals(field) && portKey(list) != null) {
            keys = allHave(list, List.of("protocol")) ? List.of(portKey(list), "protocol") : List.of(portKey(list));
        } else {
            keys = List.of(MERGE_KEYS.getOrDefault(field, "name"));
        }
        return allHave(list, keys) && unique(list, keys) ? keys : null;
    }

    private static String portKey(JsonNode list) {
        return allHave(list, List.of("containerPort"))
                ? "containerPort"
                : allHave(list, List.of("port")) ? "port" : null;
    }

    private static boolean allHave(JsonNode list, List<String> keys) {
        for (JsonNode element : list) {
            if (!element.isObject()) {
                return false;
            }
            for (String key : keys) {
                if (!element.hasNonNull(key) || element.get(key).isContainerNode()) {
                    return false;
                }
            }
        }
        return true;
    }

    private static boolean unique(JsonNode list, List<String> keys) {
        Set<List<JsonNode>> seen = new HashSet<>();
        for (JsonNode element : list) {
            List<JsonNode> id = new ArrayList<>();
            keys.forEach(k -> id.add(element.get(k)));
            if (!seen.add(id)) {
                return false;
            }
        }
        return true;
    }
}
