package dev.roundhouse.proxy.server;

import java.io.IOException;
import java.nio.ByteBuffer;
import org.xnio.conduits.StreamSourceConduit;

/**
 * The body of an HTTP/2 request that states a {@code content-length}: its DATA must add up to exactly that (RFC 9113
 * section 8.1.1), since on an HTTP/1.1 hop the length is the framing, and bytes past it would be read by the backend
 * as a request of their own. More or fewer fail the read with {@link MalformedRequestBodyException} (the client gets
 * 400, the backend's connection is reset). The body's last byte is held back until the stream's end is seen, so that
 * a backend never gets a complete request whose client then sent more.
 */
final class DeclaredLengthConduit extends SingleBufferSourceConduit {

    private final long length;
    /** Bytes handed up so far. */
    private long delivered;
    /** The body's last byte, read and not handed up until the stream is known to end after it. */
    private boolean holding;

    private byte held;
    private final ByteBuffer probe = ByteBuffer.allocate(1);

    DeclaredLengthConduit(StreamSourceConduit next, long length) {
        super(next);
        this.length = length;
    }

    @Override
    public int read(ByteBuffer dst) throws IOException {
        if (!dst.hasRemaining()) {
            return 0;
        }
        if (holding) {
            return releaseAtEnd(dst, 0);
        }
        if (delivered == length) {
            int n = next.read(probe.clear());
            if (n > 0) {
                throw overLength();
            }
            return n;
        }
        int oldLimit = dst.limit();
        long left = length - delivered;
        if (dst.remaining() > left) {
            dst.limit(dst.position() + (int) left); // what follows the length is read as such, below
        }
        int n;
        try {
            n = next.read(dst);
        } finally {
            dst.limit(oldLimit);
        }
        if (n == -1) {
            throw new MalformedRequestBodyException("the DATA of an HTTP/2 request ended after " + delivered
                    + " of its content-length of " + length + " bytes");
        }
        if (n <= 0) {
            return n;
        }
        delivered += n;
        if (delivered < length) {
            return n;
        }
        dst.position(dst.position() - 1);
        held = dst.get(dst.position());
        holding = true;
        delivered--;
        return releaseAtEnd(dst, n - 1);
    }

    /**
     * With the last byte held: hands it up after the {@code before} bytes already in {@code dst} once the stream ends
     * there, fails when more DATA follows, and otherwise keeps it until the next read.
     */
    private int releaseAtEnd(ByteBuffer dst, int before) throws IOException {
        int n = next.read(probe.clear());
        if (n > 0) {
            throw overLength();
        }
        if (n == 0) {
            return before;
        }
        dst.put(held);
        holding = false;
        delivered++;
        return before + 1;
    }

    private MalformedRequestBodyException overLength() {
        return new MalformedRequestBodyException(
                "the DATA of an HTTP/2 request go past its content-length of " + length + " bytes");
    }
}
