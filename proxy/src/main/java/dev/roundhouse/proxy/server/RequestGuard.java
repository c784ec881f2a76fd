package dev.roundhouse.proxy.server;

import dev.roundhouse.proxy.codec.ContentLength;
import dev.roundhouse.proxy.codec.HopByHop;
import dev.roundhouse.proxy.codec.RequestHeadScanner;
import dev.roundhouse.proxy.codec.Responses;
import dev.roundhouse.proxy.metrics.MetricNames;
import dev.roundhouse.proxy.metrics.ProxyMetrics;
import io.undertow.server.ConduitWrapper;
import io.undertow.server.ExchangeCompletionListener;
import io.undertow.server.HttpHandler;
import io.undertow.server.HttpServerExchange;
import io.undertow.server.RequestTooBigException;
import io.undertow.util.ConduitFactory;
import io.undertow.util.HeaderMap;
import io.undertow.util.HeaderValues;
import io.undertow.util.Headers;
import io.undertow.util.Methods;
import io.undertow.util.Protocols;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Objects;
import org.xnio.conduits.StreamSourceConduit;

/**
 * Refuses requests the proxy must not forward, and readies the body of those it does. Heads the
 * {@link RequestHeadGate} refused on their bytes (malformed, ambiguous framing, over the limits) arrive here as
 * stand-ins and are answered with the refusal's status. Besides:
 * <ul>
 *   <li>CONNECT gets 405: it asks for a tunnel, which is a forward proxy's job.</li>
 *   <li>An expectation other than {@code 100-continue} gets 417 (RFC 9110 section 10.1.1).</li>
 *   <li>A Content-Length over {@code MAX_REQUEST_BODY} gets 413 at once, before anything is forwarded (also with
 *       {@code Expect: 100-continue}, so no 100 is sent); a chunked body that grows past it fails the read there
 *       with {@link RequestTooBigException}.</li>
 *   <li>A chunked body is read strictly ({@link ChunkedBodyConduit}) and its connection is closed after the
 *       response: bytes after it are never read as a request.</li>
 *   <li>Framing headers are forwarded in canonical form; an absolute-form target in origin form.</li>
 * </ul>
 * Every refusal closes the connection and is counted in {@code roundhouse_requests_total} with
 * {@code backend="none"}.
 */
public final class RequestGuard implements HttpHandler {

    /** The Allow header of the 405 answer to CONNECT: the methods a reverse proxy forwards. */
    private static final String ALLOWED_METHODS = "GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS, TRACE";

    private final HttpHandler next;
    private final long maxBodyBytes;
    private final ProxyMetrics metrics;
    private final ConduitWrapper<StreamSourceConduit> bodyLimit;

    /**
     * @param maxBodyBytes the largest request body forwarded, in bytes; 0 for no limit
     * @param metrics where refusals are counted
     */
    public RequestGuard(HttpHandler next, long maxBodyBytes, ProxyMetrics metrics) {
        if (maxBodyBytes < 0) {
            throw new IllegalArgumentException("maxBodyBytes must be 0 (no limit) or more: " + maxBodyBytes);
        }
        this.next = next;
        this.maxBodyBytes = maxBodyBytes;
        this.metrics = Objects.requireNonNull(metrics, "metrics");
        this.bodyLimit = (ConduitFactory<StreamSourceConduit> factory, HttpServerExchange exchange) ->
                new BodyLimitConduit(factory.create(), maxBodyBytes);
    }

