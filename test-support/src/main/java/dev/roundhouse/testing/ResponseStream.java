package dev.roundhouse.testing;

import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * One HTTP/1.1 answer as a test sees it, read by the connection's {@link ResponseReader}. It reads the answer's head
 * (interim 1xx answers kept apart, every field kept), then its body a piece at a time, so that a test can act (reset a backend, signal a process) while a body is half way
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
    /** Interim answers read before the final one: more than the proxy passes on (16), so a test sees its limit. */
    private static final int MAX_INTERIM = 32;

    private final ResponseReader reader;
    private final AutoCloseable connection;
    private final long maxBodyBytes;
    private final ByteArrayOutputStream body = new ByteArrayOutputStream();
    private final byte[] piece = new byte[8192];
    private Map<String, List<String>> headers = new LinkedHashMap<>();
    private final List<RawHttp.Interim> interim = new ArrayList<>();
    private String statusLine;
    private int status = -1;
    private boolean peerEnded; // the peer closed or reset the connection
    private End end = End.OPEN;

    private ResponseStream(ResponseReader reader, AutoCloseable connection, long maxBodyBytes) {
        this.reader = reader;
        this.connection = connection;
        this.maxBodyBytes = maxBodyBytes;
    }

    /**
     * Reads an answer's head with the connection's {@code reader}; {@code connection} is closed by {@link #close()}
     * (null: nothing is).
     *
     * @param toHead the answer to a HEAD request: no body follows, whatever the headers say
     * @param maxBodyBytes a body beyond this makes the test fail ({@link IllegalStateException}) rather than fill
     *     the heap
     */
    static ResponseStream read(ResponseReader reader, AutoCloseable connection, boolean toHead, long maxBodyBytes) {
        ResponseStream stream = new ResponseStream(reader, connection, maxBodyBytes);
        stream.reading(() -> stream.head(toHead));
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

    /** Keeps every field of a head, names in lower case, repeated ones in order. */
    private static final class FieldMap implements ResponseReader.Fields {
        final Map<String, List<String>> fields = new LinkedHashMap<>();
        String statusLine;

        @Override
        public void statusLine(byte[] buf, int from, int to) {
            statusLine = new String(buf, from, to - from, StandardCharsets.ISO_8859_1);
        }

        @Override
        public void field(byte[] buf, int nameFrom, int nameTo, int valueFrom, int valueTo) {
            fields.computeIfAbsent(
                            new String(buf, nameFrom, nameTo - nameFrom, StandardCharsets.ISO_8859_1)
                                    .toLowerCase(Locale.ROOT),
                            k -> new ArrayList<>())
                    .add(new String(buf, valueFrom, valueTo - valueFrom, StandardCharsets.ISO_8859_1));
        }
    }

    private void head(boolean toHead) throws IOException {
        FieldMap head = new FieldMap();
        int parsed = reader.readHead(head, toHead);
        while (parsed / 100 == 1 && interim.size() < MAX_INTERIM) {
            interim.add(new RawHttp.Interim(parsed, head.fields));
            head = new FieldMap();
            parsed = reader.readHead(head, toHead);
        }
        statusLine = head.statusLine;
        headers = head.fields;
        status = parsed;
        if (reader.contentLength() > maxBodyBytes) {
            throw new IllegalStateException("answer body too large for a test: " + reader.contentLength());
        }
        if (reader.bodyDone()) {
            end = End.COMPLETE;
        }
    }

    /**
     * Runs a read; a connection that ends, goes silent or is reset ends the answer that way, nothing is thrown. A
     * head cut short is no answer ({@link #status()} stays -1).
     */
    private void reading(Read step) {
        try {
            step.run();
        } catch (SocketTimeoutException e) {
            end = End.TIMED_OUT;
        } catch (SocketException e) {
            ended(End.RESET);
        } catch (EOFException e) {
            ended(End.CLOSED);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private interface Read {
        void run() throws IOException;
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
        return status > 0 && reader.chunked();
    }

    /** The Content-Length announced, or -1. */
    public long contentLength() {
        return status > 0 ? reader.contentLength() : -1;
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
        reading(() -> {
            int n = reader.readBody(piece, 0, piece.length);
            if (n < 0) {
                if (reader.close() && !reader.chunked() && reader.contentLength() < 0) {
                    peerEnded = true; // the close that delimits the body
                }
                end = End.COMPLETE;
                return;
            }
            body.write(piece, 0, n);
            if (body.size() > maxBodyBytes) {
                throw new IllegalStateException("answer body too large for a test");
            }
            if (reader.bodyDone()) {
                end = End.COMPLETE;
            }
        });
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
