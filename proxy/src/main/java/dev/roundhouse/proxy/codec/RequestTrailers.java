package dev.roundhouse.proxy.codec;

import io.undertow.util.HeaderMap;
import io.undertow.util.HeaderValues;
import io.undertow.util.HttpString;
import java.util.Locale;
import java.util.Set;

/**
 * What of a client's request trailers goes on to an HTTP/2 backend (an HTTP/1.1 backend gets none, as from nginx):
 * not the fields whose meaning must be known before the content (RFC 9110 section 6.5.1) — framing, routing,
 * authentication, request modifiers, the content's format — nor hop-by-hop fields or those this hop sets. A backend
 * that merged trailers into the head would otherwise act on them as if the client had sent them there.
 */
public final class RequestTrailers {

    private static final Set<String> BELONG_IN_THE_HEAD = Set.of(
            // framing and hop-by-hop
            "content-length",
            "transfer-encoding",
            "trailer",
            "te",
            "connection",
            "keep-alive",
            "proxy-connection",
            "upgrade",
            // routing
            "host",
            "max-forwards",
            // authentication and state
            "authorization",
            "proxy-authorization",
            "cookie",
            // request modifiers: controls, conditionals, range
            "cache-control",
            "expect",
            "pragma",
            "range",
            "if-match",
            "if-none-match",
            "if-modified-since",
            "if-unmodified-since",
            "if-range",
            // the content's format
            "content-type",
            "content-encoding",
            "content-range",
            "content-language",
            "content-location",
            // what this hop sets
            "x-forwarded-for",
            "x-forwarded-host",
            "x-forwarded-port",
            "x-forwarded-proto",
            "x-forwarded-server",
            "forwarded",
            "via");

    private RequestTrailers() {}

    /** Whether a trailer field named {@code name} goes on to the backend. */
    public static boolean forwardable(HttpString name) {
        return !BELONG_IN_THE_HEAD.contains(name.toString().toLowerCase(Locale.ROOT));
    }

    /** The forwardable fields of {@code trailers}; null when none is left. */
    public static HeaderMap forwardable(HeaderMap trailers) {
        HeaderMap kept = null;
        for (HeaderValues values : trailers) {
            if (forwardable(values.getHeaderName())) {
                if (kept == null) {
                    kept = new HeaderMap();
                }
                kept.addAll(values.getHeaderName(), values);
            }
        }
        return kept;
    }
}
