package dev.roundhouse.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * The one reader of HTTP/1.1 answers in the tests. It reads an answer's head (interim 1xx answers kept apart), then
 * its body a piece at a time, so that a test can act (reset a backend, signal a process) while a body is half way
 * through, then see exactly how it ended: complete as framed, or cut by a close, a reset or silence. Content-Length,
 * chunked and close-delimited bodies are decoded; nothing is thrown for a connection that ends or is reset, and every
 * read is bounded by the socket's read timeout. {@link RawHttp#readResponse} reads whole answers with it.
 */
public final class ResponseStream implements AutoCloseable {

    /** How the body ended, as far as the client can tell. */
    public enum End {
        /** As framed: Content-Length bytes, the last (zero) chunk, or the close that delimits an unframed body. */
        COMPLETE,
        /** The connection closed (FIN) before the framing said the answer was complete. */
        CLOSED,
        /** The connection was reset before the framing said the answer was complete. */
        RESET,
        /** Nothing more arrived within the read timeout. */
        TIMED_OUT,
        /** Still reading. */
        OPEN
    }

    static final int MAX_HEADER_BYTES = 256 * 1024;
    private static final int MAX_INTERIM = 10;
    private static final Pattern INTERIM = Pattern.compile("HTTP/1\\.[01] 1\\d\\d.*");

    private final InputStream in;
    private final AutoCloseable connection;
    private final long maxBodyBytes;
    private final ByteArrayOutputStream body = new ByteArrayOutputStream();
    private final Map<String, List<String>> headers = new LinkedHashMap<>();
    private final List<RawHttp.Interim> interim = new ArrayList<>();
    private String statusLine;
    private int status = -1;
    private long contentLength = -1;
    private boolean chunked;
    private long chunkLeft = -1; // bytes left in the current chunk; -1 before a chunk-size line
    private int chunks;
    private boolean peerEnded; // the peer closed or reset the connection
    private End end = End.OPEN;

    private ResponseStream(InputStream in, AutoCloseable connection, long maxBodyBytes) {
        this.in = in;
        this.connection = connection;
        this.maxBodyBytes = maxBodyBytes;
    }

    /**
     * Reads an answer's head from {@code in}; {@code connection} is closed by {@link #close()} (null: nothing is).
     *
     * @param toHead the answer to a HEAD request: no body follows, whatever the headers say
     * @param maxBodyBytes a body beyond this makes the test fail ({@link IllegalStateException}) rather than fill
     *     the heap
     */
    static ResponseStream read(InputStream in, AutoCloseable connection, boolean toHead, long maxBodyBytes) {
        ResponseStream stream = new ResponseStream(in, connection, maxBodyBytes);
        stream.readHead(toHead);
        return stream;
    }

    /**
     * Connects to 127.0.0.1:port, sends {@code GET path} and reads the status line and headers. When the
     * connection ends before them, {@link #status()} is -1 and {@link #end()} says how.
     */
    public static ResponseStream get(int port, String path, Duration readTimeout) {
        return send(port, "GET " + path + " HTTP/1.1\r\nHost: localhost\r\n\r\n", readTimeout);
    }

    public static ResponseStream send(int port, String request, Duration readTimeout) {
        RawHttp connection = RawHttp.connect(port).readTimeout(readTimeout);
        connection.send(request);
        return connection.streamResponse(Long.MAX_VALUE);
    }

    private void readHead(boolean toHead) {
        reading(() -> head(toHead));
    }

    private void head(boolean toHead) throws IOException {
        String line = RawHttp.readLine(in);
        while (line != null && INTERIM.matcher(line).matches() && interim.size() < MAX_INTERIM) {
            Map<String, List<String>> interimHeaders = new LinkedHashMap<>();
            if (!readHeaders(interimHeaders)) {
                ended(End.CLOSED);
                return;
            }
            interim.add(new RawHttp.Interim(parseStatus(line), interimHeaders));
            line = RawHttp.readLine(in);
        }
        if (line == null) {
            ended(End.CLOSED);
            return;
        }
        statusLine = line;
        int parsed = parseStatus(line);
        if (!readHeaders(headers)) {
            ended(End.CLOSED);
            return;
        }
        status = parsed;
        chunked = header("transfer-encoding") != null
                && header("transfer-encoding").toLowerCase(Locale.ROOT).contains("chunked");
        String length = header("content-length");
        contentLength = length == null ? -1 : Long.parseLong(length.split(",")[0].trim());
        if (contentLength > maxBodyBytes) {
            throw new IllegalStateException("answer body too large for a test: " + contentLength);
        }
        if (toHead || status == 204 || status == 304 || (!chunked && contentLength == 0)) {
            end = End.COMPLETE;
        }
    }

