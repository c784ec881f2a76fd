package dev.roundhouse.proxy.codec;

import java.nio.ByteBuffer;

/**
 * Checks a client's request head (RFC 9112 sections 2 to 6) on its bytes, before Undertow parses it, so that what
 * the proxy forwards can only be read one way. Refused, with the status a client should see:
 * <ul>
 *   <li>400: a request line that is not exactly {@code method SP target SP HTTP/1.x CRLF}; a method longer than
 *       {@link HttpLimits#MAX_METHOD_BYTES}; a target with bytes outside visible ASCII or that no part of a URI may
 *       hold ({@code " # < > \ ^ ` { | }}), a percent sign not followed by two hex digits, a form its method may not
 *       use (RFC 9112 section 3.2: {@code *} for OPTIONS alone, {@code host:port} for CONNECT alone), an
 *       absolute-form target with no host, an empty port or userinfo (RFC 9110 section 4.2.4), all of which
 *       Undertow's parser refuses too (RequestFramingDifferentialTest holds the two together); a line ended by a
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
    /**
     * Bytes of a request target: visible ASCII but for those RFC 3986 does not allow in any part of one (and the
     * fragment's {@code #}, which is never sent), as Undertow's parser refuses them too.
     */
    private static final boolean[] TARGET_CHAR = new boolean[256];
    /**
     * Bytes of a host name in a target: RFC 3986 reg-name's unreserved and sub-delims, without its percent-encoding,
     * which Undertow's parser refuses there.
     */
    private static final boolean[] REG_NAME_CHAR = new boolean[256];

    static {
        for (char c : "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ".toCharArray()) {
            TCHAR[c] = true;
        }
        for (int c = 0x21; c < 0x7f; c++) {
            TARGET_CHAR[c] = "\"#<>\\^`{|}".indexOf(c) < 0;
            REG_NAME_CHAR[c] = Character.isLetterOrDigit(c) || "-._~!$&'()*+,;=".indexOf(c) >= 0;
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
    private static final byte[] OPTIONS = bytes("OPTIONS");

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

    /** Whether {@code c} may stand in a request target as this scanner reads one. */
    public static boolean isTargetByte(int c) {
        return TARGET_CHAR[c & 0xff];
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
                    } else if (at >= HttpLimits.MAX_METHOD_BYTES) {
                        return refuse(400, "a request method longer than " + HttpLimits.MAX_METHOD_BYTES + " bytes");
                    }
                }
                case TARGET -> {
                    if (c == ' ' && at > targetStart) {
                        versionStart = at + 1;
                        state = VERSION;
                    } else if (!TARGET_CHAR[c]) {
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

    /**
     * The request line is complete: the target's form, which depends on the method (RFC 9112 section 3.2):
     * origin-form ({@code /path?query}) for any method, authority-form ({@code host:port}) for CONNECT only,
     * asterisk-form ({@code *}) for OPTIONS only, absolute-form ({@code scheme://host[:port]/path?query}, no userinfo)
     * for any but CONNECT; percent signs start two hex digits.
     */
    private boolean requestLine(ByteBuffer b, int headStart) {
        connect = isMethod(b, headStart, CONNECT); // methods are case-sensitive: only "CONNECT" asks for a tunnel
        int t = headStart + targetStart;
        int tEnd = headStart + versionStart - 1;
        if (!escapesValid(b, t, tEnd)) {
            refuse(400, "malformed percent-encoding in the request target");
            return false;
        }
        byte first = b.get(t);
        if (first == '/') {
            return true;
        }
        if (first == '*') {
            if (tEnd - t != 1 || !isMethod(b, headStart, OPTIONS)) {
                refuse(400, "the request target '*' is for OPTIONS alone");
                return false;
            }
            return true;
        }
        if (connect) {
            if (authority(b, t, tEnd, true) != tEnd) {
                refuse(400, "a CONNECT request's target must be host:port");
                return false;
            }
            return true;
        }
        // absolute-form: scheme "://" authority [ path-abempty ] [ "?" query ]
        int i = t;
        if (!isAlpha(b.get(i))) {
            refuse(400, "malformed request target");
            return false;
        }
        while (i < tEnd && (isAlpha(b.get(i)) || digit(b.get(i)) || "+-.".indexOf(b.get(i)) >= 0)) {
            i++;
        }
        if (i + 2 >= tEnd || b.get(i) != ':' || b.get(i + 1) != '/' || b.get(i + 2) != '/') {
            refuse(400, "malformed request target");
            return false;
        }
        for (int j = i + 3; j < tEnd; j++) {
            byte c = b.get(j);
            if (c == '/' || c == '?') {
                break;
            }
            if (c == '@') {
                refuse(400, "userinfo in the request target");
                return false;
            }
        }
        int authorityEnd = authority(b, i + 3, tEnd, false);
        if (authorityEnd < 0 || (authorityEnd < tEnd && b.get(authorityEnd) != '/' && b.get(authorityEnd) != '?')) {
            refuse(400, "malformed host in the request target");
            return false;
        }
        return true;
    }

    /**
     * Reads {@code host [":" port]} from {@code from}: a bracketed IP literal or a non-empty reg-name, then, when a
     * colon follows (or always, with {@code portRequired}), one or more digits.
     *
     * @return where the authority ends, or -1 when it is malformed
     */
    private static int authority(ByteBuffer b, int from, int to, boolean portRequired) {
        int i = from;
        if (i < to && b.get(i) == '[') {
            int literal = ++i;
            while (i < to && (isHexDigit(b.get(i)) || b.get(i) == ':' || b.get(i) == '.')) {
                i++;
            }
            if (i == literal || i == to || b.get(i) != ']') {
                return -1;
            }
            i++;
        } else {
            while (i < to && REG_NAME_CHAR[b.get(i) & 0xff]) {
                i++;
            }
        }
        if (i == from) {
            return -1;
        }
        if (i < to && b.get(i) == ':') {
            int port = ++i;
            while (i < to && digit(b.get(i))) {
                i++;
            }
            return i == port ? -1 : i;
        }
        return portRequired ? -1 : i;
    }

    /** Every percent sign in {@code [from, to)} starts two hex digits. */
    private static boolean escapesValid(ByteBuffer b, int from, int to) {
        for (int i = from; i < to; i++) {
            if (b.get(i) == '%') {
                if (i + 2 >= to || !isHexDigit(b.get(i + 1)) || !isHexDigit(b.get(i + 2))) {
                    return false;
                }
                i += 2;
            }
        }
        return true;
    }

    private boolean isMethod(ByteBuffer b, int headStart, byte[] method) {
        if (targetStart - 1 != method.length) {
            return false;
        }
        for (int i = 0; i < method.length; i++) {
            if (b.get(headStart + i) != method[i]) {
                return false;
            }
        }
        return true;
    }

    private static boolean isAlpha(byte c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    }

    private static boolean isHexDigit(byte c) {
        return digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
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