    @Override
    public void handleRequest(HttpServerExchange exchange) throws Exception {
        RequestHeadGate.Refusal refusal = RequestHeadGate.refusalFor(exchange);
        if (refusal != null) {
            refuse(exchange, refusal.status(), reasonFor(refusal.status()) + ": " + refusal.reason(), refusal.method());
            return;
        }
        if (exchange.getProtocol().equals(Protocols.HTTP_2_0)) {
            String malformed = malformedHttp2(exchange);
            if (malformed != null) {
                refuse(exchange, 400, "bad request: " + malformed, null);
                return;
            }
        }
        if (exchange.getRequestMethod().equals(Methods.CONNECT)) {
            // A tunnel request is for forward proxies; forwarded, a backend answering 2xx would turn
            // the client connection into a raw tunnel to it.
            exchange.getResponseHeaders().put(Headers.ALLOW, ALLOWED_METHODS);
            refuse(exchange, 405, "method not allowed: CONNECT is not supported by this reverse proxy", null);
            return;
        }
        HeaderValues expect = exchange.getRequestHeaders().get(Headers.EXPECT);
        if (expect != null && !(expect.size() == 1 && expect.getFirst().trim().equalsIgnoreCase("100-continue"))) {
            refuse(exchange, 417, "expectation failed: only 'Expect: 100-continue' is supported", null);
            return;
        }
        normaliseFraming(exchange);
        if (exchange.isHostIncludedInRequestURI()) {
            // Absolute form ("GET http://host/path"): the backend gets the origin form, so a target can never
            // name a host outside the pool.
            exchange.setRequestURI(originForm(exchange.getRequestURI()), false);
        }
        long length = exchange.getRequestContentLength(); // -1 when absent
        boolean chunked = exchange.getRequestHeaders().contains(Headers.TRANSFER_ENCODING);
        if (maxBodyBytes > 0 && length > maxBodyBytes) {
            refuse(
                    exchange,
                    413,
                    "payload too large: the body of " + length + " bytes is over this proxy's limit of " + maxBodyBytes
                            + " bytes",
                    null);
            return;
        }
        if (chunked) {
            ChunkedBodyConduit.install(exchange);
            // What follows a chunked body on the connection is not checked as a request (RequestHeadGate).
            exchange.setPersistent(false);
        }
        if (maxBodyBytes > 0 && (chunked || length > 0)) {
            exchange.addRequestWrapper(bodyLimit);
        }
        if (length > 0 && exchange.getProtocol().equals(Protocols.HTTP_2_0)) {
            exchange.addRequestWrapper((ConduitFactory<StreamSourceConduit> factory, HttpServerExchange ex) ->
                    new DeclaredLengthConduit(factory.create(), length));
        }
        next.handleRequest(exchange);
    }

    /**
     * What makes an HTTP/2 request malformed on its way to an HTTP/1.1 backend, where its fields become lines of text
     * (RFC 9113 sections 8.2.1, 8.2.2, 8.3.1): a field name that is not token characters, a value with CR, LF or
     * NUL, Transfer-Encoding or a TE other than "trailers", a content-length that is not digits, userinfo in the
     * authority, a path or method
     * that would not stay one part of a request line. Null when there is nothing. The HTTP/1.1 path's
     * heads were scanned byte by byte already ({@link RequestHeadGate}).
     */
    static String malformedHttp2(HttpServerExchange exchange) {
        String method = exchange.getRequestMethod().toString();
        for (int i = 0; i < method.length(); i++) {
            if (!RequestHeadScanner.isTchar(method.charAt(i)) || method.charAt(i) > 0x7e) {
                return "a method HTTP/2 does not allow";
            }
        }
        if (!targetBytes(exchange.getRequestURI()) || !targetBytes(exchange.getQueryString())) {
            return "a path with bytes a request target cannot carry";
        }
        HeaderMap headers = exchange.getRequestHeaders();
        for (long c = headers.fastIterateNonEmpty(); c != -1L; c = headers.fiNextNonEmpty(c)) {
            HeaderValues values = headers.fiCurrent(c);
            String name = values.getHeaderName().toString();
            for (int i = 0; i < name.length(); i++) {
                char ch = name.charAt(i);
                if (ch > 0x7e || !RequestHeadScanner.isTchar(ch)) {
                    return "a header field name HTTP/2 does not allow";
                }
            }
            for (String value : values) {
                for (int i = 0; i < value.length(); i++) {
                    char ch = value.charAt(i);
                    if (ch == '\r' || ch == '\n' || ch == 0) {
                        return "CR, LF or NUL in the value of header field " + name;
                    }
                }
            }
            // Of the connection-specific fields HTTP/2 forbids (RFC 9113 section 8.2.2), Transfer-Encoding is the one
            // that would frame the body on an HTTP/1.1 hop; the others are hop-by-hop and go no further. (An h2c
            // upgrade's first stream carries the upgrade request's Connection and Upgrade fields.)
            if (HopByHop.same(values.getHeaderName(), Headers.TRANSFER_ENCODING)) {
                return "Transfer-Encoding in an HTTP/2 request";
            }
            if (HopByHop.same(values.getHeaderName(), Headers.TE)
                    && !(values.size() == 1 && values.getFirst().trim().equalsIgnoreCase("trailers"))) {
                return "a TE field other than 'trailers' in an HTTP/2 request";
            }
        }
        HeaderValues length = headers.get(Headers.CONTENT_LENGTH);
        if (length != null) {
            for (String value : length) {
                if (ContentLength.parse(value) < 0) {
                    return "a content-length that is not a number of bytes";
                }
            }
        }
        String host = headers.getFirst(Headers.HOST);
        if (host != null && host.indexOf('@') >= 0) {
            return "userinfo in the request's authority";
        }
        return null;
    }

