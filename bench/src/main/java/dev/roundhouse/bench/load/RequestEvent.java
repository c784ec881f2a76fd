package dev.roundhouse.bench.load;

/**
 * One scheduled request, in nanoseconds after the run's start: when it was due, when it was sent, when its response
 * (or failure) was complete, which backend answered (a {@link BackendIds} id, 0 when unknown) and how it ended.
 * {@code sent} and {@code done} are -1 for a request never sent.
 */
public record RequestEvent(int connection, long due, long sent, long done, int backend, Outcome outcome, int status) {

    /** Latency as a client sees it: from the due time to the end. */
    public long latency() {
        return done - due;
    }
}
