package dev.roundhouse.proxy.forward;

import io.undertow.connector.ByteBufferPool;
import io.undertow.connector.PooledByteBuffer;
import java.io.IOException;
import java.nio.ByteBuffer;
import org.xnio.ChannelListener;
import org.xnio.IoUtils;
import org.xnio.StreamConnection;
import org.xnio.conduits.ConduitStreamSinkChannel;
import org.xnio.conduits.ConduitStreamSourceChannel;

/**
 * A client connection and a backend connection after a protocol switch (101): bytes are copied both ways as they
 * come, with no timeout, until both sides have ended their sending; an end of one side's sending is passed on to
 * the other, and an error on either ends both. Runs on the client connection's I/O thread, which also owns the
 * backend connection.
 */
final class Tunnel {

    private final StreamConnection client;
    private final StreamConnection backend;
    private final Direction up;
    private final Direction down;
    private boolean closed;

    private Tunnel(
            StreamConnection client, StreamConnection backend, PooledByteBuffer upBuffer, PooledByteBuffer downBuffer) {
        this.client = client;
        this.backend = backend;
        this.up = new Direction(client.getSourceChannel(), backend.getSinkChannel(), upBuffer);
        this.down = new Direction(backend.getSourceChannel(), client.getSinkChannel(), downBuffer);
    }

    /**
     * Starts copying. {@code fromBackend} holds what the backend sent after its 101, ready to read (it may be
     * empty); the tunnel owns it from here.
     */
    static void start(
            StreamConnection client, StreamConnection backend, PooledByteBuffer fromBackend, ByteBufferPool pool) {
        Tunnel tunnel = new Tunnel(client, backend, pool.allocate(), fromBackend);
        tunnel.down.flushThenCopy();
        tunnel.up.buffer.getBuffer().clear().flip();
        tunnel.up.copy();
    }

    private void close() {
        if (!closed) {
            closed = true;
            IoUtils.safeClose(client, backend);
            up.buffer.close();
            down.buffer.close();
        }
    }

    private void directionEnded() {
        if (up.ended && down.ended) {
            close();
        }
    }

    /** One way through the tunnel: reads from {@code source}, writes to {@code sink}, through one buffer. */
    private final class Direction {
        final ConduitStreamSourceChannel source;
        final ConduitStreamSinkChannel sink;
        final PooledByteBuffer buffer;
        boolean ended;

        Direction(ConduitStreamSourceChannel source, ConduitStreamSinkChannel sink, PooledByteBuffer buffer) {
            this.source = source;
            this.sink = sink;
            this.buffer = buffer;
            source.getReadSetter().set((ChannelListener<ConduitStreamSourceChannel>) channel -> copy());
            sink.getWriteSetter().set((ChannelListener<ConduitStreamSinkChannel>) channel -> flushThenCopy());
        }

        /** Writes what the buffer holds; once it is all out, copies on. */
        void flushThenCopy() {
            if (closed) {
                return;
            }
            ByteBuffer b = buffer.getBuffer();
            try {
                while (b.hasRemaining()) {
                    if (sink.write(b) == 0) {
                        source.suspendReads();
                        sink.resumeWrites();
                        return;
                    }
                }
            } catch (IOException e) {
                close();
                return;
            }
            sink.suspendWrites();
            copy();
        }

        /** Reads and writes until the source has nothing more now, the sink cannot take more, or the source ends. */
        void copy() {
            if (closed || ended) {
                return;
            }
            ByteBuffer b = buffer.getBuffer();
            try {
                while (true) {
                    if (b.hasRemaining()) {
                        if (sink.write(b) == 0) {
                            source.suspendReads();
                            sink.resumeWrites();
                            return;
                        }
                        continue;
                    }
                    b.clear();
                    int n = source.read(b);
                    b.flip();
                    if (n == 0) {
                        source.resumeReads();
                        return;
                    }
                    if (n == -1) {
                        ended = true;
                        source.suspendReads();
                        sink.shutdownWrites();
                        sink.flush();
                        directionEnded();
                        return;
                    }
                }
            } catch (IOException e) {
                close();
            }
        }
    }
}
