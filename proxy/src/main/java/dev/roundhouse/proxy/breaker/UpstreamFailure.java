package dev.roundhouse.proxy.breaker;

/**
 * What went wrong with one attempt on one backend: recorded by its breaker (every kind counts as a
 * failure) and counted in {@code roundhouse_errors_total} under {@link #label()}.
 */
public enum UpstreamFailure {
    /** No connection could be made (refused, unreachable, or the connect timeout passed). */
    CONNECT("connect"),
    /** The request timeout passed before the backend answered. */
    TIMEOUT("timeout"),
    /** The backend answered with a 5xx status. */
    STATUS_5XX("upstream_5xx"),
    /** The connection broke after the request was sent and before a response started. */
    RESET("upstream_reset"),
    /** A gRPC call ended with a status that counts as the backend failing (UNAVAILABLE, INTERNAL and the like). */
    GRPC_STATUS("upstream_grpc");

    private final String label;
    private final Exception exception;

    UpstreamFailure(String label) {
        this.label = label;
        this.exception = new Exception(label, null, false, false) {};
    }

    public String label() {
        return label;
    }

    /** The exception handed to the breaker: shared and without a stack trace, it only classifies. */
    public Exception asException() {
        return exception;
    }
}
