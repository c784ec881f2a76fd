package dev.roundhouse.proxy.codec;

import io.undertow.util.HeaderMap;
import io.undertow.util.HeaderValues;
import io.undertow.util.Headers;
import io.undertow.util.HttpString;
import java.util.List;

/**
 * Hop-by-hop headers (RFC 9110 section 7.6.1) describe one connection, not the message, so a proxy
 * must not forward them: the fixed set below plus any header the Connection header names.
 * Transfer-Encoding is left to Undertow, which re-frames bodies itself.
 */
public final class HopByHop {

    private static final List<HttpString> FIXED = List.of(
            Headers.CONNECTION,
            Headers.KEEP_ALIVE,
            new HttpString("Proxy-Connection"),
            Headers.TE,
            Headers.TRAILER,
            Headers.PROXY_AUTHORIZATION,
            Headers.UPGRADE);

    /**
     * Fields a Connection header may not remove, though it names them: they say where the request goes, how its
     * body is framed, or who sent it through a front proxy, and a client could otherwise strip what that proxy
     * added (Envoy and HAProxy refuse such nominations too).
     */
    private static final List<HttpString> PROTECTED = List.of(
            Headers.HOST,
            Headers.CONTENT_LENGTH,
            Headers.TRANSFER_ENCODING,
            Headers.AUTHORIZATION,
            Headers.COOKIE,
            Headers.X_FORWARDED_FOR,
            new HttpString("Forwarded"));

    private HopByHop() {}

    /** True when a Connection header naming {@code name} removes it. */
    public static boolean nominatable(HttpString name) {
        for (int i = 0; i < PROTECTED.size(); i++) {
            if (same(PROTECTED.get(i), name)) {
                return false;
            }
        }
        return true;
    }

    /**
     * Removes hop-by-hop headers. With {@code keepUpgrade} a protocol upgrade (WebSocket) survives:
     * Upgrade stays and Connection is reduced to "upgrade".
     */
    static void strip(HeaderMap headers, boolean keepUpgrade) {
        HeaderValues connection = headers.get(Headers.CONNECTION);
        if (connection != null) {
            for (String value : connection) {
                for (String token : value.split(",")) {
                    String name = token.trim();
                    if (!name.isEmpty()
                            && !(keepUpgrade && name.equalsIgnoreCase("upgrade"))
                            && nominatable(new HttpString(name))) {
                        headers.remove(name);
                    }
                }
            }
        }
        String upgrade = keepUpgrade ? headers.getFirst(Headers.UPGRADE) : null;
        for (HttpString name : FIXED) {
            headers.remove(name);
        }
        if (upgrade != null) {
            headers.put(Headers.UPGRADE, upgrade);
            headers.put(Headers.CONNECTION, "upgrade");
        }
    }

    /**
     * Case-insensitive name equality, cheap when it fails: {@link HttpString#equals} compares the bytes even
     * when the (cached, case-insensitive) hash codes already differ.
     */
    public static boolean same(HttpString a, HttpString b) {
        return a.hashCode() == b.hashCode() && a.equals(b);
    }

    /** True for the fixed hop-by-hop fields (not those a Connection header names). */
    public static boolean isFixed(HttpString name) {
        for (int i = 0; i < FIXED.size(); i++) {
            if (same(FIXED.get(i), name)) {
                return true;
            }
        }
        return false;
    }

    /**
     * True when one of the {@code connection} field values lists {@code name}. Read in place, without splitting or
     * substrings: it runs for every field of a request that carries Connection (many clients send keep-alive).
     */
    public static boolean namedBy(HeaderValues connection, HttpString name) {
        for (int i = 0; i < connection.size(); i++) {
            String value = connection.get(i);
            int start = 0;
            while (start <= value.length()) {
                int comma = value.indexOf(',', start);
                int end = comma < 0 ? value.length() : comma;
                int from = start;
                int to = end;
                while (from < to && value.charAt(from) <= ' ') { // as String.trim
                    from++;
                }
                while (to > from && value.charAt(to - 1) <= ' ') {
                    to--;
                }
                if (to > from && equalsIgnoringCase(name, value, from, to)) {
                    return true;
                }
                start = end + 1;
            }
        }
        return false;
    }

    /** {@link HttpString#equalToString} on {@code value[from, to)}: same length, same bytes but for ASCII case. */
    private static boolean equalsIgnoringCase(HttpString name, String value, int from, int to) {
        if (to - from != name.length()) {
            return false;
        }
        for (int i = 0; i < name.length(); i++) {
            if (upper(name.byteAt(i)) != upper((byte) value.charAt(from + i))) {
                return false;
            }
        }
        return true;
    }

    private static int upper(byte b) {
        return b >= 'a' && b <= 'z' ? b & 0xDF : b & 0xFF;
    }

    /**
     * True when the request's TE field accepts trailers ({@code TE: trailers}, as gRPC clients send it): the one TE
     * value an HTTP/2 hop may carry on, and the only one this proxy forwards (to HTTP/2 backends).
     */
    public static boolean asksForTrailers(HeaderMap headers) {
        HeaderValues te = headers.get(Headers.TE);
        if (te == null) {
            return false;
        }
        for (String value : te) {
            for (String token : value.split(",")) {
                int semicolon = token.indexOf(';');
                String coding = (semicolon < 0 ? token : token.substring(0, semicolon)).trim();
                if (coding.equalsIgnoreCase("trailers")) {
                    return true;
                }
            }
        }
        return false;
    }

    /** True when the request asks for a protocol upgrade through Connection: upgrade. */
    public static boolean isUpgrade(HeaderMap headers) {
        if (!headers.contains(Headers.UPGRADE)) {
            return false;
        }
        HeaderValues connection = headers.get(Headers.CONNECTION);
        if (connection == null) {
            return false;
        }
        for (String value : connection) {
            for (String token : value.split(",")) {
                if (token.trim().equalsIgnoreCase("upgrade")) {
                    return true;
                }
            }
        }
        return false;
    }
}
