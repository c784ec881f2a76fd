package dev.roundhouse.operator.observe;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;

/** One proxy's {@code GET /status}, reduced to what the LoadBalancer's status shows. */
public record ProxyReport(long lastChange, Map<String, Backend> backends) {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** One backend as this proxy sees it; {@code since} as the proxy wrote it (RFC 3339), or null. */
    public record Backend(String state, boolean inRotation, String breaker, String since) {}

    /**
     * Reads a status document.
     *
     * @throws IOException when it is not JSON, or not a status document of a version this operator reads
     */
    public static ProxyReport parse(byte[] body) throws IOException {
        JsonNode root = JSON.readTree(body);
        if (root == null
                || !root.path("version").canConvertToInt()
                || root.path("version").asInt() != 1) {
            throw new IOException("not a version 1 status document");
        }
        Map<String, Backend> backends = new LinkedHashMap<>();
        for (JsonNode b : root.path("backends")) {
            String url = b.path("url").asText(null);
            if (url == null) {
                continue;
            }
            backends.put(
                    url,
                    new Backend(
                            b.path("state").asText("unknown"),
                            b.path("inRotation").asBoolean(false),
                            b.path("breaker").path("state").asText("closed"),
                            b.path("since").isTextual() ? b.path("since").asText() : null));
        }
        return new ProxyReport(root.path("lastChange").asLong(0), Map.copyOf(backends));
    }
}
