package dev.roundhouse.testing;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * The one reader of HTTP/1.1 responses in the benchmarks and the tests: a connection's buffer and a parser over it,
 * with no allocation per response. A head's status line and fields go to a {@link Fields} sink as places in the
 * buffer (the load generator picks one field out of them, the tests keep them all); the reader itself learns the
 * framing (Content-Length, chunked, Connection: close, HTTP/1.0). Then the body comes a piece at a time, decoded,
 * copied or skipped. Bytes after a response stay buffered for the next one, and {@link #stream()} reads the same
 * buffer raw, so nothing read ahead is lost between the two.
 *
 * <p>It is lenient where a client may be (a bare LF ends a line, a Content-Length list takes its first value) and
 * strict where framing is at stake (a status line that is not {@code HTTP/x.y NNN}, a field without a colon, a chunk
 * size that is not hex or a chunk not followed by its line end are {@link IOException}s). The end of the stream
 * before the framing says a response is complete is an {@link EOFException}; failures of the stream itself (reset,
 * read timeout) pass through as the stream threw them.
 */
public final class ResponseReader {

    /** Where a head's parts go, as ranges of the buffer valid only during the call. */
    public interface Fields {
        /** The status line, without its line end. */
        default void statusLine(byte[] buf, int from, int to) {}

        /** One field: name (as sent) and value (without the whitespace around it). */
        void field(byte[] buf, int nameFrom, int nameTo, int valueFrom, int valueTo);

        Fields NONE = (buf, nameFrom, nameTo, valueFrom, valueTo) -> {};
    }

    private static final byte[] CONTENT_LENGTH = ascii("content-length");
    private static final byte[] TRANSFER_ENCODING = ascii("transfer-encoding");
    private static final byte[] CONNECTION = ascii("connection");
    private static final byte[] CHUNKED = ascii("chunked");
    private static final byte[] CLOSE = ascii("close");

    /** Where the body is: what {@link #readBody} does next. */
    private enum Body {
        NONE,
        LENGTH,
        CHUNK_SIZE,
        CHUNK_DATA,
        CHUNK_END,
        TO_CLOSE
    }

    private final int maxHeadBytes;
    private byte[] buf;
    private InputStream in;
    private int start;
    private int end;

    private long received;
    private long contentLength;
    private boolean chunked;
    private boolean close;
    private Body body = Body.NONE;
    /** Bytes left of a Content-Length body or of the current chunk. */
    private long left;

    /**
     * @param bufferSize the buffer's first size; it grows, up to {@code maxHeadBytes}, for a line that does not fit
     * @param maxHeadBytes the largest head (status line and fields) taken; beyond it, an {@link IOException}
     */
    public ResponseReader(int bufferSize, int maxHeadBytes) {
        if (bufferSize < 16 || maxHeadBytes < bufferSize) {
            throw new IllegalArgumentException("buffer " + bufferSize + ", head limit " + maxHeadBytes);
        }
        this.buf = new byte[bufferSize];
        this.maxHeadBytes = maxHeadBytes;
    }

    /** Starts reading a new connection's stream; drops anything buffered from the last one. */
    public void reset(InputStream stream) {
        in = stream;
        start = 0;
        end = 0;
        body = Body.NONE;
    }

    /**
     * Reads one response head and what its framing says: its fields go to {@code fields}; returns the status code.
     * An interim (1xx) head is returned like any other, with no body; the final head follows it.
     *
     * @param toHead the answer to a HEAD request: no body follows, whatever the fields say
     */
    public int readHead(Fields fields, boolean toHead) throws IOException {
        received = end - start;
        contentLength = -1;
        chunked = false;
        int headBytes = 0;
        int lineEnd = lineEnd(0);
        int status = parseStatus(start, lineEnd);
        close = buf[start + 7] == '0'; // "HTTP/1.0": the connection ends after this response
        fields.statusLine(buf, start, trimCr(start, lineEnd));
        headBytes += lineEnd + 1 - start;
        start = lineEnd + 1;
        while (true) {
            lineEnd = lineEnd(headBytes);
            int to = trimCr(start, lineEnd);
            if (to == start) {
                start = lineEnd + 1;
                break;
            }
            headBytes += lineEnd + 1 - start;
            field(fields, start, to);
            start = lineEnd + 1;
        }
        if (status / 100 == 1 || status == 204 || status == 304 || toHead) {
            body = Body.NONE;
        } else if (chunked) {
            body = Body.CHUNK_SIZE;
        } else if (contentLength >= 0) {
            body = contentLength == 0 ? Body.NONE : Body.LENGTH;
            left = contentLength;
        } else {
            body = Body.TO_CLOSE;
            close = true;
        }
        return status;
    }

    /** Reads heads until a final one, skipping interim (1xx) ones, then skips its body; returns its status. */
    public int readResponse(Fields fields) throws IOException {
        long interimBytes = 0;
        int status = readHead(fields, false);
        while (status / 100 == 1) {
            interimBytes += received;
            status = readHead(fields, false);
        }
        received += interimBytes;
        skipBody();
        return status;
    }

    /** The last head's Content-Length, or -1. */
    public long contentLength() {
        return contentLength;
    }

    public boolean chunked() {
        return chunked;
    }

    /** The server ends the connection after this response (it said so, spoke HTTP/1.0, or delimits by the close). */
    public boolean close() {
        return close;
    }

    /** The body of the last head was read whole (or it has none). */
    public boolean bodyDone() {
        return body == Body.NONE;
    }

    /**
     * Bytes of the current response that arrived (buffered when its head began, and read since): 0 when the
     * connection ended before its first byte, which is what a kept-alive connection the server closed gives.
     */
    public long received() {
        return received;
    }

    /**
     * Decodes up to {@code len} body bytes into {@code dst} (null: skips them); returns how many, or -1 once the
     * body is complete. Reads the stream at most once when nothing is buffered.
     */
    public int readBody(byte[] dst, int off, int len) throws IOException {
        while (true) {
            switch (body) {
                case NONE:
                    return -1;
                case LENGTH:
                case CHUNK_DATA: {
                    if (start == end && fill() < 0) {
                        throw new EOFException("connection closed in the body");
                    }
                    int n = (int) Math.min(Math.min(left, end - start), len);
                    copy(dst, off, n);
                    left -= n;
                    if (left == 0) {
                        body = body == Body.LENGTH ? Body.NONE : Body.CHUNK_END;
                    }
                    return n;
                }
                case TO_CLOSE: {
                    if (start == end && fill() < 0) {
                        body = Body.NONE; // the close delimits the body
                        return -1;
                    }
                    int n = Math.min(end - start, len);
                    copy(dst, off, n);
                    return n;
                }
                case CHUNK_END: {
                    int lineEnd = lineEnd(0);
                    if (trimCr(start, lineEnd) != start) {
                        throw new IOException("chunk not followed by its line end");
                    }
                    start = lineEnd + 1;
                    body = Body.CHUNK_SIZE;
                    break;
                }
                case CHUNK_SIZE:
                    chunkSize();
                    break;
                default:
                    throw new IllegalStateException(body.name());
            }
        }
    }

    /** Reads the rest of the body and drops it. */
    public void skipBody() throws IOException {
        while (readBody(null, 0, Integer.MAX_VALUE) >= 0) {
            // dropped
        }
    }

    /**
     * The connection's bytes from where the parser stands, raw: what it has buffered first, then the stream. For
     * reading something that is not a response, or a response a byte at a time, without losing what was read ahead.
     */
    public InputStream stream() {
        return new InputStream() {
            @Override
            public int read() throws IOException {
                if (start == end && fill() < 0) {
                    return -1;
                }
                return buf[start++] & 0xFF;
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                if (len == 0) {
                    return 0;
                }
                if (start == end) {
                    return in.read(b, off, len);
                }
                int n = Math.min(len, end - start);
                System.arraycopy(buf, start, b, off, n);
                start += n;
                return n;
            }
        };
    }

    private void chunkSize() throws IOException {
        int lineEnd = lineEnd(0);
        long size = 0;
        int i = start;
        for (; i < lineEnd; i++) {
            int digit = Character.digit(buf[i], 16);
            if (digit < 0) {
                break; // a chunk extension, or the line end
            }
            if (size > (Long.MAX_VALUE >> 4)) {
                throw new IOException("chunk size out of range");
            }
            size = size * 16 + digit;
        }
        if (i == start) {
            throw new IOException("malformed chunk size");
        }
        start = lineEnd + 1;
        if (size > 0) {
            left = size;
            body = Body.CHUNK_DATA;
            return;
        }
        // The last chunk: its trailer section, dropped, up to an empty line.
        for (int bytes = 0; ; ) {
            lineEnd = lineEnd(bytes);
            boolean empty = trimCr(start, lineEnd) == start;
            bytes += lineEnd + 1 - start;
            start = lineEnd + 1;
            if (empty) {
                body = Body.NONE;
                return;
            }
        }
    }

    private void copy(byte[] dst, int off, int n) {
        if (dst != null) {
            System.arraycopy(buf, start, dst, off, n);
        }
        start += n;
    }

    private void field(Fields fields, int from, int to) throws IOException {
        int colon = indexOf((byte) ':', from, to);
        if (colon <= from) {
            throw new IOException("malformed header line");
        }
        int valueFrom = colon + 1;
        while (valueFrom < to && (buf[valueFrom] == ' ' || buf[valueFrom] == '\t')) {
            valueFrom++;
        }
        int valueTo = to;
        while (valueTo > valueFrom && (buf[valueTo - 1] == ' ' || buf[valueTo - 1] == '\t')) {
            valueTo--;
        }
        if (nameIs(CONTENT_LENGTH, buf, from, colon)) {
            if (contentLength < 0) {
                contentLength = parseLength(valueFrom, valueTo);
            }
        } else if (nameIs(TRANSFER_ENCODING, buf, from, colon)) {
            chunked |= contains(CHUNKED, valueFrom, valueTo);
        } else if (nameIs(CONNECTION, buf, from, colon)) {
            close |= contains(CLOSE, valueFrom, valueTo);
        }
        fields.field(buf, from, colon, valueFrom, valueTo);
    }

    /**
     * Index of the LF that ends the line at {@code start}, reading more as needed; {@code headBytes} of the head
     * came before this line.
     */
    private int lineEnd(int headBytes) throws IOException {
        int known = 0; // bytes after start that hold no LF
        while (true) {
            for (int i = start + known; i < end; i++) {
                if (buf[i] == '\n') {
                    return i;
                }
            }
            known = end - start;
            if (headBytes + known >= maxHeadBytes) {
                throw new IOException("response head larger than " + maxHeadBytes + " bytes");
            }
            if (fill() < 0) {
                throw new EOFException(
                        received == 0 ? "connection closed before the response" : "connection closed in the head");
            }
        }
    }

    private int trimCr(int from, int lf) {
        return lf > from && buf[lf - 1] == '\r' ? lf - 1 : lf;
    }

    /** Reads more bytes after {@code end}, moving what is unread to the front (or growing) first; -1 at the end. */
    private int fill() throws IOException {
        if (start > 0) {
            System.arraycopy(buf, start, buf, 0, end - start);
            end -= start;
            start = 0;
        }
        if (end == buf.length) {
            buf = Arrays.copyOf(buf, Math.min(buf.length * 2, maxHeadBytes + 1));
        }
        int n = in.read(buf, end, buf.length - end);
        if (n > 0) {
            end += n;
            received += n;
        }
        return n;
    }

    private int parseStatus(int from, int lf) throws IOException {
        int to = trimCr(from, lf);
        // "HTTP/1.1 200" and an optional reason
        if (to - from < 12
                || buf[from] != 'H'
                || buf[from + 1] != 'T'
                || buf[from + 2] != 'T'
                || buf[from + 3] != 'P'
                || buf[from + 4] != '/'
                || buf[from + 8] != ' '
                || (to - from > 12 && buf[from + 12] != ' ')) {
            throw new IOException("not an HTTP status line: '"
                    + new String(buf, from, Math.min(to - from, 80), StandardCharsets.ISO_8859_1) + "'");
        }
        int code = 0;
        for (int i = from + 9; i < from + 12; i++) {
            int digit = buf[i] - '0';
            if (digit < 0 || digit > 9) {
                throw new IOException("malformed status code");
            }
            code = code * 10 + digit;
        }
        return code;
    }

    /** The first value of a Content-Length (a list of equal values is what a repeated field joins to). */
    private long parseLength(int from, int to) throws IOException {
        long value = 0;
        int i = from;
        for (; i < to && buf[i] != ','; i++) {
            int digit = buf[i] - '0';
            if (digit < 0 || digit > 9 || value > Long.MAX_VALUE / 10) {
                throw new IOException("malformed Content-Length");
            }
            value = value * 10 + digit;
        }
        if (i == from) {
            throw new IOException("empty Content-Length");
        }
        return value;
    }

    private int indexOf(byte b, int from, int to) {
        for (int i = from; i < to; i++) {
            if (buf[i] == b) {
                return i;
            }
        }
        return -1;
    }

    /** Whether the name in {@code buf} at {@code from..to} is {@code lowerName}, ignoring case. */
    public static boolean nameIs(byte[] lowerName, byte[] buf, int from, int to) {
        if (to - from != lowerName.length) {
            return false;
        }
        for (int i = 0; i < lowerName.length; i++) {
            if (lower(buf[from + i]) != lowerName[i]) {
                return false;
            }
        }
        return true;
    }

    private boolean contains(byte[] lowerToken, int from, int to) {
        outer:
        for (int i = from; i + lowerToken.length <= to; i++) {
            for (int j = 0; j < lowerToken.length; j++) {
                if (lower(buf[i + j]) != lowerToken[j]) {
                    continue outer;
                }
            }
            return true;
        }
        return false;
    }

    private static byte lower(byte b) {
        return b >= 'A' && b <= 'Z' ? (byte) (b + 32) : b;
    }

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }
}