    private static boolean targetBytes(String s) {
        for (int i = 0; i < s.length(); i++) {
            char ch = s.charAt(i);
            if (ch > 0xff || !RequestHeadScanner.isTargetByte(ch)) {
                return false;
            }
        }
        return true;
    }

    private static String reasonFor(int status) {
        return switch (status) {
            case 414 -> "URI too long";
            case 431 -> "request header fields too large";
            case 505 -> "HTTP version not supported";
            default -> "bad request";
        };
    }

    /** Answers the refusal and closes; counted with the method label {@code method} when given, else the request's. */
    private void refuse(HttpServerExchange exchange, int status, String reason, String method) {
        exchange.setPersistent(false);
        countAnsweredHere(exchange, metrics, method);
        Responses.plain(exchange, status, reason);
    }

    /**
     * Counts a request the proxy answers itself (backend {@code none}) once its exchange completes, under
     * {@code method} when given, else the request's.
     */
    static void countAnsweredHere(HttpServerExchange exchange, ProxyMetrics metrics, String method) {
        long start = System.nanoTime();
        exchange.addExchangeCompleteListener((HttpServerExchange ex, ExchangeCompletionListener.NextListener nl) -> {
            try {
                metrics.request(
                        method != null ? method : ex.getRequestMethod().toString(),
                        ex.getStatusCode(),
                        MetricNames.NO_BACKEND,
                        System.nanoTime() - start);
            } finally {
                nl.proceed();
            }
        });
    }

    /**
     * Forwards the framing headers in their canonical form ("005" as "5", "CHUNKED" as "chunked"), so a backend
     * cannot read a value this proxy accepted differently. The gate let through only well-formed, unambiguous ones.
     */
    private static void normaliseFraming(HttpServerExchange exchange) {
        String contentLength = exchange.getRequestHeaders().getFirst(Headers.CONTENT_LENGTH);
        if (contentLength != null) {
            String canonical = Long.toString(Long.parseLong(contentLength.trim()));
            if (!canonical.equals(contentLength)) {
                exchange.getRequestHeaders().put(Headers.CONTENT_LENGTH, canonical);
            }
        }
        String transferEncoding = exchange.getRequestHeaders().getFirst(Headers.TRANSFER_ENCODING);
        if (transferEncoding != null && !transferEncoding.equals(Headers.CHUNKED.toString())) {
            exchange.getRequestHeaders().put(Headers.TRANSFER_ENCODING, Headers.CHUNKED.toString());
        }
    }

    /** The path of an absolute-form target ("http://host:81/p" gives "/p"), "/" when it has none. */
    static String originForm(String absolute) {
        int scheme = absolute.indexOf("://");
        int path = absolute.indexOf('/', scheme < 0 ? 0 : scheme + 3);
        return path < 0 ? "/" : absolute.substring(path);
    }

    /**
     * Fails the read that would take a body past the limit, so the bytes over it never reach the backend. One byte
     * more than the limit is read to tell "exactly at the limit" from "over".
     */
    private static final class BodyLimitConduit extends SingleBufferSourceConduit {

        private final long limit;
        private long read;

        BodyLimitConduit(StreamSourceConduit next, long limit) {
            super(next);
            this.limit = limit;
        }

        @Override
        public int read(ByteBuffer dst) throws IOException {
            if (read > limit) {
                throw overLimit();
            }
            int oldLimit = dst.limit();
            long allowed = limit - read + 1; // at least 1: a read never passes the limit unnoticed
            if (dst.remaining() > allowed) {
                dst.limit(dst.position() + (int) allowed);
            }
            int n;
            try {
                n = next.read(dst);
            } finally {
                dst.limit(oldLimit);
            }
            if (n > 0) {
                read += n;
                if (read > limit) {
                    dst.position(dst.position() - n); // nothing of this read goes on
                    throw overLimit();
                }
            }
            return n;
        }

        private IOException overLimit() {
            return new RequestTooBigException("request body over the limit of " + limit + " bytes");
        }
    }
}
