package dev.roundhouse.poolformat;

import java.util.Arrays;
import java.util.stream.Collectors;

/**
 * How the proxy speaks to one backend: the pool document's {@code backends[].protocol}, the LoadBalancer's
 * {@code protocol} fields and {@code BACKENDS}' {@code ;protocol=} take these names.
 */
public enum BackendProtocol {
    /** HTTP/1.1, plain or over TLS by the URL's scheme: one request per connection at a time. */
    HTTP_1_1("http/1.1", null),
    /** HTTP/2 in clear text with prior knowledge (as gRPC servers speak it): many requests on one connection. */
    H2C("h2c", "http"),
    /** HTTP/2 over TLS, agreed by ALPN. */
    H2("h2", "https");

    public static final BackendProtocol DEFAULT = HTTP_1_1;

    private final String wireName;
    /** The only URL scheme the protocol goes with, or null for either. */
    private final String scheme;

    BackendProtocol(String wireName, String scheme) {
        this.wireName = wireName;
        this.scheme = scheme;
    }

    /** The name documents and settings use. */
    public String wireName() {
        return wireName;
    }

    /** HTTP/2: requests share connections as streams. */
    public boolean multiplexed() {
        return this != HTTP_1_1;
    }

    /** Whether a backend URL of {@code scheme} ({@code http} or {@code https}) can be spoken to this way. */
    public boolean fits(String scheme) {
        return this.scheme == null || this.scheme.equals(scheme);
    }

    /** The scheme a URL must have for this protocol, or null when either will do. */
    public String scheme() {
        return scheme;
    }

    /** The protocol named {@code name}, or null when there is none. */
    public static BackendProtocol named(String name) {
        for (BackendProtocol p : values()) {
            if (p.wireName.equals(name)) {
                return p;
            }
        }
        return null;
    }

    /** The names, for messages: {@code http/1.1, h2c, h2}. */
    public static String names() {
        return Arrays.stream(values()).map(BackendProtocol::wireName).collect(Collectors.joining(", "));
    }
}
