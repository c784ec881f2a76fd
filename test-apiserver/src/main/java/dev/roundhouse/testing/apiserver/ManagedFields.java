package dev.roundhouse.testing.apiserver;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * {@code metadata.managedFields} for server-side apply, in the FieldsV1 format Kubernetes writes: {@code f:<field>}
 * for map keys, {@code k:{"name":"x"}} for elements of keyed lists (with a {@code "."} entry, as Kubernetes adds one
 * for list elements), and {@code {}} for leaves and atomic lists.
 *
 * <p>JOSDK's {@code SSABasedGenericKubernetesResourceMatcher} prunes the stored object to the fields listed here for
 * its field manager and compares the rest with the desired object, so this set must name exactly the fields the
 * applied object set: nothing the server added (uid, resourceVersion...) and no empty maps.
 */
final class ManagedFields {

    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Fields Kubernetes never records as managed (its "strip meta" set). */
    private static final List<String> UNMANAGED_METADATA = List.of(
            "name",
            "namespace",
            "creationTimestamp",
            "selfLink",
            "uid",
            "clusterName",
            "generation",
            "managedFields",
            "resourceVersion");

    private ManagedFields() {}

    /** The FieldsV1 set of everything {@code applied} sets, apiVersion, kind and server-owned metadata aside. */
    static ObjectNode fieldSet(JsonNode applied) {
        ObjectNode copy = ((ObjectNode) applied).deepCopy();
        copy.remove(List.of("apiVersion", "kind"));
        if (copy.path("metadata").isObject()) {
            ObjectNode metadata = (ObjectNode) copy.get("metadata");
            metadata.remove(UNMANAGED_METADATA);
            if (metadata.isEmpty()) {
                copy.remove("metadata");
            }
        }
        return fieldsOf(copy);
    }

    private static ObjectNode fieldsOf(JsonNode object) {
        // Sorted like Kubernetes writes them; "." sorts before "f:" and "k:".
        Map<String, JsonNode> fields = new TreeMap<>();
        for (Map.Entry<String, JsonNode> field : object.properties()) {
            JsonNode value = field.getValue();
            if (value.isNull()) {
                continue; // a null in an applied object removes the field; nobody manages it afterwards
            }
            List<String> keys = value.isArray() ? Merge.managedListKeys(field.getKey(), value) : null;
            if (value.isObject() && !value.isEmpty()) {
                fields.put("f:" + field.getKey(), fieldsOf(value));
            } else if (keys != null) {
                fields.put("f:" + field.getKey(), keyedList(value, keys));
            } else {
                fields.put("f:" + field.getKey(), NODES.objectNode()); // a leaf, an empty map, or an atomic list
            }
        }
        ObjectNode result = NODES.objectNode();
        result.setAll(fields);
        return result;
    }

    private static ObjectNode keyedList(JsonNode list, List<String> keys) {
        Map<String, JsonNode> elements = new TreeMap<>();
        for (JsonNode element : list) {
            ObjectNode key = NODES.objectNode();
            keys.stream().sorted().forEach(k -> key.set(k, element.get(k)));
            ObjectNode fields = NODES.objectNode();
            fields.set(".", NODES.objectNode());
            fields.setAll(fieldsOf(element));
            elements.put("k:" + compact(key), fields);
        }
        ObjectNode result = NODES.objectNode();
        result.setAll(elements);
        return result;
    }

    private static String compact(JsonNode node) {
        try {
            return JSON.writeValueAsString(node);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Records {@code fieldSet} as what {@code manager} applied, replacing that manager's earlier Apply entry for the same
     * subresource. The entry keeps its old time when nothing about it changed, so that a repeated apply leaves the
     * object byte-for-byte equal and the server can skip the write.
     */
    static void record(ObjectNode object, String manager, String apiVersion, String subresource, ObjectNode fieldSet) {
        ObjectNode metadata = (ObjectNode) object.get("metadata");
        ArrayNode entries = metadata.path("managedFields").isArray()
                ? (ArrayNode) metadata.get("managedFields")
                : NODES.arrayNode();
        ObjectNode entry = NODES.objectNode();
        entry.put("manager", manager);
        entry.put("operation", "Apply");
        entry.put("apiVersion", apiVersion);
        entry.put("fieldsType", "FieldsV1");
        entry.set("fieldsV1", fieldSet);
        if (subresource != null) {
            entry.put("subresource", subresource);
        }
        int index = -1;
        for (int i = 0; i < entries.size() && index < 0; i++) {
            JsonNode old = entries.get(i);
            if (manager.equals(old.path("manager").asText())
                    && "Apply".equals(old.path("operation").asText())
                    && String.valueOf(subresource)
                            .equals(old.path("subresource").asText("null"))) {
                index = i;
            }
        }
        if (index >= 0) {
            ObjectNode oldWithoutTime = ((ObjectNode) entries.get(index)).deepCopy();
            oldWithoutTime.remove("time");
            if (oldWithoutTime.equals(entry)) {
                return; // unchanged: keep the old entry, time included
            }
        }
        entry.put("time", Instant.now().truncatedTo(ChronoUnit.SECONDS).toString());
        if (index >= 0) {
            entries.set(index, entry);
        } else {
            entries.add(entry);
        }
        metadata.set("managedFields", entries);
    }
}
