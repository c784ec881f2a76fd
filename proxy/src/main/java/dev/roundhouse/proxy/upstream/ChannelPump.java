package dev.roundhouse.proxy.upstream;

import io.undertow.connector.ByteBufferPool;
import io.undertow.connector.PooledByteBuffer;
import java.io.IOException;
import java.nio.ByteBuffer;
import org.xnio.channels.StreamSinkChannel;
import org.xnio.channels.StreamSourceChannel;

/**
 * Moves a body from one stream channel to another through one pooled buffer, flushing what it wrote at every pause of
 * the source, so that a streamed body (a gRPC call's messages) goes on message by message rather than when a buffer
 * fills. Says why it stopped and leaves what follows to its caller: one side of an HTTP/2 stream, either way.
 */
public final class ChannelPump {

    /** Why {@link #pump} returned. */
    public enum Stop {
        /** The source has nothing now: wait until it is readable. */
        WAIT_SOURCE,
        /** The sink cannot take more now (a flow-control window, a slow peer): wait until it is writable. */
        WAIT_SINK,
        /** The source ended and all of it was written. */
        DONE,
        /** Reading the source failed ({@link #failure}). */
        SOURCE_FAILED,
        /** Writing the sink failed ({@link #failure}). */
        SINK_FAILED
    }

    private final ByteBufferPool buffers;
    private PooledByteBuffer buffer;
    /** The buffer holds bytes read and not yet written. */
    private boolean pending;
    /** Some of the source was read. */
    private boolean moved;

    private IOException failure;

    public ChannelPump(ByteBufferPool buffers) {
        this.buffers = buffers;
    }

    /** Moves bytes until one side has to wait, the source ends, or a side fails. */
    public Stop pump(StreamSourceChannel source, StreamSinkChannel sink) {
        if (buffer == null) {
            buffer = buffers.allocate();
        }
        ByteBuffer bytes = buffer.getBuffer();
        while (true) {
            if (pending) {
                try {
                    sink.write(bytes);
                } catch (IOException e) {
                    failure = e;
                    return Stop.SINK_FAILED;
                }
                if (bytes.hasRemaining()) {
                    return Stop.WAIT_SINK;
                }
                pending = false;
            }
            bytes.clear();
            int n;
            try {
                n = source.read(bytes);
            } catch (IOException e) {
                failure = e;
                return Stop.SOURCE_FAILED;
            }
            if (n == -1) {
                free();
                return Stop.DONE;
            }
            if (n == 0) {
                try {
                    return sink.flush() ? Stop.WAIT_SOURCE : Stop.WAIT_SINK;
                } catch (IOException e) {
                    failure = e;
                    return Stop.SINK_FAILED;
                }
            }
            moved = true;
            bytes.flip();
            pending = true;
        }
    }

    /** Whether any of the source was read: then the body cannot be sent again from its start. */
    public boolean moved() {
        return moved;
    }

    public IOException failure() {
        return failure;
    }

    /** Gives the buffer back (and whatever it held). */
    public void free() {
        if (buffer != null) {
            buffer.close();
            buffer = null;
            pending = false;
        }
    }
}
