package dev.roundhouse.testing;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
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
 * HTTP/1.1 over a plain socket, byte for byte, for requests no well-behaved client would send.
 * Reads answers leniently: a connection closed or reset by the peer is reported as {@link Response#closed},
 * never thrown. Every read is bounded by the socket timeout.
 */
public final class RawHttp implements AutoCloseable {

    public static final Duration READ_TIMEOUT = Duration.ofSeconds(5);
    private static final int MAX_BODY_BYTES = 4 * 1024 * 1024;

    /**
     * One answer. {@code status} is -1 when the connection ended (EOF or reset) before a complete
     * status line and headers arrived; {@code closed} is true when the peer closed or reset the
     * connection while this answer was read (or instead of it).
     */
    public record Response(
            int status,
            String statusLine,
            Map<String, List<String>> headers,
            byte[] body,
            boolean closed,
            boolean timedOut,
            List<Interim> interim) {

        public boolean answered() {
            return status > 0;
        }

        /** The values of a header (name case-insensitive), joined with ","; null when absent. */
        public String header(String name) {
            List<String> values = headers.get(name.toLowerCase(Locale.ROOT));
            return values == null ? null : String.join(",", values);
        }

        public String bodyText() {
            return new String(body, StandardCharsets.ISO_8859_1);
        }

        @Override
        public String toString() {
            String text = bodyText();
            return "Response[status=" + status + ", closed=" + closed + ", timedOut=" + timedOut
                    + ", headers=" + headers + ", body='"
                    + (text.length() > 200 ? text.substring(0, 200) + "..." : text)
                    + "']";
        }
    }

    /** An interim (1xx) answer that came before the final one: its status and headers (names in lower case). */
    public record Interim(int status, Map<String, List<String>> headers) {
        public String header(String name) {
            List<String> values = headers.get(name.toLowerCase(Locale.ROOT));
            return values == null ? null : String.join(",", values);
        }
    }

    private final Socket socket;
    /** The connection's buffer: answers are parsed in it, and {@link #in} reads it raw, so neither loses bytes. */
    private final ResponseReader reader = new ResponseReader(8192, ResponseStream.MAX_HEADER_BYTES);

    private final InputStream in;
    private final OutputStream out;
    private boolean writeFailed;

    private RawHttp(Socket socket) throws IOException {
        this.socket = socket;
        reader.reset(socket.getInputStream());
        this.in = reader.stream();
        this.out = socket.getOutputStream();
    }

    /** Connects to 127.0.0.1:port with a connect and read timeout of {@link #READ_TIMEOUT}. */
    public static RawHttp connect(int port) {
        Socket socket = new Socket();
        try {
            socket.connect(new InetSocketAddress("127.0.0.1", port), (int) READ_TIMEOUT.toMillis());
            socket.setSoTimeout((int) READ_TIMEOUT.toMillis());
            socket.setTcpNoDelay(true);
            return new RawHttp(socket);
        } catch (IOException e) {
            try {
                socket.close();
            } catch (IOException ignored) {
                // nothing more to do
            }
            throw new java.io.UncheckedIOException("cannot connect to 127.0.0.1:" + port, e);
        }
    }

    /** Sends one request on a fresh connection and reads one answer; the connection is closed after. */
    public static Response exchange(int port, String request) {
        return exchange(port, request.getBytes(StandardCharsets.ISO_8859_1));
    }

    public static Response exchange(int port, byte[] request) {
        try (RawHttp connection = connect(port)) {
            connection.send(request);
            return connection.readResponse();
        }
    }

    /** Writes the bytes; a peer that closed early makes the write fail, which is remembered, not thrown. */
    public RawHttp send(String text) {
        return send(text.getBytes(StandardCharsets.ISO_8859_1));
    }

    public RawHttp send(byte[] bytes) {
        if (writeFailed) {
            return this;
        }
        try {
            out.write(bytes);
            out.flush();
        } catch (IOException e) {
            writeFailed = true; // the proxy closed (or reset) the connection before reading it all
        }
        return this;
    }

    public boolean writeFailed() {
        return writeFailed;
    }

    /** Ends this side's sending (a FIN) and keeps reading: a client that is done with its request. */
    public RawHttp shutdownOutput() {
        try {
            socket.shutdownOutput();
        } catch (IOException e) {
            writeFailed = true;
        }
        return this;
    }

    /** Reads one answer: status line, headers, then a body framed by Content-Length, chunks, or close. */
    public Response readResponse() {
        return readResponse(false);
    }

    /** @param toHead the answer to a HEAD request: no body follows, whatever the headers say */
    public Response readResponse(boolean toHead) {
        ResponseStream answer = ResponseStream.read(reader, null, toHead, MAX_BODY_BYTES);
        answer.readToEnd();
        return answer.toResponse();
    }

    /**
     * Reads an answer's head and leaves its body to be read a piece at a time; closing the stream closes this
     * connection.
     */
    public ResponseStream streamResponse(long maxBodyBytes) {
        return ResponseStream.read(reader, this, false, maxBodyBytes);
    }

    /**
     * Waits, up to the read timeout, for the peer to end the connection. True when it closed or reset
     * it; false when it stayed open. Bytes that arrive meanwhile (an unexpected further answer) are
     * returned through {@code extra} when given.
     */
    public boolean closedByPeer(ByteArrayOutputStream extra) {
        byte[] buffer = new byte[4096];
        try {
            for (int total = 0; total < MAX_BODY_BYTES; ) {
                int n = in.read(buffer);
                if (n == -1) {
                    return true;
                }
                total += n;
                if (extra != null) {
                    extra.write(buffer, 0, n);
                }
            }
            return false;
        } catch (SocketTimeoutException e) {
            return false;
        } catch (SocketException e) {
            return true;
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /**
     * A line of a message head without its CRLF (a bare LF also ends it), read a byte at a time from {@code in};
     * null when the stream ends before the line does.
     */
    public static String readLine(InputStream in) throws IOException {
        StringBuilder line = new StringBuilder();
        for (int b; (b = in.read()) != -1; ) {
            if (b == '\n') {
                int end = line.length();
                return end > 0 && line.charAt(end - 1) == '\r' ? line.substring(0, end - 1) : line.toString();
            }
            line.append((char) b);
            if (line.length() > ResponseStream.MAX_HEADER_BYTES) {
                throw new IOException("a head line longer than " + ResponseStream.MAX_HEADER_BYTES + " bytes");
            }
        }
        return null;
    }

    /**
     * A message head as raw text through its blank line (CRLF CRLF, included), read a byte at a time from
     * {@code in}, so nothing after it is consumed; null at the end of the stream before it.
     */
    public static String readHead(InputStream in, int maxBytes) throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        int matched = 0;
        while (matched < 4) {
            int b = in.read();
            if (b == -1) {
                return null;
            }
            head.write(b);
            matched = (b == (matched % 2 == 0 ? '\r' : '\n')) ? matched + 1 : (b == '\r' ? 1 : 0);
            if (head.size() > maxBytes) {
                throw new IOException("message head larger than " + maxBytes + " bytes");
            }
        }
        return head.toString(StandardCharsets.ISO_8859_1);
    }

    // ---- Additions: a recording backend, and timed writes -------------------------------------

    /**
     * Writes {@code text} one byte at a time, {@code pause} apart, until it is all written or the peer
     * closes the connection. Returns true when every byte was written. For slow-header (slowloris) clients.
     */
    public boolean trickle(String text, Duration pause) {
        byte[] bytes = text.getBytes(StandardCharsets.ISO_8859_1);
        for (byte b : bytes) {
            send(new byte[] {b});
            if (writeFailed) {
                return false;
            }
            try {
                Thread.sleep(pause.toMillis()); // the pacing of a slow client, not synchronisation
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
        return true;
    }

    /** Sets the read timeout of this connection (the bound of every later read). */
    public RawHttp readTimeout(Duration timeout) {
        try {
            socket.setSoTimeout((int) timeout.toMillis());
        } catch (SocketException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return this;
    }

    /**
     * The next line the peer sends, without its line end, interim (1xx) answers included; null when
     * the connection ends, is reset, or stays silent for the read timeout first.
     */
    public String readRawLine() {
        try {
            return readLine(in);
        } catch (IOException e) {
            return null;
        }
    }

    /**
     * A real HTTP/1.1 backend on an ephemeral loopback port that parses requests strictly, byte for
     * byte, and records each one with its raw body and whether the body arrived complete (by its
     * Content-Length, or up to and including the last chunk). Complete requests get "200 ok" and the
     * connection is kept alive; an incomplete or malformed one is recorded and its connection closed.
     * Requests for {@code /health} are answered and not recorded.
     */
    public static final class RecordingBackend implements AutoCloseable {

        /** One request as it reached the backend; {@code headers} names are lower case. */
        public record Received(
                String requestLine,
                Map<String, List<String>> headers,
                byte[] body,
                boolean complete,
                Map<String, List<String>> trailers) {
            public String target() {
                String[] parts = requestLine.split(" ");
                return parts.length > 1 ? parts[1] : "";
            }

            public String header(String name) {
                List<String> values = headers.get(name.toLowerCase(Locale.ROOT));
                return values == null ? null : String.join(",", values);
            }

            public String bodyText() {
                return new String(body, StandardCharsets.ISO_8859_1);
            }

            @Override
            public String toString() {
                return "Received[" + requestLine + ", complete=" + complete + ", headers=" + headers + ", body="
                        + body.length + " bytes]";
            }
        }

        private static final int MAX_HEAD = 64 * 1024;
        private static final int MAX_BODY = 64 * 1024 * 1024;
        private final java.net.ServerSocket server;
        private final List<Received> received = new java.util.concurrent.CopyOnWriteArrayList<>();
        private final List<String> started = new java.util.concurrent.CopyOnWriteArrayList<>();
        private final List<Socket> sockets = new java.util.concurrent.CopyOnWriteArrayList<>();
        private final java.util.concurrent.atomic.AtomicInteger connections =
                new java.util.concurrent.atomic.AtomicInteger();

        private final String scheme;

        private RecordingBackend(javax.net.ssl.SSLContext tls) throws IOException {
            scheme = tls == null ? "http" : "https";
            server = tls == null
                    ? new java.net.ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())
                    : tls.getServerSocketFactory().createServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress());
            Thread acceptor = new Thread(this::accept, "recording-backend-" + server.getLocalPort());
            acceptor.setDaemon(true);
            acceptor.start();
        }

        public static RecordingBackend start() {
            return start(null);
        }

        /** @param tls the backend's TLS server context; null for plain HTTP */
        public static RecordingBackend start(javax.net.ssl.SSLContext tls) {
            try {
                return new RecordingBackend(tls);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }

        public String url() {
            return scheme + "://127.0.0.1:" + server.getLocalPort();
        }

        /** Every request recorded so far (not /health), in arrival order. */
        public List<Received> received() {
            return List.copyOf(received);
        }

        /** The request line of every request whose head has arrived (not /health), its body read or not. */
        public List<String> started() {
            return List.copyOf(started);
        }

        /** Connections accepted so far (health checks included). */
        public int connections() {
            return connections.get();
        }

        private void accept() {
            while (!server.isClosed()) {
                try {
                    Socket s = server.accept();
                    connections.incrementAndGet();
                    sockets.add(s);
                    Thread t = new Thread(() -> serve(s), "recording-backend-connection");
                    t.setDaemon(true);
                    t.start();
                } catch (IOException e) {
                    // closed
                }
            }
        }

        private void serve(Socket s) {
            try (s) {
                s.setSoTimeout(30_000); // a test runs far shorter; this only ends forgotten connections
                InputStream in = new BufferedInputStream(s.getInputStream());
                OutputStream out = s.getOutputStream();
                while (true) {
                    String head = readHead(in);
                    if (head == null) {
                        return;
                    }
                    String[] lines = head.split("\r\n");
                    String[] requestLine = lines[0].split(" ");
                    if (requestLine.length < 2 || !requestLine[1].equals("/health")) {
                        started.add(lines[0]);
                    }
                    Map<String, List<String>> headers = new LinkedHashMap<>();
                    for (int i = 1; i < lines.length; i++) {
                        int colon = lines[i].indexOf(':');
                        String name = (colon < 0 ? lines[i] : lines[i].substring(0, colon))
                                .trim()
                                .toLowerCase(Locale.ROOT);
                        headers.computeIfAbsent(name, k -> new ArrayList<>())
                                .add(
                                        colon < 0
                                                ? ""
                                                : lines[i].substring(colon + 1).trim());
                    }
                    ByteArrayOutputStream body = new ByteArrayOutputStream();
                    Map<String, List<String>> trailers = new LinkedHashMap<>();
                    boolean complete = readBody(in, headers, body, trailers);
                    Received r = new Received(lines[0], headers, body.toByteArray(), complete, trailers);
                    if (!r.target().equals("/health")) {
                        received.add(r);
                    }
                    if (!complete) {
                        return;
                    }
                    out.write("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"
                            .getBytes(StandardCharsets.ISO_8859_1));
                    out.flush();
                    if ("close".equalsIgnoreCase(String.valueOf(r.header("connection")))) {
                        return;
                    }
                }
            } catch (IOException e) {
                // the proxy closed or reset the connection
            } finally {
                sockets.remove(s);
            }
        }

        /** The request line and headers up to the empty line; null at a clean end of stream first. */
        private static String readHead(InputStream in) throws IOException {
            String head = RawHttp.readHead(in, MAX_HEAD);
            return head == null ? null : head.substring(0, head.length() - 4);
        }

        /** Reads the body as the headers frame it; true when it arrived whole and well-formed. */
        private static boolean readBody(
                InputStream in,
                Map<String, List<String>> headers,
                ByteArrayOutputStream body,
                Map<String, List<String>> trailers)
                throws IOException {
            List<String> te = headers.get("transfer-encoding");
            List<String> cl = headers.get("content-length");
            try {
                if (te != null) {
                    if (te.size() != 1 || !te.get(0).equalsIgnoreCase("chunked") || cl != null) {
                        return false;
                    }
                    while (true) {
                        String sizeLine = readCrlfLine(in);
                        if (sizeLine == null || !sizeLine.matches("[0-9a-fA-F]{1,8}")) {
                            return false;
                        }
                        int size = Integer.parseInt(sizeLine, 16);
                        if (size == 0) {
                            for (String trailer = readCrlfLine(in); ; trailer = readCrlfLine(in)) {
                                if (trailer == null) {
                                    return false;
                                }
                                if (trailer.isEmpty()) {
                                    return true;
                                }
                                int colon = trailer.indexOf(':');
                                trailers.computeIfAbsent(
                                                (colon < 0 ? trailer : trailer.substring(0, colon))
                                                        .trim()
                                                        .toLowerCase(Locale.ROOT),
                                                k -> new ArrayList<>())
                                        .add(
                                                colon < 0
                                                        ? ""
                                                        : trailer.substring(colon + 1)
                                                                .trim());
                            }
                        }
                        if (body.size() + size > MAX_BODY || !copy(in, body, size)) {
                            return false;
                        }
                        String end = readCrlfLine(in);
                        if (end == null || !end.isEmpty()) {
                            return false;
                        }
                    }
                }
                if (cl != null) {
                    if (cl.size() != 1 || !cl.get(0).matches("\\d{1,9}")) {
                        return false;
                    }
                    int length = Integer.parseInt(cl.get(0));
                    return length <= MAX_BODY && copy(in, body, length);
                }
                return true;
            } catch (IOException e) {
                return false; // reset or timed out mid-body
            }
        }

        private static boolean copy(InputStream in, ByteArrayOutputStream to, int length) throws IOException {
            byte[] buffer = new byte[8192];
            for (int left = length; left > 0; ) {
                int n = in.read(buffer, 0, Math.min(buffer.length, left));
                if (n == -1) {
                    return false;
                }
                to.write(buffer, 0, n);
                left -= n;
            }
            return true;
        }

        /** A line ended by CRLF (a bare LF makes it invalid); null at end of stream or when malformed. */
        private static String readCrlfLine(InputStream in) throws IOException {
            StringBuilder line = new StringBuilder();
            for (int i = 0; i < MAX_HEAD; i++) {
                int b = in.read();
                if (b == -1) {
                    return null;
                }
                if (b == '\n') {
                    int end = line.length();
                    if (end == 0 || line.charAt(end - 1) != '\r') {
                        return null;
                    }
                    return line.substring(0, end - 1);
                }
                line.append((char) b);
            }
            return null;
        }

        @Override
        public void close() {
            try {
                server.close();
            } catch (IOException ignored) {
                // closing a test server
            }
            for (Socket s : sockets) {
                try {
                    s.close();
                } catch (IOException ignored) {
                    // as above
                }
            }
        }
    }

    @Override
    public void close() {
        try {
            socket.close();
        } catch (IOException ignored) {
            // closing a test socket
        }
    }
}
