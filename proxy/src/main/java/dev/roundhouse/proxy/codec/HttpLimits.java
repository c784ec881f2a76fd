package dev.roundhouse.proxy.codec;

/**
 * The size limits of an HTTP/1.1 head, one definition for both directions: what the server accepts from clients
 * and what the proxy's client accepts from backends (and the chunked trailers of either).
 */
public final class HttpLimits {

    /** Request line (or status line) plus header fields; larger heads are refused (nginx allows 4 x 8 KiB). */
    public static final int MAX_HEADER_BYTES = 32 * 1024;
    /** Header fields in one head. */
    public static final int MAX_HEADERS = 100;

    private HttpLimits() {}
}
