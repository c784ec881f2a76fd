package dev.roundhouse.proxy.upstream;

import dev.roundhouse.poolformat.BackendProtocol;
import dev.roundhouse.poolformat.PoolDocument.BackendTls;
import dev.roundhouse.proxy.pool.Backend;
import io.undertow.client.ClientCallback;
import io.undertow.client.ClientExchange;
import io.undertow.client.ClientRequest;
import io.undertow.client.http2.Http2ClientConnection;
import io.undertow.protocols.http2.Http2Channel;
import io.undertow.protocols.http2.Http2StreamSinkChannel;
import org.xnio.IoUtils;

/**
 * One HTTP/2 connection to a backend, owned by the I/O thread that opened it, carrying up to {@link #limit()}
 * requests at once as streams. Undertow's HTTP/2 client does the framing, HPACK and flow control.
 */
public final class MultiplexedConnection {

    /** Streams per connection at most, fewer when the backend's SETTINGS_MAX_CONCURRENT_STREAMS says so. */
    static final int MAX_STREAMS = 100;

    public final Backend backend;
    private final BackendProtocol protocol;
    /** The TLS settings the connection was opened under, or null for h2c. */
    private final BackendTls tls;

    private final Http2Channel channel;
    private final Http2ClientConnection client;
    /** Requests on this connection now. */
    int streams;

    long idleSinceNanos = System.nanoTime();
    private boolean closed;

    MultiplexedConnection(Backend backend, BackendProtocol protocol, BackendTls tls, Http2Channel channel) {
        this.backend = backend;
        this.protocol = protocol;
        this.tls = tls;
        this.channel = channel;
        this.client = new Http2ClientConnection(channel, false, backend.uri().getAuthority(), null, tls != null);
    }

    /** Opens a stream for {@code request}; {@code callback} learns of it (or of its failure) on this thread. */
    public void send(ClientRequest request, ClientCallback<ClientExchange> callback) {
        client.sendRequest(request, callback);
    }

    /**
     * Fit for new streams: open, not going away on either side, and opened under the backend's current protocol
     * and TLS settings.
     */
    boolean usable() {
        return !closed
                && channel.isOpen()
                && !channel.isPeerGoneAway()
                && !channel.isThisGoneAway()
                && !backend.retired()
                && backend.protocol() == protocol
                && (tls == null || tls == backend.tls());
    }

    boolean hasRoom() {
        return streams < limit();
    }

    /** How many streams this connection carries at most. */
    int limit() {
        int peer = channel.getSendMaxConcurrentStreams();
        return peer > 0 ? Math.min(peer, MAX_STREAMS) : MAX_STREAMS;
    }

    boolean isOpen() {
        return !closed && channel.isOpen();
    }

    void addCloseListener(Runnable listener) {
        client.addCloseListener(connection -> listener.run());
    }

    /**
     * Resets one of this connection's streams (RST_STREAM with CANCEL): the backend stops work on it, the connection's
     * other streams go on.
     */
    public void cancel(ClientExchange stream) {
        if (channel.isOpen()) {
            channel.sendRstStream(
                    ((Http2StreamSinkChannel) stream.getRequestChannel()).getStreamId(), Http2Channel.ERROR_CANCEL);
        }
    }

    void close() {
        if (!closed) {
            closed = true;
            IoUtils.safeClose(client);
        }
    }

    @Override
    public String toString() {
        return backend + " (" + protocol.wireName() + ", " + streams + " streams)";
    }
}
