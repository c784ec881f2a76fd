package io.undertow.protocols.http2;

import io.undertow.server.protocol.framed.SendFrameHeader;
import io.undertow.util.ImmediatePooledByteBuffer;
import java.io.IOException;
import java.nio.ByteBuffer;
import org.xnio.ChannelListeners;

/**
 * The first GOAWAY of a graceful shutdown (RFC 9113 section 6.8): NO_ERROR, last stream 2^31-1, so the client opens
 * no new streams on the connection while the ones it has finish. Undertow's own GOAWAY frame is the connection's last
 * (nothing is written after it, and the connection closes once it is out), which cuts every stream in flight. The
 * frame classes' constructors are package-private, hence this one class in Undertow's package.
 */
public final class GracefulGoAway extends Http2NoDataStreamSinkChannel {

    private static final int LENGTH = 8;
    private static final int ALL_STREAMS = Integer.MAX_VALUE;

    private GracefulGoAway(Http2Channel channel) {
        super(channel);
    }

    /** Queues the frame on {@code channel}; on its I/O thread. */
    public static void send(Http2Channel channel) throws IOException {
        GracefulGoAway frame = new GracefulGoAway(channel);
        frame.shutdownWrites();
        if (!frame.flush()) {
            frame.getWriteSetter().set(ChannelListeners.flushingChannelListener(null, null));
            frame.resumeWrites();
        }
    }

    @Override
    protected SendFrameHeader createFrameHeader() {
        ByteBuffer frame = ByteBuffer.allocate(9 + LENGTH);
        frame.putInt((LENGTH << 8) | Http2Channel.FRAME_TYPE_GOAWAY);
        frame.put((byte) 0); // flags
        frame.putInt(0); // the connection, not a stream
        frame.putInt(ALL_STREAMS);
        frame.putInt(Http2Channel.ERROR_NO_ERROR);
        frame.flip();
        return new SendFrameHeader(new ImmediatePooledByteBuffer(frame));
    }

    @Override
    protected boolean isLastFrame() {
        return false;
    }
}
