package dev.roundhouse.proxy.codec;

import java.nio.ByteBuffer;

/**
 * Checks a client's request head (RFC 9112 sections 2 to 6) on its bytes, before Undertow parses it, so that what
 * the proxy forwards can only be read one way. Refused, with the status a client should see:
 * <ul>
 *   <li>400: a request line that is not exactly {@code method SP target SP HTTP/1.x CRLF}; a target with bytes
 *       outside visible ASCII, or userinfo in an absolute-form target (RFC 9110 section 4.2.4); a line ended by a
 *       bare LF or containing a bare CR; obsolete line folding (section 5.2); a field name that is not a token or
 *       is followed by whitespace before its colon; a control byte in a field value; framing that two parsers
 *       could read differently (section 6.3): Content-Length with Transfer-Encoding, more than one Content-Length,
 *       one that is not 1 to 18 digits, a transfer coding other than a single {@code chunked}, Transfer-Encoding
 *       in an HTTP/1.0 request; an HTTP/1.1 request with no Host or more than one.</li>
 *   <li>414: a request line longer than the head limit.</li>
 *   <li>431: a head over {@link HttpLimits#MAX_HEADER_BYTES}, or with more than {@link HttpLimits#MAX_HEADERS}
 *       fields.</li>
 *   <li>505: an HTTP version other than 1.0 and 1.1.</li>
 * </ul>
 * It reads a head incrementally, as it arrives: each call continues where the last one stopped, over bytes the
 * caller keeps in place from the head's first byte on.
 */
public final class RequestHeadScanner {

    /** The head is not complete yet. */
    public static final int NEED_MORE = -1;
    /** The head is refused: see {@link #status()} and {@link #problem()}. */
    public static final int REFUSED = -2;

    private static final boolean[] TCHAR = new boolean[256];

    static {
        for (char c : "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ".toCharArray()) {
            TCHAR[c] = true;
        }
    }

    private static final int METHOD = 0;
    private static final int TARGET = 1;
    private static final int VERSION = 2;
    private static final int REQUEST_LINE_LF = 3;
    private static final int LINE_START = 4;
    private static final int NAME = 5;
    private static final int VALUE = 6;
    private static final int VALUE_LF = 7;
    private static final int END_LF = 8;

    private static final byte[] CONTENT_LENGTH = bytes("content-length");
    private static final byte[] TRANSFER_ENCODING = bytes("transfer-encoding");
    private static final byte[] HOST = bytes("host");
    private static final byte[] UPGRADE = bytes("upgrade");
    private static final byte[] CHUNKED = bytes("chunked");
    private static final byte[] CONNECT = bytes("CONNECT");

    private final int maxHeadBytes;
    private final int maxFields;

    private int state;
    /** Bytes of the head read so far, from its first byte. */
    private int consumed;

    private int targetStart;
    private int versionStart;
    private int nameStart;
    private int nameEnd;
    private int valueStart;
    private int fields;
    private int hosts;
    private int transferEncodings;
    private boolean http10;
    private boolean chunked;
    private boolean upgrade;
    private boolean connect;
    private long contentLength;
    private int status;
    private String problem;

    public RequestHeadScanner(int maxHeadBytes, int maxFields) {
        this.maxHeadBytes = maxHeadBytes;
        this.maxFields = maxFields;
        reset();
    }

    /** Ready for the next head. */
    public void reset() {
        state = METHOD;
        consumed = 0;
        fields = 0;
        hosts = 0;
        transferEncodings = 0;
        http10 = false;
        chunked = false;
        upgrade = false;
        connect = false;
        contentLength = -1;
        status = 0;
        problem = null;
    }

    public static boolean isTchar(int c) {
        return TCHAR[c & 0xff];
    }

    /** How many bytes of the current head were read. */
    public int consumed() {
        return consumed;
    }

    /** The status to answer a refused head with. */
    public int status() {
        return status;
    }

    public String problem() {
        return problem;
    }

    /** The request body's length by Content-Length; -1 without one. */
    public long contentLength() {
        return contentLength;
    }

    public boolean chunked() {
        return chunked;
    }

    /**
     * The request asks to switch protocols (it has an Upgrade field) or for a tunnel (CONNECT): what follows its
     * head on the connection may not be HTTP.
     */
    public boolean mayLeaveHttp() {
        return upgrade || connect;
    }

    /** The request has an Upgrade field (and is no CONNECT): what follows may be another protocol's bytes. */
    public boolean upgrade() {
        return upgrade && !connect;
    }

