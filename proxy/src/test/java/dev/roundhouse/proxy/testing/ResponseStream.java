package dev.roundhouse.proxy.testing;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * One request on a fresh client connection, with its answer read a piece at a time, so that a test can act
 * (reset a backend, signal a process) while a response body is half way through, then see exactly how the body
 * ended: complete as framed, or cut by a close or a reset. Content-Length and chunked bodies are decoded; every
 * read is bounded by the read timeout.
 */
public final class ResponseStream implements AutoCloseable {

    /** How the body ended, as far as the client can tell. */
    public enum End {
        /** As framed: Content-Length bytes, or the last (zero) chunk. */
        COMPLETE,
        /** The connection closed (FIN) before the framing said the body was complete. */
        CLOSED,
        /** The connection was reset before the framing said the body was complete. */
        RESET,
        /** Nothing more arrived within the read timeout. */
        TIMED_OUT,
        /** Still reading. */
        OPEN
    }

    private final Socket socket;
    private final InputStream in;
    private final ByteArrayOutputStream body = new ByteArrayOutputStream();
    private final Map<String, String> headers = new LinkedHashMap<>();
    private int status = -1;
    private long contentLength = -1;
    private boolean chunked;
    private long chunkLeft; // bytes left in the current chunk; -1 before a chunk-size line
    private End end = End.OPEN;

    private ResponseStream(Socket socket) throws IOException {
        this.socket = socket;
        this.in = new BufferedInputStream(socket.getInputStream());
    }

    /**
     * Connects to 127.0.0.1:port, sends {@code GET path} and reads the status line and headers. When the
     * connection ends before them, {@link #status()} is -1 and {@link #end()} says how.
     */
    public static ResponseStream get(int port, String path, Duration readTimeout) {
        return send(port, "GET " + path + " HTTP/1.1\r\nHost: localhost\r\n\r\n", readTimeout);
    }

    public static ResponseStream send(int port, String request, Duration readTimeout) {
        Socket socket = new Socket();
        try {
            socket.connect(new InetSocketAddress("127.0.0.1", port), (int) readTimeout.toMillis());
            socket.setSoTimeout((int) readTimeout.toMillis());
            socket.setTcpNoDelay(true);
            ResponseStream stream = new ResponseStream(socket);
            socket.getOutputStream().write(request.getBytes(StandardCharsets.ISO_8859_1));
            socket.getOutputStream().flush();
            stream.readHead();
            return stream;
        } catch (IOException e) {
            try {
                socket.close();
            } catch (IOException ignored) {
                // nothing more to do
            }
            throw new UncheckedIOException("cannot send to 127.0.0.1:" + port, e);
        }
    }

    private void readHead() throws IOException {
        try {
            String statusLine = line();
            while (statusLine != null && statusLine.matches("HTTP/1\\.[01] 1\\d\\d.*")) {
                for (String l = line(); l != null && !l.isEmpty(); l = line()) {
                    // interim answer headers dropped
                }
                statusLine = line();
            }
            if (statusLine == null) {
                end = End.CLOSED;
                return;
            }
            for (String l = line(); ; l = line()) {
                if (l == null) {
                    end = End.CLOSED;
                    return;
                }
                if (l.isEmpty()) {
                    break;
                }
                int colon = l.indexOf(':');
                headers.merge(
                        l.substring(0, colon).trim().toLowerCase(Locale.ROOT),
                        l.substring(colon + 1).trim(),
                        (a, b) -> a + "," + b);
            }
            status = Integer.parseInt(statusLine.split(" ", 3)[1]);
            chunked = headers.getOrDefault("transfer-encoding", "")
                    .toLowerCase(Locale.ROOT)
                    .contains("chunked");
            contentLength = headers.containsKey("content-length") ? Long.parseLong(headers.get("content-length")) : -1;
            chunkLeft = -1;
            if (!chunked && contentLength == 0) {
                end = End.COMPLETE;
            }
        } catch (SocketTimeoutException e) {
            end = End.TIMED_OUT;
        } catch (SocketException e) {
            end = End.RESET;
        }
    }

    public int status() {
        return status;
    }

    /** A header's value (name case-insensitive; repeated headers joined with ","), or null. */
    public String header(String name) {
        return headers.get(name.toLowerCase(Locale.ROOT));
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

    private void step() {
        try {
            if (chunked) {
                stepChunked();
            } else {
                long want = contentLength < 0 ? 8192 : Math.min(8192, contentLength - body.size());
                byte[] buffer = new byte[(int) want];
                int n = in.read(buffer);
                if (n == -1) {
                    end = contentLength < 0 ? End.COMPLETE : End.CLOSED; // no framing: the close ends the body
                    return;
                }
                body.write(buffer, 0, n);
                if (contentLength >= 0 && body.size() == contentLength) {
                    end = End.COMPLETE;
                }
            }
        } catch (SocketTimeoutException e) {
            end = End.TIMED_OUT;
        } catch (SocketException e) {
            end = End.RESET;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private void stepChunked() throws IOException {
        if (chunkLeft < 0) {
            String size = line();
            if (size == null) {
                end = End.CLOSED;
                return;
            }
            chunkLeft = Long.parseLong(size.split(";", 2)[0].trim(), 16);
            if (chunkLeft == 0) {
                for (String trailer = line(); ; trailer = line()) {
                    if (trailer == null) {
                        end = End.CLOSED; // cut inside the last chunk's trailer section
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
            end = End.CLOSED;
            return;
        }
        body.write(buffer, 0, n);
        chunkLeft -= n;
        if (chunkLeft == 0) {
            String crlf = line();
            if (crlf == null) {
                end = End.CLOSED;
                return;
            }
            chunkLeft = -1;
        }
    }

    /** A line without its CRLF; null at end of stream. */
    private String line() throws IOException {
        StringBuilder line = new StringBuilder();
        for (int b; (b = in.read()) != -1; ) {
            if (b == '\n') {
                int end = line.length();
                return end > 0 && line.charAt(end - 1) == '\r' ? line.substring(0, end - 1) : line.toString();
            }
            line.append((char) b);
            if (line.length() > 65536) {
                throw new IOException("answer line too long");
            }
        }
        return null;
    }

    @Override
    public void close() {
        try {
            socket.close();
        } catch (IOException ignored) {
            // closing a test socket
        }
    }

    @Override
    public String toString() {
        return "ResponseStream[status=" + status + ", headers=" + headers + ", body bytes=" + body.size() + ", end="
                + end + "]";
    }
}
