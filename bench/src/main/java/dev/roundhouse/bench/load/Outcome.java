package dev.roundhouse.bench.load;

/** How a scheduled request ended. */
public enum Outcome {
    /** A 2xx or 3xx response. */
    OK("ok"),
    /** A complete response with another status (the proxy's own 502/503/504, or a backend's error). */
    STATUS("status"),
    /** No complete response within the timeout. */
    TIMEOUT("timeout"),
    /**
     * The server closed (or reset) a connection that had served requests before, and this request got no byte of
     * response: the race every keep-alive client meets when a server closes an idle connection. A client that retries
     * idempotent requests on a fresh connection hides these; wrk and most load tools count them as read errors.
     */
    STALE("stale"),
    /** Any other I/O error: a reset or close during the response, a malformed response. */
    IO("io"),
    /** The connection could not be opened. */
    CONNECT("connect"),
    /** Never sent: still queued behind slower requests when the run's drain time ran out. */
    UNSENT("unsent");

    private final String label;

    Outcome(String label) {
        this.label = label;
    }

    public String label() {
        return label;
    }

    /** Everything but {@link #OK} is a failed request. */
    public boolean failed() {
        return this != OK;
    }

    private static final Outcome[] VALUES = values();

    static Outcome of(int ordinal) {
        return VALUES[ordinal];
    }
}
