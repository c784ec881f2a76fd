package dev.roundhouse.proxy.upstream;

/**
 * A request in flight on an I/O thread whose deadlines that thread's periodic sweep checks
 * ({@link UpstreamThread#watch}), rather than a timer per request.
 */
public abstract class TimedExchange {

    // The deadline list of the I/O thread the exchange runs on, threaded through the exchanges (UpstreamThread).
    TimedExchange prevDeadline;
    TimedExchange nextDeadline;
    boolean watched;

    /** Whether a deadline of this exchange (connect or request) has passed at {@code nowNanos}. */
    protected abstract boolean overdue(long nowNanos);

    /** The periodic sweep found the exchange {@link #overdue}. */
    protected abstract void deadlinePassed(long nowNanos);
}
