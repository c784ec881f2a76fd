package dev.roundhouse.poolformat.status;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;

/** Writes and reads {@link ProxyStatusDocument}s as JSON: the proxy's writer and the operator's reader in one place. */
public final class ProxyStatusCodec {

    private static final JsonMapper MAPPER = JsonMapper.builder()
            // A newer proxy may add fields: a reader of this version skips them.
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .build();

    private ProxyStatusCodec() {}

    public static byte[] write(ProxyStatusDocument document) {
        try {
            return MAPPER.writeValueAsBytes(document);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a status document always serialises", e);
        }
    }

    /**
     * Reads a status document.
     *
     * @throws IOException when it is not JSON, or not a status document of a version this build reads
     */
    public static ProxyStatusDocument read(byte[] body) throws IOException {
        JsonNode root = MAPPER.readTree(body);
        if (root == null || !root.path("version").canConvertToInt()) {
            throw new IOException("not a status document");
        }
        if (root.path("version").asInt() != ProxyStatusDocument.VERSION) {
            throw new IOException("status document version "
                    + root.path("version").asInt() + ", this build reads " + ProxyStatusDocument.VERSION);
        }
        return MAPPER.treeToValue(root, ProxyStatusDocument.class);
    }
}