    /** Runs a read; a connection that goes silent or is reset ends the answer that way, nothing is thrown. */
    private void reading(Read step) {
        try {
            step.run();
        } catch (SocketTimeoutException e) {
            end = End.TIMED_OUT;
        } catch (SocketException e) {
            ended(End.RESET);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private interface Read {
        void run() throws IOException;
    }

    /** Header lines up to the blank line; false when the connection ends first. */
    private boolean readHeaders(Map<String, List<String>> into) throws IOException {
        int bytes = 0;
        for (String line = RawHttp.readLine(in); ; line = RawHttp.readLine(in)) {
            if (line == null) {
                return false;
            }
            if (line.isEmpty()) {
                return true;
            }
            bytes += line.length();
            if (bytes > MAX_HEADER_BYTES) {
                throw new IllegalStateException("answer headers larger than " + MAX_HEADER_BYTES + " bytes");
            }
            int colon = line.indexOf(':');
            into.computeIfAbsent(
                            (colon < 0 ? line : line.substring(0, colon)).trim().toLowerCase(Locale.ROOT),
                            k -> new ArrayList<>())
                    .add(colon < 0 ? "" : line.substring(colon + 1).trim());
        }
    }

    private static int parseStatus(String statusLine) {
        String[] parts = statusLine.split(" ", 3);
        if (parts.length < 2 || !parts[0].startsWith("HTTP/")) {
            throw new IllegalStateException("not an HTTP status line: '" + statusLine + "'");
        }
        return Integer.parseInt(parts[1]);
    }

    /** -1 when the connection ended (or went silent) before a complete status line and headers. */
    public int status() {
        return status;
    }

    /** A header's value (name case-insensitive; repeated headers joined with ","), or null. */
    public String header(String name) {
        List<String> values = headers.get(name.toLowerCase(Locale.ROOT));
        return values == null ? null : String.join(",", values);
    }

    public boolean chunked() {
        return chunked;
    }

    /** The Content-Length announced, or -1. */
    public long contentLength() {
        return contentLength;
    }

    /** The body bytes decoded so far. */
    public byte[] body() {
        return body.toByteArray();
    }

    public long bodyLength() {
        return body.size();
    }

    public End end() {
        return end;
    }

    /** Reads until at least {@code bytes} body bytes arrived in all, or the body ended; returns {@link #end()}. */
    public End readAtLeast(long bytes) {
        while (end == End.OPEN && body.size() < bytes) {
            step();
        }
        return end;
    }

    /** Reads to the end of the body (or of the connection); returns how it ended. */
    public End readToEnd() {
        while (end == End.OPEN) {
            step();
        }
        return end;
    }

    /** The whole answer, once read: closed when the peer closed or reset the connection while it was read. */
    RawHttp.Response toResponse() {
        return new RawHttp.Response(
                status,
                status < 0 && end == End.TIMED_OUT ? null : statusLine,
                headers,
                body.toByteArray(),
                peerEnded,
                end == End.TIMED_OUT,
                List.copyOf(interim));
    }

    private void ended(End how) {
        peerEnded = true;
        end = how;
    }

    private void step() {
        reading(chunked ? this::stepChunked : this::stepFramed);
    }

    private void stepFramed() throws IOException {
        long want = contentLength < 0 ? 8192 : Math.min(8192, contentLength - body.size());
        byte[] buffer = new byte[(int) want];
        int n = in.read(buffer);
        if (n == -1) {
            ended(contentLength < 0 ? End.COMPLETE : End.CLOSED); // no framing: the close ends the body
            return;
        }
        append(buffer, n);
        if (contentLength >= 0 && body.size() == contentLength) {
            end = End.COMPLETE;
        }
    }

    private void stepChunked() throws IOException {
        if (chunkLeft < 0) {
            String size = RawHttp.readLine(in);
            if (size == null) {
                ended(End.CLOSED);
                return;
            }
            chunkLeft = Long.parseLong(size.split(";", 2)[0].trim(), 16);
            if (++chunks > 100_000) {
                throw new IllegalStateException("more chunks than a test sends");
            }
            if (chunkLeft == 0) {
                for (String trailer = RawHttp.readLine(in); ; trailer = RawHttp.readLine(in)) {
                    if (trailer == null) {
                        ended(End.CLOSED); // cut inside the last chunk's trailer section
                        return;
                    }
                    if (trailer.isEmpty()) {
                        end = End.COMPLETE;
                        return;
                    }
                }
            }
            return;
        }
        byte[] buffer = new byte[(int) Math.min(8192, chunkLeft)];
        int n = in.read(buffer);
        if (n == -1) {
            ended(End.CLOSED);
            return;
        }
        append(buffer, n);
        chunkLeft -= n;
        if (chunkLeft == 0) {
            if (RawHttp.readLine(in) == null) {
                ended(End.CLOSED);
                return;
            }
            chunkLeft = -1;
        }
    }

    private void append(byte[] buffer, int n) {
        body.write(buffer, 0, n);
        if (body.size() > maxBodyBytes) {
            throw new IllegalStateException("answer body too large for a test");
        }
    }

    @Override
    public void close() {
        if (connection != null) {
            try {
                connection.close();
            } catch (Exception ignored) {
                // closing a test connection
            }
        }
    }

    @Override
    public String toString() {
        return "ResponseStream[status=" + status + ", headers=" + headers + ", body bytes=" + body.size() + ", end="
                + end + "]";
    }
}
