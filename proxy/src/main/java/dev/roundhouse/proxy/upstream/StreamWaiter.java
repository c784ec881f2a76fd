package dev.roundhouse.proxy.upstream;

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
}