    /**
     * Reads on in the head that starts at {@code headStart} in {@code b}, with its bytes up to {@code end}
     * available (those read by earlier calls still in place).
     *
     * @return the head's length once its blank line is read; {@link #NEED_MORE}; or {@link #REFUSED}
     */
    public int scan(ByteBuffer b, int headStart, int end) {
        if (status != 0) {
            return REFUSED;
        }
        int i = headStart + consumed;
        while (i < end) {
            if (i - headStart >= maxHeadBytes) {
                consumed = i - headStart;
                return state <= REQUEST_LINE_LF
                        ? refuse(414, "the request line is longer than " + maxHeadBytes + " bytes")
                        : refuse(431, "the request head is larger than " + maxHeadBytes + " bytes");
            }
            int c = b.get(i) & 0xff;
            int at = i - headStart;
            i++;
            switch (state) {
                case METHOD -> {
                    if (c == ' ' && at > 0) {
                        targetStart = at + 1;
                        state = TARGET;
                    } else if (!TCHAR[c]) {
                        return refuse(400, "malformed request line");
                    }
                }
                case TARGET -> {
                    if (c == ' ' && at > targetStart) {
                        versionStart = at + 1;
                        state = VERSION;
                    } else if (c < 0x21 || c > 0x7e) {
                        return refuse(400, "malformed request target");
                    }
                }
                case VERSION -> {
                    if (c == '\r') {
                        if (!version(b, headStart, at)) {
                            return REFUSED;
                        }
                        state = REQUEST_LINE_LF;
                    } else if (c == '\n') {
                        return refuse(400, "a line of the request head ends with a bare LF");
                    } else if (at - versionStart >= 8) {
                        return refuse(400, "malformed HTTP version");
                    }
                }
                case REQUEST_LINE_LF -> {
                    if (c != '\n') {
                        return refuse(400, "a bare CR in the request line");
                    }
                    if (!requestLine(b, headStart)) {
                        return REFUSED;
                    }
                    state = LINE_START;
                }
                case LINE_START -> {
                    if (c == '\r') {
                        state = END_LF;
                    } else if (c == ' ' || c == '\t') {
                        return refuse(400, "obsolete line folding in the request head");
                    } else if (TCHAR[c]) {
                        if (++fields > maxFields) {
                            return refuse(431, "more than " + maxFields + " header fields");
                        }
                        nameStart = at;
                        state = NAME;
                    } else {
                        return refuse(
                                400,
                                c == '\n'
                                        ? "a line of the request head ends with a bare LF"
                                        : "malformed header field name");
                    }
                }
                case NAME -> {
                    if (c == ':') {
                        nameEnd = at;
                        valueStart = at + 1;
                        state = VALUE;
                    } else if (!TCHAR[c]) {
                        return refuse(
                                400,
                                c == ' ' || c == '\t'
                                        ? "whitespace between a header field name and its colon"
                                        : "malformed header field name");
                    }
                }
                case VALUE -> {
                    if (c == '\r') {
                        if (!field(b, headStart, at)) {
                            return REFUSED;
                        }
                        state = VALUE_LF;
                    } else if ((c < 0x20 && c != '\t') || c == 0x7f) {
                        return refuse(
                                400,
                                c == '\n'
                                        ? "a line of the request head ends with a bare LF"
                                        : "a control character in a header field value");
                    }
                }
                case VALUE_LF -> {
                    if (c != '\n') {
                        return refuse(400, "a bare CR in a header field value");
                    }
                    state = LINE_START;
                }
                case END_LF -> {
                    if (c != '\n') {
                        return refuse(400, "a bare CR in the request head");
                    }
                    consumed = at + 1;
                    return end();
                }
                default -> throw new IllegalStateException("head state " + state);
            }
        }
        consumed = i - headStart;
        return NEED_MORE;
    }

    private boolean version(ByteBuffer b, int headStart, int at) {
        int v = headStart + versionStart;
        int length = at - versionStart;
        if (length != 8
                || b.get(v) != 'H'
                || b.get(v + 1) != 'T'
                || b.get(v + 2) != 'T'
                || b.get(v + 3) != 'P'
                || b.get(v + 4) != '/'
                || !digit(b.get(v + 5))
                || b.get(v + 6) != '.'
                || !digit(b.get(v + 7))) {
            refuse(400, "malformed HTTP version");
            return false;
        }
        if (b.get(v + 5) != '1' || (b.get(v + 7) != '0' && b.get(v + 7) != '1')) {
            refuse(505, "only HTTP/1.0 and HTTP/1.1 are served here");
            return false;
        }
        http10 = b.get(v + 7) == '0';
        return true;
    }

