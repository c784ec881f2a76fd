package dev.roundhouse.proxy.codec;

import java.nio.ByteBuffer;

/**
 * Reads the chunked transfer coding (RFC 9112 section 7.1) as bytes arrive, strictly, so that no two parsers can
 * read one body two ways: a chunk size is 1 to 16 hexadecimal digits and fits a long; extensions follow the
 * grammar (bad whitespace, token names, token or quoted-string values) and are dropped; every line ends with CRLF;
 * chunk data is followed by exactly CRLF; the trailer section is read within the limits of a header section and
 * dropped (nothing of it is forwarded, as nginx does). Responses from backends may end lines with a bare LF, as
 * nginx accepts from its upstreams.
 *
 * <p>It returns results rather than calling back: {@link #next} skips framing and reports how many data bytes
 * start at the buffer's position, or that it needs more input, reached the end, or found the body malformed.
 */
public final class ChunkedDecoder {

    /** All input was framing; more is needed. */
    public static final int NEED_MORE = -1;
    /** The last chunk and the trailer section were read; the buffer is positioned just after them. */
    public static final int END = -2;
    /** The body is malformed: see {@link #problem()}. */
    static final int MALFORMED = -3;

    /** Longest chunk-size line (size and extensions): long extension runs are a way to make a reader work for nothing. */
    static final int MAX_SIZE_LINE = 4096;

    private static final int MAX_SIZE_DIGITS = 16;

    private static final int SIZE_START = 0;
    private static final int SIZE = 1;
    private static final int SIZE_BWS = 2;
    private static final int EXT_NAME_START = 3;
    private static final int EXT_NAME = 4;
    private static final int EXT_AFTER_NAME = 5;
    private static final int EXT_VALUE_START = 6;
    private static final int EXT_TOKEN = 7;
    private static final int EXT_QUOTED = 8;
    private static final int EXT_QUOTED_PAIR = 9;
    private static final int EXT_AFTER_VALUE = 10;
    private static final int SIZE_LF = 11;
    private static final int DATA = 12;
    private static final int DATA_CR = 13;
    private static final int DATA_LF = 14;
    private static final int TRAILER_LINE_START = 15;
    private static final int TRAILER_NAME = 16;
    private static final int TRAILER_VALUE = 17;
    private static final int TRAILER_LF = 18;
    private static final int END_LF = 19;
    private static final int DONE = 20;
    private static final int FAILED = 21;

    private final boolean bareLf;
    private final int maxTrailerBytes;
    private final int maxTrailerFields;
    private int state = SIZE_START;
    private long size;
    private int digits;
    private int lineBytes;
    private int trailerBytes;
    private int trailerFields;
    private String problem;

    /**
     * @param bareLf whether a bare LF may end a line (backends' responses) or only CRLF (clients' requests)
     * @param maxTrailerBytes the largest trailer section read
     * @param maxTrailerFields the most trailer fields read
     */
    ChunkedDecoder(boolean bareLf, int maxTrailerBytes, int maxTrailerFields) {
        this.bareLf = bareLf;
        this.maxTrailerBytes = maxTrailerBytes;
        this.maxTrailerFields = maxTrailerFields;
    }

    /** For request bodies: CRLF only, and the trailer section limited as the request head is. */
    public static ChunkedDecoder forRequests() {
        return new ChunkedDecoder(false, HttpLimits.MAX_HEADER_BYTES, HttpLimits.MAX_HEADERS);
    }

    /** For response bodies: bare LF tolerated, trailers limited as request heads are. */
    public static ChunkedDecoder forResponses() {
        return new ChunkedDecoder(true, HttpLimits.MAX_HEADER_BYTES, HttpLimits.MAX_HEADERS);
    }

    /** Why the body is malformed, once {@link #next} returned {@link #MALFORMED}. */
    public String problem() {
        return problem;
    }

    boolean ended() {
        return state == DONE;
    }

