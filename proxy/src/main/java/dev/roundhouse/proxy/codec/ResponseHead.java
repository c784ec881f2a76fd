package dev.roundhouse.proxy.codec;

import io.undertow.util.HeaderMap;
import io.undertow.util.Headers;
import io.undertow.util.HttpString;
import java.nio.charset.StandardCharsets;

/**
 * Parses a backend's HTTP/1.1 response head (status line and header fields, RFC 9112 sections 4
 * and 5) straight from bytes into the client exchange's response headers, without Undertow's
 * client-side maps in between. Strict where a lenient reading could let the client and this proxy
 * disagree on where the response ends: one Content-Length (or several equal ones), only
 * "chunked" as a transfer coding, never both; no obs-fold; no control bytes; a status from 100 to 599; at most
 * {@link HttpLimits#MAX_HEADERS} fields (the head's size is bounded by the relay buffer). Hop-by-hop fields and
 * the framing headers are not copied: Undertow frames the response to the client itself.
 */
public final class ResponseHead {

    /** How the body is delimited. */
    public enum Framing {
        NONE,
        LENGTH,
        CHUNKED,
        UNTIL_CLOSE
    }

    private static final HttpString[] NAMES = new HttpString[512];
    private static final boolean[] TCHAR = new boolean[128];

    static {
        for (char c : "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ".toCharArray()) {
            TCHAR[c] = true;
        }
    }

    static {
        // Undertow's own constants first, so the common names compare by identity further on.
        for (HttpString known : new HttpString[] {
            Headers.CONTENT_LENGTH,
            Headers.CONTENT_TYPE,
            Headers.DATE,
            Headers.SERVER,
            Headers.CONNECTION,
            Headers.TRANSFER_ENCODING,
            Headers.KEEP_ALIVE,
            Headers.CACHE_CONTROL,
            Headers.ETAG,
            Headers.LAST_MODIFIED,
            Headers.LOCATION,
            Headers.SET_COOKIE,
            Headers.VARY,
            Headers.CONTENT_ENCODING,
            Headers.EXPIRES,
            Headers.ACCEPT_RANGES,
            Headers.AGE
        }) {
            byte[] bytes = new byte[known.length()];
            known.copyTo(bytes, 0);
            int hash = 0;
            for (byte c : bytes) {
                hash = 31 * hash + lower(c);
            }
            NAMES[spread(hash)] = known;
        }
    }

    public int status;
    boolean http11;
    /** The backend asked to close the connection, or spoke HTTP/1.0. */
    public boolean close;

    public long contentLength;
    boolean chunked;
    /** The Upgrade field's value (a 101's protocol), or null; it is hop-by-hop, so not in the copied headers. */
    public String upgrade;
    /** Why the head was refused, or null. */
    public String problem;

    /**
     * Finds the end of a head: the index just past its blank line, or -1 while it is incomplete.
     * Bare LF line ends are accepted, as nginx does with its upstreams.
     */
    public static int end(byte[] b, int from, int to) {
        for (int i = Math.max(from, 1); i < to; i++) {
            if (b[i] == '\n') {
                byte before = b[i - 1];
                if (before == '\n' || (before == '\r' && i >= 2 && b[i - 2] == '\n')) {
                    return i + 1;
                }
            }
        }
        return -1;
    }

