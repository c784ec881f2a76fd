package dev.roundhouse.proxy.codec;

/**
 * The size limits of an HTTP/1.1 head, one definition for both directions: what the server accepts from clients
 * and what the proxy's client accepts from backends (and the chunked trailers of either); and the HTTP/2 limits a
 * client's connection is held to (the same header bytes for a header list).
 */
public final class HttpLimits {

    /** Request line (or status line) plus header fields; larger heads are refused (nginx allows 4 x 8 KiB). */
    public static final int MAX_HEADER_BYTES = 32 * 1024;
    /**
     * The longest request method: Undertow's parser refuses longer ones, so the head scanner does too (the longest
     * registered method, {@code UPDATEREDIRECTREF}, has 17 bytes).
     */
    public static final int MAX_METHOD_BYTES = 32;
    /** Header fields in one head. */
    public static final int MAX_HEADERS = 100;
    /**
     * The largest HTTP/2 header list, decoded: Undertow's own ceiling (its {@code io.undertow.http2-max-header-size}),
     * which no option raises. A larger one closes the connection (GOAWAY PROTOCOL_ERROR): the HPACK bomb's answer.
     */
    public static final int MAX_HTTP2_HEADER_LIST_BYTES = 20_000;
    /** HTTP/2 streams a client may have open on one connection at once (nginx: 128, Envoy's advice: 100). */
    public static final int MAX_CONCURRENT_STREAMS = 100;
    /**
     * HTTP/2 streams a client may reset in {@link #RESET_WINDOW_MILLIS} before its connection is closed: the
     * defence against rapid reset (CVE-2023-44487), where each reset stream costs the server a request's work.
     */
    public static final int MAX_RESETS_PER_WINDOW = 200;

    public static final int RESET_WINDOW_MILLIS = 30_000;

    private HttpLimits() {}
}
