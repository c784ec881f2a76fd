package dev.roundhouse.proxy.upstream;

import dev.roundhouse.proxy.pool.Backend;
import org.xnio.IoFuture;
import org.xnio.StreamConnection;

/**
 * What the connections need of a request on its way to a backend, and nothing more: to be told when a connection is
 * ready or failed, to be woken when the backend sends, and when its deadlines pass. The request's lifecycle
 * ({@code forward/}) extends it, so that this package never depends on that one.
 */
public abstract class UpstreamExchange extends TimedExchange {

    /** A new connection is being opened for this exchange; {@link #connected} or {@link #connectFailed} follows. */
    protected abstract void connecting(IoFuture<? extends StreamConnection> future);

    /**
     * Takes a place among {@code backend}'s connects under way for the connect about to start for this exchange (one
     * it reserved while picking the backend, or a new one), or says that none is free: then no connect starts.
     * Every connect holds a place until it completes or fails ({@link Backend#connectEnded()}).
     */
    protected abstract boolean connectPlace(Backend backend);

    /**
     * This exchange waits in {@code backend}'s queue, and a connect it could have started found no place free. It
     * goes to another backend, or fails, or stays (taking itself out of the queue with
     * {@link UpstreamThread#stopWaiting} when it leaves).
     */
    protected abstract void noConnectPlace(Backend backend);

    /**
     * A connection for this exchange: idle, new, or released by another exchange.
     *
     * @return false when the exchange no longer wants one (it then goes to someone else)
     */
    protected abstract boolean connected(UpstreamConnection connection, boolean reused);

    /** The connect failed, or was cancelled by this exchange, which then already moved on. */
    protected abstract void connectFailed(boolean cancelled);

    /** The backend's connection is readable: response bytes, or its end. */
    protected abstract void backendReadable();
}
