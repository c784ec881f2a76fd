package dev.roundhouse.proxy.upstream;

import io.undertow.connector.ByteBufferPool;
import io.undertow.connector.PooledByteBuffer;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.xnio.channels.StreamSinkChannel;
import org.xnio.channels.StreamSourceChannel;

/**
 * The request side of one request's HTTP/1.1 exchange with its backend: the client's body, moved to the backend as
 * it arrives through one pooled buffer, re-framed in canonical chunks when it came chunked (the server has already
 * decoded and checked the client's framing). Each {@link #pump} says where it stopped and decides nothing: the
 * request's lifecycle ({@code forward/}) owns the channels' listeners, and tells a client's fault from a backend's.
 */
public final class RequestBodyPump {

    /** Where a pump stopped. */
    public enum Stop {
        /** The client has sent nothing more yet. */
        WAIT_CLIENT,
        /** The backend cannot take more now. */
        WAIT_BACKEND,
        /** The whole body went to the backend. */
        DONE,
        /** Reading the client's body failed: {@link #failure} says how (malformed, too large, cut short). */
        CLIENT_FAILED,
        /** Writing to the backend failed: it closed the connection, perhaps after answering early. */
        BACKEND_FAILED
    }

    /** Room kept in front of body data for a chunk-size line, and after it for its CRLF. */
    private static final int CHUNK_HEAD_ROOM = 10;

    private static final int CHUNK_TAIL_ROOM = 2;
    private static final byte[] LAST_CHUNK = "0\r\n\r\n".getBytes(StandardCharsets.US_ASCII);

    private final ByteBufferPool pool;
    private final boolean chunked;
    private PooledByteBuffer pooled;
    /** Bytes read from the client and not yet all written to the backend. */
    private ByteBuffer out;
    /** Some of the client's body was read: the request can no longer be sent again. */
    private boolean consumed;

    private boolean lastChunkQueued;
    private IOException failure;

    /** @param chunked the client sent its body chunked: it goes to the backend chunked too */
    public RequestBodyPump(ByteBufferPool pool, boolean chunked) {
        this.pool = pool;
        this.chunked = chunked;
    }

    /** Moves the client's body to the backend until one side has to wait, the body ends, or something fails. */
    public Stop pump(StreamSourceChannel client, StreamSinkChannel backend) {
        if (pooled == null) {
            pooled = pool.allocate();
        }
        while (true) {
            if (out != null) {
                try {
                    while (out.hasRemaining()) {
                        if (backend.write(out) == 0) {
                            return Stop.WAIT_BACKEND;
                        }
                    }
                } catch (IOException e) {
                    out = null;
                    return Stop.BACKEND_FAILED;
                }
                out = null;
                if (lastChunkQueued) {
                    return Stop.DONE;
                }
            }
            ByteBuffer data = pooled.getBuffer();
            data.clear();
            if (chunked) {
                data.position(CHUNK_HEAD_ROOM).limit(data.capacity() - CHUNK_TAIL_ROOM);
            }
            int start = data.position();
            int n;
            try {
                n = client.read(data);
            } catch (IOException e) {
                failure = e;
                return Stop.CLIENT_FAILED;
            }
            if (n == 0) {
                return Stop.WAIT_CLIENT;
            }
            if (n == -1) {
                if (chunked) {
                    out = ByteBuffer.wrap(LAST_CHUNK);
                    lastChunkQueued = true;
                    continue;
                }
                return Stop.DONE;
            }
            consumed = true;
            if (chunked) {
                // data sits at [start, start + n): its size line goes in front of it, CRLF after
                byte[] size = (Integer.toHexString(n) + "\r\n").getBytes(StandardCharsets.US_ASCII);
                int from = start - size.length;
                data.limit(start + n + 2); // into the room kept for the CRLF
                data.put(from, size);
                data.put(start + n, (byte) '\r').put(start + n + 1, (byte) '\n');
                data.position(from);
            } else {
                data.flip().position(start);
            }
            out = data;
        }
    }

    /**
     * The request goes again on a new connection, none of its body read ({@link #consumed} false): only its last
     * chunk may have been queued, and it is queued again whole.
     */
    public void restart() {
        out = null;
        lastChunkQueued = false;
    }

    /** Some of the client's body was read: the request cannot be sent again. */
    public boolean consumed() {
        return consumed;
    }

    /** How reading the client's body failed, after {@link Stop#CLIENT_FAILED}. */
    public IOException failure() {
        return failure;
    }

    /** Returns the buffer to its pool (a later {@link #pump} takes another). */
    public void free() {
        out = null;
        if (pooled != null) {
            pooled.close();
            pooled = null;
        }
    }
}