    /**
     * Reads the head in {@code b[0, len)} (which {@link #end} found complete) into {@code out}.
     *
     * @return false with {@link #problem} set when the head is malformed
     */
    public boolean parse(byte[] b, int len, HeaderMap out) {
        status = 0;
        close = false;
        contentLength = -1;
        chunked = false;
        upgrade = null;
        problem = null;
        int lineEnd = lineEnd(b, 0, len);
        int eol = trimCr(b, 0, lineEnd);
        // status-line = HTTP-version SP status-code SP [ reason-phrase ]
        if (eol < 12
                || b[0] != 'H'
                || b[1] != 'T'
                || b[2] != 'T'
                || b[3] != 'P'
                || b[4] != '/'
                || b[5] != '1'
                || b[6] != '.'
                || (b[7] != '1' && b[7] != '0')
                || b[8] != ' '
                || !digit(b[9])
                || !digit(b[10])
                || !digit(b[11])
                || (eol > 12 && b[12] != ' ')) {
            return fail("malformed status line");
        }
        http11 = b[7] == '1';
        close = !http11; // HTTP/1.0 connections are not reused, whatever Keep-Alive they offer
        status = (b[9] - '0') * 100 + (b[10] - '0') * 10 + (b[11] - '0');
        if (status < 100 || status > 599) {
            return fail("malformed status line: status code " + status + " outside 100-599");
        }
        for (int i = 13; i < eol; i++) {
            int c = b[i] & 0xff;
            if ((c < 0x20 && c != '\t') || c == 0x7f) {
                return fail("a control character in the reason phrase");
            }
        }
        // Each field line in one pass: name bytes checked and hashed, then value bytes checked up to the line end.
        // The head ends with a line feed (see end), so every scan below stops inside it.
        int pos = lineEnd + 1;
        String named = null;
        int fields = 0;
        String lengthText = null;
        while (pos < len) {
            byte first = b[pos];
            if (first == '\n' || (first == '\r' && b[pos + 1] == '\n')) {
                break; // the blank line
            }
            if (first == ' ' || first == '\t') {
                return fail("obsolete line folding in a header");
            }
            if (++fields > HttpLimits.MAX_HEADERS) {
                return fail("more than " + HttpLimits.MAX_HEADERS + " header fields");
            }
            int hash = 0;
            int colon = pos;
            byte c;
            while ((c = b[colon]) != ':') {
                if (c < 0 || !TCHAR[c]) {
                    return fail(c == '\n' || c == '\r' ? "invalid header line" : "invalid header name");
                }
                hash = 31 * hash + lower(c);
                colon++;
            }
            if (colon == pos) {
                return fail("invalid header line");
            }
            int vs = colon + 1;
            while (b[vs] == ' ' || b[vs] == '\t') {
                vs++;
            }
            int lf = vs;
            int v;
            while ((v = b[lf] & 0xff) != '\n') {
                if ((v < 0x20 && v != '\t' && (v != '\r' || b[lf + 1] != '\n')) || v == 0x7f) {
                    return fail("invalid byte in a header value");
                }
                lf++;
            }
            int ve = lf;
            while (ve > vs && (b[ve - 1] == '\r' || b[ve - 1] == ' ' || b[ve - 1] == '\t')) {
                ve--;
            }
            HttpString name = name(b, pos, colon - pos, hash);
            String value = new String(b, vs, ve - vs, StandardCharsets.ISO_8859_1); // as Undertow reads header bytes
            if (HopByHop.same(name, Headers.CONTENT_LENGTH)) {
                // A list of equal values is the same as that many equal fields (RFC 9110 section 8.6): one length.
                boolean list = value.indexOf(',') >= 0;
                for (String member : list ? value.split(",", -1) : new String[] {value}) {
                    long length = ContentLength.parse(member.trim());
                    if (length < 0 || (contentLength >= 0 && length != contentLength)) {
                        return fail("invalid or conflicting Content-Length");
                    }
                    contentLength = length;
                }
                lengthText = list ? Long.toString(contentLength) : value;
            } else if (HopByHop.same(name, Headers.TRANSFER_ENCODING)) {
                if (chunked || !value.equalsIgnoreCase("chunked")) {
                    return fail("unsupported Transfer-Encoding (only a single 'chunked' is accepted)");
                }
                chunked = true;
            } else if (HopByHop.same(name, Headers.CONNECTION)) {
                if (!connectionOption(value)) {
                    named = named == null ? value : named + "," + value; // fields it names go once all are read
                }
            } else if (HopByHop.same(name, Headers.UPGRADE)) {
                upgrade = value;
            } else if (!HopByHop.isFixed(name)) {
                out.add(name, value);
            }
            pos = lf + 1;
        }
        if (chunked && contentLength >= 0) {
            return fail("both Content-Length and Transfer-Encoding");
        }
        if (named != null) {
            for (String token : named.split(",")) {
                String field = token.trim();
                if (field.equalsIgnoreCase("close")) {
                    close = true;
                } else if (!field.isEmpty() && !field.equalsIgnoreCase("keep-alive")) {
                    out.remove(field);
                }
            }
        }
        if (contentLength >= 0) {
            // the canonical form only ("007" would read differently elsewhere)
            out.put(
                    Headers.CONTENT_LENGTH,
                    lengthText.length() > 1 && lengthText.charAt(0) == '0' ? Long.toString(contentLength) : lengthText);
        }
        return true;
    }

    /** How the body of this response to a request of the given kind is delimited (RFC 9112 section 6.3). */
    public Framing framing(boolean headRequest) {
        if (headRequest || status < 200 || status == 204 || status == 304) {
            return Framing.NONE;
        }
        if (chunked) {
            return Framing.CHUNKED;
        }
        if (contentLength >= 0) {
            return contentLength == 0 ? Framing.NONE : Framing.LENGTH;
        }
        return Framing.UNTIL_CLOSE;
    }

    /** Reads the common single-option Connection values at once: true when {@code value} was one of them. */
    private boolean connectionOption(String value) {
        if (value.equalsIgnoreCase("keep-alive")) {
            return true;
        }
        if (value.equalsIgnoreCase("close")) {
            close = true;
            return true;
        }
        return false;
    }

    private boolean fail(String why) {
        problem = why;
        return false;
    }

    private static int lineEnd(byte[] b, int from, int len) {
        for (int i = from; i < len; i++) {
            if (b[i] == '\n') {
                return i;
            }
        }
        return len;
    }

    private static int trimCr(byte[] b, int from, int lineEnd) {
        return lineEnd > from && b[lineEnd - 1] == '\r' ? lineEnd - 1 : lineEnd;
    }

    private static boolean digit(byte c) {
        return c >= '0' && c <= '9';
    }

    /**
     * The header name as an {@link HttpString}, from a small shared cache so that the names every response
     * repeats are not allocated again. Entries are immutable, so a racing replacement is harmless.
     */
    private static HttpString name(byte[] b, int off, int len, int hash) {
        int slot = spread(hash);
        HttpString cached = NAMES[slot];
        if (cached != null && sameIgnoringCase(cached, b, off, len)) {
            return cached;
        }
        HttpString name = new HttpString(b, off, len);
        NAMES[slot] = name;
        return name;
    }

    private static int spread(int h) {
        return (h ^ (h >>> 16)) & (NAMES.length - 1);
    }

    private static int lower(byte c) {
        return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
    }

    private static boolean sameIgnoringCase(HttpString name, byte[] b, int off, int len) {
        if (name.length() != len) {
            return false;
        }
        for (int i = 0; i < len; i++) {
            if (lower(name.byteAt(i)) != lower(b[off + i])) {
                return false;
            }
        }
        return true;
    }
}
