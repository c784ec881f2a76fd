package dev.roundhouse.testing.apiserver;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The part of the OpenAPI v3 documents that kubectl reads to learn that the server validates fields itself: the
 * PATCH operation of each resource, marked with its kind and taking the {@code fieldValidation} query parameter.
 * With it, kubectl sends {@code fieldValidation=Strict} (its default), {@code Warn} ({@code --validate=warn}) or
 * {@code Ignore} ({@code --validate=false}) and shows what the server says, as against a real cluster; without it,
 * kubectl insists on downloading a full schema first. No schemas are served: {@code kubectl explain} has nothing to
 * explain, and strategic merge patches of built-in kinds come from kubectl's own types, as they did before.
 */
final class OpenApiV3 {

    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
    private static final String ROOT = "/openapi/v3";

    private OpenApiV3() {}

    /** The answer for {@code path} (no query) under {@code /openapi/}, or null for a path this class does not serve. */
    static Discovery.Answer answer(String path, List<Discovery.Resource> resources) {
        Map<String, ObjectNode> documents = documents(resources);
        if (path.equals(ROOT) || path.equals(ROOT + "/")) {
            ObjectNode root = NODES.objectNode();
            ObjectNode paths = root.putObject("paths");
            documents.forEach((groupVersion, document) -> paths.putObject(groupVersion)
                    .put("serverRelativeURL", ROOT + "/" + groupVersion + "?hash=" + hash(document)));
            return new Discovery.Answer(200, root);
        }
        if (path.startsWith(ROOT + "/")) {
            ObjectNode document = documents.get(path.substring(ROOT.length() + 1));
            if (document != null) {
                return new Discovery.Answer(200, document);
            }
        }
        return null;
    }

    /** One document per group version ({@code api/v1}, {@code apis/apps/v1}), each with every resource's PATCH. */
    private static Map<String, ObjectNode> documents(List<Discovery.Resource> resources) {
        Map<String, ObjectNode> documents = new LinkedHashMap<>();
        for (Discovery.Resource r : resources) {
            String groupVersion = r.group().isEmpty() ? "api/" + r.version() : "apis/" + r.group() + "/" + r.version();
            ObjectNode document = documents.computeIfAbsent(groupVersion, gv -> {
                ObjectNode d = NODES.objectNode().put("openapi", "3.0.0");
                d.putObject("info").put("title", "Kubernetes").put("version", "v1.32.0");
                d.putObject("paths");
                return d;
            });
            String path =
                    "/" + groupVersion + (r.namespaced() ? "/namespaces/{namespace}/" : "/") + r.plural() + "/{name}";
            ObjectNode patch =
                    ((ObjectNode) document.get("paths")).putObject(path).putObject("patch");
            patch.put("operationId", "patch" + r.kind());
            patch.putObject("x-kubernetes-group-version-kind")
                    .put("group", r.group())
                    .put("version", r.version())
                    .put("kind", r.kind());
            patch.putArray("parameters")
                    .addObject()
                    .put("name", "fieldValidation")
                    .put("in", "query")
                    .putObject("schema")
                    .put("type", "string")
                    .put("uniqueItems", true);
            ObjectNode content = patch.putObject("requestBody").putObject("content");
            // No strategic merge patch listed: kubectl would then want the kind's schema to compute one.
            for (String type : List.of(
                    "application/json-patch+json", "application/merge-patch+json", "application/apply-patch+yaml")) {
                content.putObject(type).putObject("schema").put("type", "object");
            }
            patch.putObject("responses").putObject("200").put("description", "OK");
        }
        return documents;
    }

    private static String hash(ObjectNode document) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256")
                    .digest(document.toString().getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(digest, 0, 16).toUpperCase(java.util.Locale.ROOT);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
