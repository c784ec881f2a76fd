package dev.roundhouse.proxy.testing;

import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;

/**
 * A cleartext HTTP/2 connection at the frame level (prior knowledge), for what a well-behaved client never sends: the
 * attacks the proxy must withstand. Header blocks are written as HPACK literals (no Huffman), which every decoder must
 * take; the server's header blocks are not decoded, only the frames around them are looked at.
 */
public final class Http2Frames implements AutoCloseable {

    public static final int DATA = 0x0;
    public static final int HEADERS = 0x1;
    public static final int RST_STREAM = 0x3;
    public static final int SETTINGS = 0x4;
    public static final int PING = 0x6;
    public static final int GOAWAY = 0x7;
    public static final int WINDOW_UPDATE = 0x8;
    public static final int CONTINUATION = 0x9;

    public static final int END_STREAM = 0x1;
    public static final int ACK = 0x1;
    public static final int END_HEADERS = 0x4;

    /** RST_STREAM and GOAWAY error codes (RFC 9113 section 7). */
    public static final int CANCEL = 0x8;

    public static final int REFUSED_STREAM = 0x7;

    private static final byte[] PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII);

    /** One frame as read. */
    public record Frame(int type, int flags, int stream, byte[] payload) {
        /** The error code of a RST_STREAM or GOAWAY frame. */
        public int errorCode() {
            int at = type == GOAWAY ? 4 : 0;
            return ((payload[at] & 0xff) << 24)
                    | ((payload[at + 1] & 0xff) << 16)
                    | ((payload[at + 2] & 0xff) << 8)
                    | (payload[at + 3] & 0xff);
        }

        /** The value of one setting in a SETTINGS frame, or -1. */
        public long setting(int id) {
            for (int i = 0; i + 6 <= payload.length; i += 6) {
                if ((((payload[i] & 0xff) << 8) | (payload[i + 1] & 0xff)) == id) {
                    return ((long) (payload[i + 2] & 0xff) << 24)
                            | ((payload[i + 3] & 0xff) << 16)
                            | ((payload[i + 4] & 0xff) << 8)
                            | (payload[i + 5] & 0xff);
                }
            }
            return -1;
        }

        @Override
        public String toString() {
            return "Frame[type=" + type + ", flags=" + flags + ", stream=" + stream + ", length=" + payload.length
                    + "]";
        }
    }

    private final Socket socket;
    private final InputStream in;
    private final OutputStream out;
    private boolean closed;
    /** Frames read by {@link #await} that it was not waiting for, for a later await. */
    private final java.util.List<Frame> unclaimed = new java.util.ArrayList<>();

    private Http2Frames(Socket socket) throws IOException {
        this.socket = socket;
        this.in = socket.getInputStream();
        this.out = socket.getOutputStream();
    }

    /** Connects, sends the preface and an empty SETTINGS frame. */
    public static Http2Frames connect(int port) throws IOException {
        Socket socket = new Socket(InetAddress.getLoopbackAddress(), port);
        socket.setTcpNoDelay(true);
        Http2Frames connection = new Http2Frames(socket);
        connection.out.write(PREFACE);
        connection.send(SETTINGS, 0, 0, new byte[0]);
        return connection;
    }

    public void send(int type, int flags, int stream, byte[] payload) throws IOException {
        byte[] head = {
            (byte) (payload.length >>> 16),
            (byte) (payload.length >>> 8),
            (byte) payload.length,
            (byte) type,
            (byte) flags,
            (byte) (stream >>> 24),
            (byte) (stream >>> 16),
            (byte) (stream >>> 8),
            (byte) stream
        };
        out.write(head);
        out.write(payload);
    }

    /** A request's HEADERS frame: {@code :method GET}, {@code :scheme http}, the path and authority, then more. */
    public void request(int stream, boolean endStream, String path, String... moreNamesAndValues) throws IOException {
        send(
                HEADERS,
                END_HEADERS | (endStream ? END_STREAM : 0),
                stream,
                requestBlock("GET", path, moreNamesAndValues));
    }

    public static byte[] requestBlock(String method, String path, String... moreNamesAndValues) {
        ByteArrayOutputStream block = new ByteArrayOutputStream();
        literal(block, ":method", method);
        literal(block, ":scheme", "http");
        literal(block, ":path", path);
        literal(block, ":authority", "localhost");
        for (int i = 0; i < moreNamesAndValues.length; i += 2) {
            literal(block, moreNamesAndValues[i], moreNamesAndValues[i + 1]);
        }
        return block.toByteArray();
    }

    /** A literal header field without indexing, new name (RFC 7541 section 6.2.2), no Huffman. */
    public static void literal(ByteArrayOutputStream block, String name, String value) {
        block.write(0x00);
        string(block, name);
        string(block, value);
    }

    /** A literal header field with incremental indexing, new name: it enters the dynamic table (section 6.2.1). */
    public static void indexedLiteral(ByteArrayOutputStream block, String name, String value) {
        block.write(0x40);
        string(block, name);
        string(block, value);
    }

    /** An indexed header field (section 6.1): index 62 is the newest dynamic table entry. */
    public static void indexed(ByteArrayOutputStream block, int index) {
        integer(block, 0x80, 7, index);
    }

    private static void string(ByteArrayOutputStream block, String s) {
        byte[] bytes = s.getBytes(StandardCharsets.ISO_8859_1);
        integer(block, 0x00, 7, bytes.length);
        block.writeBytes(bytes);
    }

    private static void integer(ByteArrayOutputStream block, int firstBits, int prefix, int value) {
        int max = (1 << prefix) - 1;
        if (value < max) {
            block.write(firstBits | value);
            return;
        }
        block.write(firstBits | max);
        value -= max;
        while (value >= 128) {
            block.write((value & 0x7f) | 0x80);
            value >>>= 7;
        }
        block.write(value);
    }

    public static byte[] errorPayload(int code) {
        return new byte[] {(byte) (code >>> 24), (byte) (code >>> 16), (byte) (code >>> 8), (byte) code};
    }

    /** The next frame within {@code timeout}, or null when none came (or the connection closed: see closed()). */
    public Frame read(Duration timeout) throws IOException {
        if (closed) {
            return null;
        }
        socket.setSoTimeout((int) Math.max(1, timeout.toMillis()));
        try {
            byte[] head = in.readNBytes(9);
            if (head.length < 9) {
                closed = true;
                return null;
            }
            int length = ((head[0] & 0xff) << 16) | ((head[1] & 0xff) << 8) | (head[2] & 0xff);
            int stream =
                    ((head[5] & 0x7f) << 24) | ((head[6] & 0xff) << 16) | ((head[7] & 0xff) << 8) | (head[8] & 0xff);
            byte[] payload = in.readNBytes(length);
            if (payload.length < length) {
                closed = true;
                return null;
            }
            return new Frame(head[3] & 0xff, head[4] & 0xff, stream, payload);
        } catch (SocketTimeoutException e) {
            return null;
        } catch (EOFException | SocketException e) {
            closed = true;
            return null;
        }
    }

    /** Reads frames until one of {@code type} on {@code stream} (any stream when negative) comes, or the deadline. */
    public Frame await(int type, int stream, Duration within) throws IOException {
        for (var it = unclaimed.iterator(); it.hasNext(); ) {
            Frame frame = it.next();
            if (frame.type() == type && (stream < 0 || frame.stream() == stream)) {
                it.remove();
                return frame;
            }
        }
        Instant deadline = Instant.now().plus(within);
        while (Instant.now().isBefore(deadline) && !closed) {
            Frame frame = read(Duration.between(Instant.now(), deadline));
            if (frame == null) {
                continue;
            }
            if (frame.type() == type && (stream < 0 || frame.stream() == stream)) {
                return frame;
            }
            unclaimed.add(frame);
        }
        return null;
    }

    /** Reads (and drops) frames until the server closes the connection, or the deadline: whether it closed. */
    public boolean closedWithin(Duration within) throws IOException {
        Instant deadline = Instant.now().plus(within);
        while (Instant.now().isBefore(deadline) && !closed) {
            read(Duration.between(Instant.now(), deadline));
        }
        return closed;
    }

    public boolean closed() {
        return closed;
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
