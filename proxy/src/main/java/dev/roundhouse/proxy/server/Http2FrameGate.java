package dev.roundhouse.proxy.server;

import dev.roundhouse.proxy.codec.Http2FrameScanner;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xnio.IoUtils;
import org.xnio.StreamConnection;
import org.xnio.conduits.StreamSourceConduit;

/**
 * The bottom of the read side of a client's HTTP/2 connection, under Undertow's HTTP/2 parser: {@link Http2FrameScanner}
 * follows the frames, the connection is closed on a flood the parser would let through, and a header block is handed
 * up only once it is whole. Installed under a connection that chose h2 in its TLS handshake; for cleartext HTTP/2,
 * {@link RequestHeadGate} reads through one once it has seen the preface.
 */
final class Http2FrameGate extends SingleBufferSourceConduit {

    private static final Logger log = LoggerFactory.getLogger(Http2FrameGate.class);
    private static final LogThrottle THROTTLE = new LogThrottle(TimeUnit.SECONDS.toNanos(10), System::nanoTime);
    /** Room for the largest header block the scanner allows, its frame headers, and one read beyond it. */
    private static final int HOLD_BYTES =
            Http2FrameScanner.MAX_HEADER_BLOCK_BYTES + 9 * Http2FrameScanner.MAX_HEADER_BLOCK_FRAMES + 16 * 1024;

    private final StreamConnection connection;
    private final Http2FrameScanner frames = new Http2FrameScanner();
    /** Bytes read before the gate went in, handed up (through the scanner) first. */
    private final EarlyBytes early;
    /** Bytes of a header block still open, and what came after it: [0, holdLength). */
    private ByteBuffer hold;

    private int holdLength;
    /** Where in the stream hold[0] is, counted as the scanner counts. */
    private long holdOffset;

    private boolean ended;

    Http2FrameGate(StreamSourceConduit next, StreamConnection connection, ByteBuffer early) {
        super(next);
        this.connection = connection;
        this.early = new EarlyBytes(early);
    }

    /** Puts a gate under {@code connection}, of which {@code early} was read already (by the TLS negotiation). */
    static void install(StreamConnection connection, ByteBuffer early) {
        connection
                .getSourceChannel()
                .setConduit(new Http2FrameGate(connection.getSourceChannel().getConduit(), connection, early));
    }

    /** What a read of a connection closed for a flood throws. */
    static IOException flood() {
        return new ClosedChannelException();
    }

    @Override
    public int read(ByteBuffer dst) throws IOException {
        if (ended) {
            throw flood();
        }
        if (holdLength > 0) {
            return readHolding(dst);
        }
        int start = dst.position();
        int n = source(dst);
        if (n <= 0) {
            return n;
        }
        long before = frames.consumed();
        scan(dst, start, start + n);
        int handUp = (int) Math.max(0, Math.min(n, frames.releasable() - before));
        if (handUp < n) {
            // A header block began and is not whole: it waits here, with whatever followed it in this read.
            hold = hold == null ? ByteBuffer.allocate(HOLD_BYTES) : hold;
            hold.put(0, dst, start + handUp, n - handUp);
            holdLength = n - handUp;
            holdOffset = before + handUp;
            dst.position(start + handUp);
        }
        return handUp;
    }

    /** A header block is held: reads more behind it, and hands up what may go once it is whole. */
    private int readHolding(ByteBuffer dst) throws IOException {
        int releasable = releasableHeld();
        if (releasable == 0) {
            ByteBuffer room = hold.duplicate().position(holdLength).limit(hold.capacity());
            int n = source(room);
            if (n <= 0) {
                return n; // at the end of the stream, the unfinished block is never handed up
            }
            scan(hold, holdLength, holdLength + n);
            holdLength += n;
            releasable = releasableHeld();
            if (releasable == 0) {
                return 0;
            }
        }
        int n = Math.min(releasable, dst.remaining());
        dst.put(dst.position(), hold, 0, n);
        dst.position(dst.position() + n);
        hold.put(0, hold, n, holdLength - n);
        holdLength -= n;
        holdOffset += n;
        return n;
    }

    private int releasableHeld() {
        return (int) Math.max(0, Math.min(holdLength, frames.releasable() - holdOffset));
    }

    private void scan(ByteBuffer b, int from, int to) throws IOException {
        if (!frames.scan(b, from, to, System.nanoTime())) {
            ended = true;
            hold = null;
            holdLength = 0;
            closeFor(connection, frames.violation());
            throw flood();
        }
    }

    private int source(ByteBuffer dst) throws IOException {
        return early.waiting() ? early.take(dst) : next.read(dst);
    }

    /**
     * Ends a client's HTTP/2 connection for {@code why}, with a warning at most now and then. The read under way fails
     * (at the end of the stream instead, Undertow would serve a header block cut short as if it were whole), and the
     * connection is closed once that read is over: closing it under Undertow's frame parser, in the middle of its
     * read, would free the buffer it is reading into.
     */
    private static void closeFor(StreamConnection connection, String why) {
        long leftOut = THROTTLE.tryAcquire();
        if (leftOut >= 0) {
            log.warn(
                    "Closed an HTTP/2 connection from {}: {}{}",
                    connection.getPeerAddress(),
                    why,
                    leftOut == 0 ? "" : " (and " + leftOut + " more since the last such line)");
        }
        connection.getIoThread().execute(() -> IoUtils.safeClose(connection));
    }

    /** Bytes wait here that no socket event will announce. */
    private boolean waiting() {
        return early.waiting() || (holdLength > 0 && releasableHeld() > 0);
    }

    @Override
    public void resumeReads() {
        if (waiting()) {
            next.wakeupReads();
        } else {
            next.resumeReads();
        }
    }

    @Override
    public void awaitReadable() throws IOException {
        if (!waiting()) {
            next.awaitReadable();
        }
    }

    @Override
    public void awaitReadable(long time, TimeUnit timeUnit) throws IOException {
        if (!waiting()) {
            next.awaitReadable(time, timeUnit);
        }
    }

    @Override
    public void terminateReads() throws IOException {
        hold = null;
        holdLength = 0;
        early.clear();
        next.terminateReads();
    }
}
