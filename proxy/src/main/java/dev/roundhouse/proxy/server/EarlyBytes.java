package dev.roundhouse.proxy.server;

import java.nio.ByteBuffer;

/**
 * Bytes read from a connection before a gate went in under its reader (the protocol negotiation of a TLS handshake
 * reads the first request's bytes with it): the gate hands them up before anything more from the connection.
 */
final class EarlyBytes {

    private ByteBuffer bytes;

    /** A copy of what remains of {@code read} (whose buffer goes back to its pool), or none. */
    EarlyBytes(ByteBuffer read) {
        if (read != null && read.hasRemaining()) {
            bytes = ByteBuffer.allocate(read.remaining()).put(read).flip();
        }
    }

    /** Some are still to be handed up: no socket event will say so. */
    boolean waiting() {
        return bytes != null;
    }

    /** Moves as many as fit into {@code dst}. */
    int take(ByteBuffer dst) {
        int n = Math.min(bytes.remaining(), dst.remaining());
        dst.put(dst.position(), bytes, bytes.position(), n);
        dst.position(dst.position() + n);
        bytes.position(bytes.position() + n);
        if (!bytes.hasRemaining()) {
            bytes = null;
        }
        return n;
    }

    void clear() {
        bytes = null;
    }
}
