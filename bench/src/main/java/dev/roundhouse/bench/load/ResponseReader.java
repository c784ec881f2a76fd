package dev.roundhouse.bench.load;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;

/**
 * Reads HTTP/1.1 responses off a keep-alive connection with no allocation per response: status code, the framing
 * headers ({@code Content-Length}, {@code Transfer-Encoding: chunked}, {@code Connection: close}) and the value of
 * one chosen header (which backend answered) as an id from a {@link BackendIds} table. The body is read and dropped.
 * Leftover bytes stay buffered for the next response. The one response reader of the benchmarks: the load runs read
 * with it at full speed, the soak at its paced rate.
 */
public final class ResponseReader {

    private static final byte[] CONTENT_LENGTH = "content-length".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] TRANSFER_ENCODING = "transfer-encoding".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] CONNECTION = "connection".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] CHUNKED = "chunked".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] CLOSE = "close".getBytes(StandardCharsets.US_ASCII);

    /** What one response said. */
    public static final class Response {
        int status;
        boolean close;
        /** {@link BackendIds} id of the backend header's value, 0 when absent. */
        int backend;
        /** Bytes of this response received so far (0 when the connection ended before the first byte). */
        long bytes;

        public int status() {
            return status;
        }

        /** The server closes the connection after this response (or it was delimited by the close). */
        public boolean close() {
            return close;
        }

        void reset() {
            status = 0;
            close = false;
            backend = 0;
            bytes = 0;
        }
    }

    private final byte[] buf;
    private final byte[] backendHeader;
    private final BackendIds backendIds;
    private InputStream in;
    private int start;
    private int end;

    /**
     * @param backendHeader lower-case name of the header that names the backend, or null
     * @param backendIds where its values get their ids; null without a backend header
     */
    public ResponseReader(int bufferSize, String backendHeader, BackendIds backendIds) {
        this.buf = new byte[bufferSize];
        this.backendHeader = backendHeader == null
                ? null
                : backendHeader.toLowerCase(java.util.Locale.ROOT).getBytes(StandardCharsets.US_ASCII);
        this.backendIds = backendIds;
    }

    /** Starts reading a new connection's stream; drops anything buffered from the last one. */
    public void reset(InputStream stream) {
        this.in = stream;
        start = 0;
        end = 0;
    }

    /** Reads one whole response into {@code r} (reset first). */
    public void read(Response r) throws IOException {
        r.reset();
        long contentLength = -1;
        boolean chunked = false;
        // status line
        int lineEnd = lineEnd(r);
        r.status = parseStatus(start, lineEnd);
        boolean http10 = buf[start + 7] == '0'; // "HTTP/1.0"
        r.close = http10;
        start = lineEnd + 2;
        // header fields
        while (true) {
            lineEnd = lineEnd(r);
            if (lineEnd == start) {
                start += 2;
                break;
            }
            int colon = indexOf((byte) ':', start, lineEnd);
            if (colon < 0) {
                throw new IOException("malformed header line");
            }
            int valueStart = colon + 1;
            while (valueStart < lineEnd && (buf[valueStart] == ' ' || buf[valueStart] == '\t')) {
                valueStart++;
            }
            int valueEnd = lineEnd;
            while (valueEnd > valueStart && (buf[valueEnd - 1] == ' ' || buf[valueEnd - 1] == '\t')) {
                valueEnd--;
            }
            if (nameIs(CONTENT_LENGTH, start, colon)) {
                contentLength = parseLong(valueStart, valueEnd);
            } else if (nameIs(TRANSFER_ENCODING, start, colon)) {
                chunked = containsIgnoreCase(CHUNKED, valueStart, valueEnd);
            } else if (nameIs(CONNECTION, start, colon)) {
                if (containsIgnoreCase(CLOSE, valueStart, valueEnd)) {
                    r.close = true;
                }
            } else if (backendHeader != null && nameIs(backendHeader, start, colon)) {
                r.backend = backendIds.id(buf, valueStart, valueEnd - valueStart);
            }
            start = lineEnd + 2;
        }
        // body
        if (r.status / 100 == 1 || r.status == 204 || r.status == 304) {
            return; // no body (a 1xx would be followed by the real response; we never send Expect)
        }
        if (chunked) {
            readChunked(r);
        } else if (contentLength >= 0) {
            skip(contentLength, r);
        } else {
            // delimited by the end of the connection
            r.close = true;
            while (fill(r) > 0) {
                start = end;
            }
        }
    }

    private void readChunked(Response r) throws IOException {
        while (true) {
            int lineEnd = lineEnd(r);
            long size = 0;
            int i = start;
            for (; i < lineEnd; i++) {
                int d = Character.digit(buf[i], 16);
                if (d < 0) {
                    break; // chunk extensions
                }
                size = size * 16 + d;
            }
            if (i == start) {
                throw new IOException("malformed chunk size");
            }
            start = lineEnd + 2;
            if (size == 0) {
                // trailers until an empty line
                while (true) {
                    lineEnd = lineEnd(r);
                    boolean empty = lineEnd == start;
                    start = lineEnd + 2;
                    if (empty) {
                        return;
                    }
                }
            }
            skip(size, r);
            lineEnd = lineEnd(r);
            if (lineEnd != start) {
                throw new IOException("chunk not followed by CRLF");
            }
            start += 2;
        }
    }

    private void skip(long n, Response r) throws IOException {
        while (n > 0) {
            if (start == end && fill(r) < 0) {
                throw new EOFException("connection closed in the body");
            }
            int take = (int) Math.min(n, end - start);
            start += take;
            n -= take;
        }
    }

    /** Index of the CR of the next CRLF at or after {@code start}, reading more as needed. */
    private int lineEnd(Response r) throws IOException {
        int scanned = 0; // bytes after start known to hold no CRLF start
        while (true) {
            for (int i = start + scanned; i + 1 < end; i++) {
                if (buf[i] == '\r' && buf[i + 1] == '\n') {
                    return i;
                }
            }
            scanned = Math.max(0, end - 1 - start);
            if (fill(r) < 0) {
                throw new EOFException(
                        r.bytes == 0 ? "connection closed before the response" : "connection closed in the headers");
            }
        }
    }

    /** Reads more bytes after {@code end}, compacting first; -1 at the end of the stream. */
    private int fill(Response r) throws IOException {
        if (start > 0) {
            System.arraycopy(buf, start, buf, 0, end - start);
            end -= start;
            start = 0;
        }
        if (end == buf.length) {
            throw new IOException("response header line longer than " + buf.length + " bytes");
        }
        int n = in.read(buf, end, buf.length - end);
        if (n > 0) {
            end += n;
            r.bytes += n;
        }
        return n;
    }

    private int parseStatus(int from, int to) throws IOException {
        // "HTTP/1.1 200 OK"
        if (to - from < 12 || buf[from] != 'H' || buf[from + 4] != '/' || buf[from + 8] != ' ') {
            throw new IOException("malformed status line");
        }
        int code = 0;
        for (int i = from + 9; i < from + 12; i++) {
            int d = buf[i] - '0';
            if (d < 0 || d > 9) {
                throw new IOException("malformed status code");
            }
            code = code * 10 + d;
        }
        return code;
    }

    private long parseLong(int from, int to) throws IOException {
        if (from == to) {
            throw new IOException("empty Content-Length");
        }
        long v = 0;
        for (int i = from; i < to; i++) {
            int d = buf[i] - '0';
            if (d < 0 || d > 9) {
                throw new IOException("malformed Content-Length");
            }
            v = v * 10 + d;
        }
        return v;
    }

    private int indexOf(byte b, int from, int to) {
        for (int i = from; i < to; i++) {
            if (buf[i] == b) {
                return i;
            }
        }
        return -1;
    }

    private boolean nameIs(byte[] lowerName, int from, int to) {
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

    private boolean containsIgnoreCase(byte[] lowerToken, int from, int to) {
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
}