    /** The request line is complete: checks of the target that need it whole. */
    private boolean requestLine(ByteBuffer b, int headStart) {
        connect = targetStart - 1 == CONNECT.length; // methods are case-sensitive: only "CONNECT" asks for a tunnel
        for (int i = 0; connect && i < CONNECT.length; i++) {
            connect = b.get(headStart + i) == CONNECT[i];
        }
        int t = headStart + targetStart;
        int tEnd = headStart + versionStart - 1;
        byte first = b.get(t);
        if (first == '/' || first == '*' || connect) {
            return true;
        }
        // absolute-form: scheme "://" authority [ path-abempty ] [ "?" query ]
        int scheme = t;
        while (scheme < tEnd && b.get(scheme) != ':') {
            scheme++;
        }
        if (scheme + 2 >= tEnd || b.get(scheme + 1) != '/' || b.get(scheme + 2) != '/') {
            refuse(400, "malformed request target");
            return false;
        }
        for (int i = scheme + 3; i < tEnd; i++) {
            byte c = b.get(i);
            if (c == '/' || c == '?' || c == '#') {
                break;
            }
            if (c == '@') {
                refuse(400, "userinfo in the request target");
                return false;
            }
        }
        return true;
    }

    /** A field line is complete ({@code at} is its CR): the fields that frame or route the request. */
    private boolean field(ByteBuffer b, int headStart, int at) {
        int name = headStart + nameStart;
        int nameLimit = headStart + nameEnd;
        int v = headStart + valueStart;
        int vEnd = headStart + at;
        while (v < vEnd && (b.get(v) == ' ' || b.get(v) == '\t')) {
            v++;
        }
        while (vEnd > v && (b.get(vEnd - 1) == ' ' || b.get(vEnd - 1) == '\t')) {
            vEnd--;
        }
        if (equalsIgnoringCase(b, name, nameLimit, CONTENT_LENGTH)) {
            if (contentLength >= 0) {
                return refuse(400, "more than one Content-Length") == 0;
            }
            if (vEnd - v < 1 || vEnd - v > 18) {
                return refuse(400, "invalid Content-Length") == 0;
            }
            long n = 0;
            for (int i = v; i < vEnd; i++) {
                byte c = b.get(i);
                if (!digit(c)) {
                    return refuse(400, "invalid Content-Length") == 0;
                }
                n = n * 10 + (c - '0');
            }
            contentLength = n;
        } else if (equalsIgnoringCase(b, name, nameLimit, TRANSFER_ENCODING)) {
            if (++transferEncodings > 1 || !equalsIgnoringCase(b, v, vEnd, CHUNKED)) {
                return refuse(400, "unsupported Transfer-Encoding (only a single 'chunked' is accepted)") == 0;
            }
            chunked = true;
        } else if (equalsIgnoringCase(b, name, nameLimit, HOST)) {
            hosts++;
        } else if (equalsIgnoringCase(b, name, nameLimit, UPGRADE)) {
            upgrade = true;
        }
        return true;
    }

    private int end() {
        if (chunked && contentLength >= 0) {
            return refuse(400, "both Content-Length and Transfer-Encoding");
        }
        if (chunked && http10) {
            return refuse(400, "Transfer-Encoding in an HTTP/1.0 request");
        }
        if (hosts > 1) {
            return refuse(400, "more than one Host header");
        }
        if (hosts == 0 && !http10) {
            return refuse(400, "no Host header in an HTTP/1.1 request");
        }
        return consumed;
    }

    private int refuse(int status, String problem) {
        this.status = status;
        this.problem = problem;
        return REFUSED;
    }

    private static boolean digit(byte c) {
        return c >= '0' && c <= '9';
    }

    private static boolean equalsIgnoringCase(ByteBuffer b, int from, int to, byte[] lower) {
        if (to - from != lower.length) {
            return false;
        }
        for (int i = 0; i < lower.length; i++) {
            int c = b.get(from + i);
            if (c >= 'A' && c <= 'Z') {
                c += 'a' - 'A';
            }
            if (c != (lower[i] >= 'A' && lower[i] <= 'Z' ? lower[i] + ('a' - 'A') : lower[i])) {
                return false;
            }
        }
        return true;
    }

    private static byte[] bytes(String s) {
        return s.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    }
}
