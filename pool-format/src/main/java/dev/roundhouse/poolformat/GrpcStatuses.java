package dev.roundhouse.poolformat;

import java.util.List;

/**
 * gRPC's status codes by their canonical names (0 to 16), as gRPC's libraries spell them: the names
 * {@code circuitBreaker.grpcFailureStatuses} takes, and the proxy's metric labels.
 */
public final class GrpcStatuses {

    /** The names in code order: {@code NAMES.get(14)} is {@code UNAVAILABLE}. */
    public static final List<String> NAMES = List.of(
            "OK",
            "CANCELLED",
            "UNKNOWN",
            "INVALID_ARGUMENT",
            "DEADLINE_EXCEEDED",
            "NOT_FOUND",
            "ALREADY_EXISTS",
            "PERMISSION_DENIED",
            "RESOURCE_EXHAUSTED",
            "FAILED_PRECONDITION",
            "ABORTED",
            "OUT_OF_RANGE",
            "UNIMPLEMENTED",
            "INTERNAL",
            "UNAVAILABLE",
            "DATA_LOSS",
            "UNAUTHENTICATED");

    /**
     * The statuses that count as a backend failing unless a document says otherwise: the server broke, is gone, or
     * ran out of time; not what a caller did wrong (NOT_FOUND, INVALID_ARGUMENT, PERMISSION_DENIED...).
     */
    public static final List<String> DEFAULT_FAILURES =
            List.of("UNKNOWN", "DEADLINE_EXCEEDED", "INTERNAL", "UNAVAILABLE");

    private GrpcStatuses() {}

    /** The code named {@code name}, or -1. */
    public static int code(String name) {
        return NAMES.indexOf(name);
    }
}
