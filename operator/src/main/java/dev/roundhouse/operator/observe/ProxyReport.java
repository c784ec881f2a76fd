package dev.roundhouse.operator.observe;

import dev.roundhouse.poolformat.status.ProxyStatusCodec;
import dev.roundhouse.poolformat.status.ProxyStatusDocument;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;

/** One proxy's {@code GET /status}, reduced to what the LoadBalancer's status shows. */
public record ProxyReport(long lastChange, Map<String, Backend> backends) {

    /** One backend as this proxy sees it; {@code since} as the proxy wrote it (RFC 3339), or null. */
    public record Backend(String state, boolean inRotation, String breaker, String since) {}

    /**
     * Reads a status document.
     *
     * @throws IOException when it is not JSON, or not a status document of a version this operator reads
     */
    public static ProxyReport parse(byte[] body) throws IOException {
        ProxyStatusDocument document = ProxyStatusCodec.read(body);
        Map<String, Backend> backends = new LinkedHashMap<>();
        if (document.backends() != null) {
            for (ProxyStatusDocument.Backend b : document.backends()) {
                if (b.url() == null) {
                    continue;
                }
                backends.put(
                        b.url(),
                        new Backend(
                                b.state() == null ? BackendsFold.UNKNOWN : b.state(),
                                b.inRotation(),
                                b.breaker() == null || b.breaker().state() == null
                                        ? "closed"
                                        : b.breaker().state(),
                                b.since()));
            }
        }
        return new ProxyReport(document.lastChange(), Map.copyOf(backends));
    }
}
