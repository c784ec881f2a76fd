package dev.roundhouse.proxy.upstream;

import dev.roundhouse.poolformat.BackendProtocol;
import dev.roundhouse.poolformat.PoolDocument.BackendTls;
import dev.roundhouse.proxy.pool.Backend;
import java.io.IOException;
import java.nio.ByteBuffer;
import org.xnio.ChannelListener;
import org.xnio.IoUtils;
import org.xnio.StreamConnection;
import org.xnio.conduits.ConduitStreamSinkChannel;
import org.xnio.conduits.ConduitStreamSourceChannel;

/**
 * One keep-alive HTTP/1.1 connection to a backend, owned by the I/O thread that opened it. Its read
 * interest stays set for its whole life, idle or busy: an idle connection that becomes readable was
 * closed (or spoken to out of turn) by the backend and is dropped, and a busy one reads its response,
 * all without an {@code epoll_ctl} per request.
 */
public final class UpstreamConnection implements ChannelListener<ConduitStreamSourceChannel> {

    public final Backend backend;
    final StreamConnection connection;
    public final ConduitStreamSourceChannel source;
    public final ConduitStreamSinkChannel sink;
    private final UpstreamThread owner;
    /** The TLS settings the connection was opened under, or null for plain HTTP. */
    private final BackendTls tls;
    /** The exchange using this connection, or null while it is idle. */
    public UpstreamExchange user;

    long idleSinceNanos;
    private boolean closed;

    UpstreamConnection(Backend backend, StreamConnection connection, UpstreamThread owner, BackendTls tls) {
        this.backend = backend;
        this.tls = tls;
        this.connection = connection;
        this.source = connection.getSourceChannel();
        this.sink = connection.getSinkChannel();
        this.owner = owner;
        source.getReadSetter().set(this);
        source.resumeReads();
    }

    @Override
    public void handleEvent(ConduitStreamSourceChannel channel) {
        UpstreamExchange exchange = user;
        if (exchange != null) {
            exchange.backendReadable();
            return;
        }
        // Idle: the backend closed it, or sent bytes nobody asked for. Either way it cannot carry a request.
        ByteBuffer probe = owner.probe;
        probe.clear();
        try {
            int n = channel.read(probe);
            if (n == 0) {
                return;
            }
        } catch (IOException e) {
            // reset by the backend
        }
        close();
    }

    boolean isOpen() {
        return !closed && connection.isOpen();
    }

    /**
     * Open, and opened under the backend's current settings (HTTP/1.1 still, and over TLS the same TLS settings): fit
     * for another request.
     */
    boolean current() {
        return isOpen() && backend.protocol() == BackendProtocol.HTTP_1_1 && (tls == null || tls == backend.tls());
    }

    /** Closes the connection at once (never a graceful drain: it carries nothing anyone waits for). */
    public void close() {
        if (!closed) {
            closed = true;
            user = null;
            IoUtils.safeClose(connection);
            owner.closed(this);
        }
    }

    /**
     * Resets the connection: the backend reads an error, never the end of a request. For a request whose body
     * broke off or failed, so that a backend never acts on a truncated body.
     */
    public void abort() {
        if (!closed) {
            try {
                connection.setOption(org.xnio.Options.CLOSE_ABORT, true);
            } catch (java.io.IOException | IllegalArgumentException e) {
                // a connection that cannot take the option is closed plainly below
            }
            close();
        }
    }

    /**
     * Takes the connection out of its thread's pool for good (a protocol switch makes it a tunnel): it no longer
     * counts against the backend's connection limit, and nothing here reads it or closes it.
     */
    public StreamConnection detach() {
        closed = true;
        user = null;
        source.getReadSetter().set(null);
        owner.closed(this);
        return connection;
    }
}
