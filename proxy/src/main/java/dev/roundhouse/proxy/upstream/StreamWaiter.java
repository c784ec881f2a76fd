package dev.roundhouse.proxy.upstream;

import dev.roundhouse.proxy.pool.Backend;

/**
 * A request waiting for a stream on an HTTP/2 backend connection ({@link MultiplexedConnections}): told when a
 * connection has room for it, or that the connect it waited for failed.
 */
public interface StreamWaiter {

    /**
     * A connection with room for one more stream, counted against it already.
     *
     * @return false when the request no longer wants it (the place is given back)
     */
    boolean streamReady(MultiplexedConnection connection);

    /**
     * The connect this request waited for failed or timed out.
     *
     * @param counted true for exactly one of the requests that waited on the connect: the one that counts it as a
     *     failed connect of the backend (its breaker's consecutive connect failures)
     */
    void streamConnectFailed(boolean counted);

    /**
     * The request waits for a connect to {@code backend} that found no connect place free (its connects under way
     * and failures in a row reach {@code consecutiveConnectFailures}), and has no connection to wait on: it may go
     * elsewhere (taking itself out of the queue), or keep waiting for a place.
     */
    default void noConnectPlace(Backend backend) {}

    /** True for a waiter that connects whatever the connects under way (a health check: how a backend returns). */
    default boolean anyConnect() {
        return false;
    }
}
