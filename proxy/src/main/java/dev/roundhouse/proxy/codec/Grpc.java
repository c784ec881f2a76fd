package dev.roundhouse.proxy.codec;

import dev.roundhouse.poolformat.GrpcStatuses;
import io.undertow.util.HeaderMap;
import io.undertow.util.Headers;
import io.undertow.util.HttpString;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

/**
 * What the proxy knows of gRPC over HTTP/2 (the gRPC "PROTOCOL-HTTP2" document): which requests are calls, their
 * {@code grpc-timeout}, the status codes and their names, and the trailers-only answer the proxy gives a call it
 * cannot forward.
 */
public final class Grpc {

    public static final HttpString STATUS = HttpString.tryFromString("grpc-status");
    public static final HttpString MESSAGE = HttpString.tryFromString("grpc-message");
    public static final HttpString TIMEOUT = HttpString.tryFromString("grpc-timeout");

    public static final int OK = 0;
    public static final int CANCELLED = 1;
    public static final int UNKNOWN = 2;
    public static final int DEADLINE_EXCEEDED = 4;
    public static final int RESOURCE_EXHAUSTED = 8;
    public static final int INTERNAL = 13;
    public static final int UNAVAILABLE = 14;

    private Grpc() {}

    /** A gRPC call: its content type is {@code application/grpc}, alone or with a suffix ({@code +proto}). */
    public static boolean isCall(HeaderMap requestHeaders) {
        String type = requestHeaders.getFirst(Headers.CONTENT_TYPE);
        return type != null
                && type.regionMatches(true, 0, "application/grpc", 0, 16)
                && (type.length() == 16 || type.charAt(16) == '+' || type.charAt(16) == ';');
    }

    /** How many status codes there are (0 to 16). */
    public static final int CODES = GrpcStatuses.NAMES.size();

    /** The name of status {@code code}; codes outside 0..16 are UNKNOWN, as a gRPC client reads them. */
    public static String name(int code) {
        return GrpcStatuses.NAMES.get(code >= 0 && code < CODES ? code : UNKNOWN);
    }

    /** Which codes {@code names} name, as a table by code. */
    public static boolean[] codes(java.util.List<String> names) {
        boolean[] codes = new boolean[CODES];
        for (String name : names) {
            int code = GrpcStatuses.code(name);
            if (code >= 0) {
                codes[code] = true;
            }
        }
        return codes;
    }

    /** The code a {@code grpc-status} value stands for; absent or not a number in range: UNKNOWN. */
    public static int status(String value) {
        if (value == null || value.isEmpty() || value.length() > 2) {
            return UNKNOWN;
        }
        int code = 0;
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c < '0' || c > '9') {
                return UNKNOWN;
            }
            code = code * 10 + (c - '0');
        }
        return code < CODES ? code : UNKNOWN;
    }

    /**
     * A {@code grpc-timeout} value in nanoseconds: at most 8 digits and a unit (H, M, S, m, u, n); -1 when absent
     * or malformed (then only the proxy's own request timeout applies).
     */
    public static long timeoutNanos(String value) {
        if (value == null || value.length() < 2 || value.length() > 9) {
            return -1;
        }
        long amount = 0;
        for (int i = 0; i < value.length() - 1; i++) {
            char c = value.charAt(i);
            if (c < '0' || c > '9') {
                return -1;
            }
            amount = amount * 10 + (c - '0');
        }
        TimeUnit unit = switch (value.charAt(value.length() - 1)) {
            case 'H' -> TimeUnit.HOURS;
            case 'M' -> TimeUnit.MINUTES;
            case 'S' -> TimeUnit.SECONDS;
            case 'm' -> TimeUnit.MILLISECONDS;
            case 'u' -> TimeUnit.MICROSECONDS;
            case 'n' -> TimeUnit.NANOSECONDS;
            default -> null;
        };
        return unit == null ? -1 : unit.toNanos(amount);
    }

    /**
     * The status a gRPC client gets for an answer of the proxy's own with HTTP status {@code status} (gRPC's
     * "HTTP to gRPC status code mapping", where a timeout of this proxy's is the call's deadline passing).
     */
    public static int forHttpStatus(int status) {
        return switch (status) {
            case 400 -> INTERNAL;
            case 401 -> 16;
            case 403 -> 7;
            case 404 -> 12;
            case 408, 504 -> DEADLINE_EXCEEDED;
            case 413 -> RESOURCE_EXHAUSTED;
            case 429, 502, 503 -> UNAVAILABLE;
            default -> UNKNOWN;
        };
    }

    /** {@code grpc-message}: percent-encoded UTF-8, printable ASCII but '%' passing as it is. */
    public static String encodeMessage(String message) {
        StringBuilder out = new StringBuilder(message.length());
        for (byte b : message.getBytes(StandardCharsets.UTF_8)) {
            int c = b & 0xff;
            if (c >= 0x20 && c <= 0x7e && c != '%') {
                out.append((char) c);
            } else {
                out.append('%').append(Character.toUpperCase(Character.forDigit(c >> 4, 16)));
                out.append(Character.toUpperCase(Character.forDigit(c & 0xf, 16)));
            }
        }
        return out.toString();
    }
}
