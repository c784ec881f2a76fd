package dev.roundhouse.proxy.codec;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * Follows the frames a client sends on an HTTP/2 connection, by their 9-byte headers only, and says when the
 * connection must be closed for what no client needs and an attacker uses: a header block without end (the
 * CONTINUATION flood: HEADERS without END_HEADERS and CONTINUATION frames after it, which a server buffers until the
 * block ends), and a stream of SETTINGS and PING frames, each of which the server must answer (the settings and ping
 * floods: answers queue up while the client does not read them). Everything else, the streams, their resets and their
 * flow control, is the HTTP/2 server's. Starts at the client's connection preface.
 *
 * <p>It also says how far the bytes may be handed to the server ({@link #releasable()}): not into a header block
 * until the block is whole. Undertow's HTTP/2 parser serves a request from a HEADERS frame without END_HEADERS when
 * nothing follows it in the same read, with the header fields the CONTINUATION frames would have added missing; held
 * back here until its END_HEADERS frame is in, a block reaches it in one go.
 */
public final class Http2FrameScanner {

    /** The client connection preface (RFC 9113 section 3.4), which comes before the first frame. */
    private static final byte[] PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
    /**
     * The most bytes one header block may take, HEADERS and CONTINUATION frames together: its HPACK encoding is never
     * larger than the header list it stands for, which is held to {@link HttpLimits#MAX_HEADER_BYTES} anyway.
     */
    public static final int MAX_HEADER_BLOCK_BYTES = HttpLimits.MAX_HEADER_BYTES;
    /** The most frames one header block may take: a block of the largest size fits in three at the default size. */
    public static final int MAX_HEADER_BLOCK_FRAMES = 64;
    /** SETTINGS and PING frames (not acknowledgements) a client may send in {@link #CONTROL_WINDOW_NANOS}. */
    public static final int MAX_CONTROL_FRAMES = 1000;

    public static final long CONTROL_WINDOW_NANOS = 10_000_000_000L;

    private static final int HEADERS = 0x1;
    private static final int SETTINGS = 0x4;
    private static final int PING = 0x6;
    private static final int CONTINUATION = 0x9;
    private static final int ACK = 0x1;
    private static final int END_HEADERS = 0x4;

    private final byte[] header = new byte[9];
    private int headerFill;
    private long prefaceLeft = PREFACE.length;
    private long payloadLeft;
    private boolean inBlock;
    private int blockBytes;
    private int blockFrames;
    private int controlFrames;
    private long controlWindowStart;
    private String violation;
    /** Bytes scanned since the preface began. */
    private long consumed;
    /** Where a header block still open began (after its HEADERS frame's header), or -1. */
    private long blockFrom = -1;
    /** The frame being read ends its header block. */
    private boolean endsBlock;

    /**
     * Follows {@code b[from, to)}, the next bytes from the client.
     *
     * @param nowNanos a {@link System#nanoTime()} reading, for the control-frame window
     * @return false once the connection must be closed; {@link #violation()} says why
     */
    public boolean scan(ByteBuffer b, int from, int to, long nowNanos) {
        int p = from;
        while (p < to && violation == null) {
            if (prefaceLeft > 0) {
                int take = (int) Math.min(prefaceLeft, to - p);
                prefaceLeft -= take;
                p += take;
                consumed += take;
            } else if (payloadLeft > 0) {
                int take = (int) Math.min(payloadLeft, to - p);
                payloadLeft -= take;
                p += take;
                consumed += take;
                if (payloadLeft == 0) {
                    payloadDone();
                }
            } else {
                header[headerFill++] = b.get(p++);
                consumed++;
                if (headerFill == header.length) {
                    headerFill = 0;
                    frame(nowNanos);
                    if (payloadLeft == 0) {
                        payloadDone();
                    }
                }
            }
        }
        return violation == null;
    }

    private void frame(long nowNanos) {
        int length = ((header[0] & 0xff) << 16) | ((header[1] & 0xff) << 8) | (header[2] & 0xff);
        int type = header[3] & 0xff;
        int flags = header[4] & 0xff;
        payloadLeft = length;
        endsBlock = false;
        if (type == HEADERS) {
            inBlock = (flags & END_HEADERS) == 0;
            blockBytes = length;
            blockFrames = 1;
            blockFrom = inBlock ? consumed : -1;
        } else if (type == CONTINUATION && inBlock) {
            blockBytes += length;
            blockFrames++;
            inBlock = (flags & END_HEADERS) == 0;
            endsBlock = !inBlock;
            if (blockBytes > MAX_HEADER_BLOCK_BYTES) {
                violation = "a header block over " + MAX_HEADER_BLOCK_BYTES + " bytes (CONTINUATION flood)";
            } else if (blockFrames > MAX_HEADER_BLOCK_FRAMES) {
                violation = "a header block in over " + MAX_HEADER_BLOCK_FRAMES + " frames (CONTINUATION flood)";
            }
        } else if ((type == SETTINGS || type == PING) && (flags & ACK) == 0) {
            if (controlFrames == 0 || nowNanos - controlWindowStart > CONTROL_WINDOW_NANOS) {
                controlWindowStart = nowNanos;
                controlFrames = 0;
            }
            if (++controlFrames > MAX_CONTROL_FRAMES) {
                violation = "over " + MAX_CONTROL_FRAMES + " SETTINGS and PING frames in "
                        + CONTROL_WINDOW_NANOS / 1_000_000_000L + " s (control frame flood)";
            }
        }
    }

    /**
     * Whether {@code b[from, end)} begins with the client preface: 1 when it does, -1 when it may yet (the bytes so far
     * match), 0 when it does not.
     */
    public static int preface(ByteBuffer b, int from, int end) {
        int n = Math.min(end - from, PREFACE.length);
        for (int i = 0; i < n; i++) {
            if (b.get(from + i) != PREFACE[i]) {
                return 0;
            }
        }
        return n == PREFACE.length ? 1 : -1;
    }

    private void payloadDone() {
        if (endsBlock) {
            endsBlock = false;
            blockFrom = -1; // the block is whole: all of it may go
        }
    }

    /** How many bytes, counted from the preface on, may be handed to the server now. */
    public long releasable() {
        return blockFrom >= 0 ? blockFrom : consumed;
    }

    /** How many bytes were scanned, counted from the preface on. */
    public long consumed() {
        return consumed;
    }

    /** Why the connection must be closed, or null. */
    public String violation() {
        return violation;
    }
}