    /**
     * Reads framing from {@code src} (advancing it) until data is available, the input runs out, the body ends, or
     * it turns out malformed.
     *
     * @return the number of data bytes (at least 1) that start at {@code src.position()}, which the caller takes
     *     and reports with {@link #taken}; or {@link #NEED_MORE}, {@link #END} or {@link #MALFORMED}
     */
    public int next(ByteBuffer src) {
        while (true) {
            if (state == DATA) {
                if (!src.hasRemaining()) {
                    return NEED_MORE;
                }
                return (int) Math.min(size, src.remaining());
            }
            if (state == DONE) {
                return END;
            }
            if (state == FAILED) {
                return MALFORMED;
            }
            if (!src.hasRemaining()) {
                return NEED_MORE;
            }
            step(src.get());
        }
    }

    /** The caller took {@code n} data bytes (advancing its buffer past them). */
    public void taken(int n) {
        size -= n;
        if (size == 0) {
            state = DATA_CR;
        }
    }

    private void step(byte b) {
        int c = b & 0xff;
        switch (state) {
            case SIZE_START -> {
                int digit = hex(c);
                if (digit < 0) {
                    fail("malformed chunk size");
                    return;
                }
                size = digit;
                digits = 1;
                lineBytes = 1;
                state = SIZE;
            }
            case SIZE -> {
                if (++lineBytes > MAX_SIZE_LINE) {
                    fail("chunk-size line over " + MAX_SIZE_LINE + " bytes");
                    return;
                }
                int digit = hex(c);
                if (digit >= 0) {
                    if (++digits > MAX_SIZE_DIGITS || size > (Long.MAX_VALUE >> 4)) {
                        fail("chunk size too large");
                        return;
                    }
                    size = (size << 4) | digit;
                } else if (c == ';') {
                    state = EXT_NAME_START;
                } else if (c == ' ' || c == '\t') {
                    state = SIZE_BWS;
                } else {
                    lineEnd(c, "malformed chunk size");
                }
            }
            case SIZE_BWS -> {
                if (countLine()) {
                    if (c == ';') {
                        state = EXT_NAME_START;
                    } else if (c != ' ' && c != '\t') {
                        fail("malformed chunk size");
                    }
                }
            }
            case EXT_NAME_START -> {
                if (countLine() && c != ' ' && c != '\t') {
                    if (RequestHeadScanner.isTchar(c)) {
                        state = EXT_NAME;
                    } else {
                        fail("malformed chunk extension");
                    }
                }
            }
            case EXT_NAME -> {
                if (countLine() && !RequestHeadScanner.isTchar(c)) {
                    if (c == '=') {
                        state = EXT_VALUE_START;
                    } else if (c == ';') {
                        state = EXT_NAME_START;
                    } else if (c == ' ' || c == '\t') {
                        state = EXT_AFTER_NAME;
                    } else {
                        lineEnd(c, "malformed chunk extension");
                    }
                }
            }
            case EXT_AFTER_NAME -> {
                if (countLine() && c != ' ' && c != '\t') {
                    if (c == '=') {
                        state = EXT_VALUE_START;
                    } else if (c == ';') {
                        state = EXT_NAME_START;
                    } else {
                        lineEnd(c, "malformed chunk extension");
                    }
                }
            }
            case EXT_VALUE_START -> {
                if (countLine() && c != ' ' && c != '\t') {
                    if (c == '"') {
                        state = EXT_QUOTED;
                    } else if (RequestHeadScanner.isTchar(c)) {
                        state = EXT_TOKEN;
                    } else {
                        fail("malformed chunk extension");
                    }
                }
            }
            case EXT_TOKEN -> {
                if (countLine() && !RequestHeadScanner.isTchar(c)) {
                    if (c == ';') {
                        state = EXT_NAME_START;
                    } else if (c == ' ' || c == '\t') {
                        state = EXT_AFTER_VALUE;
                    } else {
                        lineEnd(c, "malformed chunk extension");
                    }
                }
            }
            case EXT_QUOTED -> {
                if (countLine()) {
                    if (c == '"') {
                        state = EXT_AFTER_VALUE;
                    } else if (c == '\\') {
                        state = EXT_QUOTED_PAIR;
                    } else if (c < 0x20 && c != '\t' || c == 0x7f) {
                        fail("malformed chunk extension");
                    }
                }
            }
            case EXT_QUOTED_PAIR -> {
                if (countLine()) {
                    if (c < 0x20 && c != '\t' || c == 0x7f) {
                        fail("malformed chunk extension");
                    } else {
                        state = EXT_QUOTED;
                    }
                }
            }
            case EXT_AFTER_VALUE -> {
                if (countLine() && c != ' ' && c != '\t') {
                    if (c == ';') {
                        state = EXT_NAME_START;
                    } else {
                        lineEnd(c, "malformed chunk extension");
                    }
                }
            }
            case SIZE_LF -> {
                if (c == '\n') {
                    sizeLineEnded();
                } else {
                    fail("malformed chunk size");
                }
            }
            case DATA_CR -> {
                if (c == '\r') {
                    state = DATA_LF;
                } else if (c == '\n' && bareLf) {
                    state = SIZE_START;
                } else {
                    fail("chunk data not followed by CRLF");
                }
            }
            case DATA_LF -> {
                if (c == '\n') {
                    state = SIZE_START;
                } else {
                    fail("chunk data not followed by CRLF");
                }
            }
            case TRAILER_LINE_START -> {
                if (!countTrailer()) {
                    return;
                }
                if (c == '\r') {
                    state = END_LF;
                } else if (c == '\n' && bareLf) {
                    state = DONE;
                } else if (RequestHeadScanner.isTchar(c)) {
                    if (++trailerFields > maxTrailerFields) {
                        fail("more than " + maxTrailerFields + " trailer fields");
                        return;
                    }
                    state = TRAILER_NAME;
                } else {
                    fail(
                            c == ' ' || c == '\t'
                                    ? "obsolete line folding in the trailer section"
                                    : "malformed trailer field");
                }
            }
            case TRAILER_NAME -> {
                if (countTrailer() && !RequestHeadScanner.isTchar(c)) {
                    if (c == ':') {
                        state = TRAILER_VALUE;
                    } else {
                        fail("malformed trailer field");
                    }
                }
            }
            case TRAILER_VALUE -> {
                if (countTrailer() && (c < 0x20 && c != '\t' || c == 0x7f)) {
                    if (c == '\r') {
                        state = TRAILER_LF;
                    } else if (c == '\n' && bareLf) {
                        state = TRAILER_LINE_START;
                    } else {
                        fail("malformed trailer field");
                    }
                }
            }
            case TRAILER_LF -> {
                if (countTrailer()) {
                    if (c == '\n') {
                        state = TRAILER_LINE_START;
                    } else {
                        fail("malformed trailer field");
                    }
                }
            }
            case END_LF -> {
                if (c == '\n') {
                    state = DONE;
                } else {
                    fail("malformed last chunk");
                }
            }
            default -> throw new IllegalStateException("chunk state " + state);
        }
    }

    private static int hex(int c) {
        if (c >= '0' && c <= '9') {
            return c - '0';
        }
        if (c >= 'a' && c <= 'f') {
            return c - 'a' + 10;
        }
        if (c >= 'A' && c <= 'F') {
            return c - 'A' + 10;
        }
        return -1;
    }

    /** CR or LF where a chunk-size line may end; anything else is the given problem. */
    private void lineEnd(int c, String problem) {
        if (c == '\r') {
            state = SIZE_LF;
        } else if (c == '\n' && bareLf) {
            sizeLineEnded();
        } else {
            fail(problem);
        }
    }

    private void sizeLineEnded() {
        state = size == 0 ? TRAILER_LINE_START : DATA;
        trailerBytes = 0;
        trailerFields = 0;
    }

    private boolean countLine() {
        if (++lineBytes > MAX_SIZE_LINE) {
            fail("chunk-size line over " + MAX_SIZE_LINE + " bytes");
            return false;
        }
        return true;
    }

    private boolean countTrailer() {
        if (++trailerBytes > maxTrailerBytes) {
            fail("trailer section over " + maxTrailerBytes + " bytes");
            return false;
        }
        return true;
    }

    private void fail(String why) {
        problem = why;
        state = FAILED;
    }
}
