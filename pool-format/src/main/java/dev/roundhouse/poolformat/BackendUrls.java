package dev.roundhouse.poolformat;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.Locale;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Backend URLs are origins only: {@code http(s)://host[:port]}. The proxy forwards the client's path,
 * so a path, query or credentials here would be silently ignored; rejecting them catches the mistake.
 */
public final class BackendUrls {

    /**
     * URLs already validated, with their normalised form. A reload meets mostly URLs it has seen, each several
     * times (rules, normalising, the pool), and {@link URI} parsing is most of a reload's work while that code
     * still runs interpreted. Bounded: cleared when full. Only valid URLs are kept.
     */
    private static final int KNOWN_LIMIT = 4096;

    private static final ConcurrentHashMap<String, URI> KNOWN = new ConcurrentHashMap<>();

    private BackendUrls() {}

    /**
     * Validates and normalises a backend URL to {@code scheme://host:port}: lower-case scheme and host,
     * explicit port (80/443 by default), no trailing slash. Throws {@link IllegalArgumentException} with the reason.
     */
    public static URI parse(String url) {
        URI known = url == null ? null : KNOWN.get(url);
        if (known != null) {
            return known;
        }
        URI normalised = validate(url);
        if (KNOWN.size() >= KNOWN_LIMIT) {
            KNOWN.clear();
        }
        KNOWN.put(url, normalised);
        KNOWN.put(normalised.toString(), normalised); // the normalised form comes back too, e.g. from the pool
        return normalised;
    }

    private static URI validate(String url) {
        if (url == null || url.isBlank()) {
            throw new IllegalArgumentException("url is empty");
        }
        URI uri;
        try {
            uri = new URI(url);
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException("not a valid URL: " + e.getMessage());
        }
        if (uri.getScheme() == null || uri.isOpaque()) {
            throw new IllegalArgumentException("must be an absolute URL like http://host:port, got '" + url + "'");
        }
        String scheme = uri.getScheme().toLowerCase(Locale.ROOT);
        if (!scheme.equals("http") && !scheme.equals("https")) {
            throw new IllegalArgumentException("scheme must be http or https, got '" + uri.getScheme() + "'");
        }
        if (uri.getRawUserInfo() != null) {
            throw new IllegalArgumentException("user info is not allowed");
        }
        String authority = uri.getRawAuthority();
        if (authority == null || authority.isEmpty() || authority.startsWith(":")) {
            throw new IllegalArgumentException("host is required");
        }
        // java.net.URI leaves host null when the authority is not host[:port] (bad characters, bad port).
        if (uri.getHost() == null) {
            throw new IllegalArgumentException(
                    "'" + authority + "' is not host[:port] with an IPv4 address, [IPv6] address or DNS name");
        }
        String host = uri.getHost().toLowerCase(Locale.ROOT);
        if (digitsAndDots(host) && !isIPv4(host)) {
            throw new IllegalArgumentException("host '" + host + "' is not a valid IPv4 address");
        }
        int port = uri.getPort() == -1 ? (scheme.equals("http") ? 80 : 443) : uri.getPort();
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("port must be between 1 and 65535, got " + port);
        }
        if (uri.getRawPath() != null
                && !uri.getRawPath().isEmpty()
                && !uri.getRawPath().equals("/")) {
            throw new IllegalArgumentException(
                    "path is not allowed (the client's path is forwarded), got '" + uri.getRawPath() + "'");
        }
        if (uri.getRawQuery() != null) {
            throw new IllegalArgumentException("query is not allowed");
        }
        if (uri.getRawFragment() != null) {
            throw new IllegalArgumentException("fragment is not allowed");
        }
        return URI.create(scheme + "://" + host + ":" + port);
    }

    /** The normalised form as a string; two backends with the same key are the same backend. */
    public static String key(String url) {
        return parse(url).toString();
    }

    // java.net.URI takes "123" or "01.2.3.4" for DNS names; an all-numeric host is meant as an address.
    // Checked by hand, not with String.matches: a reload parses every URL several times, and a regular
    // expression compiled per call cost most of a reload's CPU while that code still runs interpreted.
    private static boolean digitsAndDots(String host) {
        for (int i = 0; i < host.length(); i++) {
            char c = host.charAt(i);
            if (c != '.' && (c < '0' || c > '9')) {
                return false;
            }
        }
        return !host.isEmpty();
    }

    /** Four dot-separated decimal octets, each 0-255 without leading zeros (some resolvers read those as octal). */
    private static boolean isIPv4(String host) {
        int octets = 0;
        int start = 0;
        for (int i = 0; i <= host.length(); i++) {
            if (i < host.length() && host.charAt(i) != '.') {
                continue;
            }
            int length = i - start;
            if (length < 1
                    || length > 3
                    || (length > 1 && host.charAt(start) == '0')
                    || Integer.parseInt(host, start, i, 10) > 255) {
                return false;
            }
            octets++;
            start = i + 1;
        }
        return octets == 4;
    }
}
