package dev.roundhouse.proxy.testing;

import dev.roundhouse.testing.RawHttp;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;

/**
 * A misbehaving HTTP/1.1 backend on a raw {@link ServerSocket} of 127.0.0.1 (plain, or TLS with a test
 * certificate), one thread per connection. Each
 * request read (request line, headers, a Content-Length body) is handed to a {@link Script}, which writes whatever
 * bytes it likes and then resets the connection, closes it, hangs, or returns to read the next request on it.
 * Health checks ({@code GET /health}) are answered 200 with {@code Connection: close} without the script.
 */
public final class ScriptedBackend implements AutoCloseable {

    /** What to do with one request; returning normally reads the next request on the same connection. */
    @FunctionalInterface
    public interface Script {
        void answer(Request request, Connection connection) throws Exception;
    }

    /** A request as read: method, target, headers (names in lower case) and body. */
    public record Request(String method, String target, Map<String, String> headers, byte[] body) {
        public String line() {
            return method + " " + target;
        }
    }

    /** The backend's end of one connection from the proxy. */
    public static final class Connection {
        private final Socket socket;
        // The TCP connection under a TLS socket (the same socket without TLS): a reset must not say goodbye first.
        private final Socket tcp;
        private final InputStream in;
        private final OutputStream out;
        private final CountDownLatch peerClosed = new CountDownLatch(1);
        private volatile boolean ended;

        private Connection(Socket socket, Socket tcp) throws IOException {
            this.socket = socket;
            this.tcp = tcp;
            this.in = new BufferedInputStream(socket.getInputStream());
            this.out = socket.getOutputStream();
        }

        public Connection write(String text) throws IOException {
            return write(text.getBytes(StandardCharsets.ISO_8859_1));
        }

        public Connection write(byte[] bytes) throws IOException {
            out.write(bytes);
            out.flush();
            return this;
        }

        /**
         * Ends the connection with a TCP RST, as a crashed process or a killed pod does: over TLS without a
         * close_notify first (closing a TLS socket would send one, a clean end of the TLS stream).
         */
        public void reset() throws IOException {
            ended = true;
            tcp.setSoLinger(true, 0);
            tcp.close();
        }

        /** Sends a FIN but goes on reading, so that {@link #hangUntilPeerCloses} then sees the proxy's own close. */
        public Connection shutdownOutput() throws IOException {
            socket.shutdownOutput();
            return this;
        }

        /** Ends the connection with a FIN. */
        public void close() throws IOException {
            ended = true;
            socket.close();
        }

        /**
         * Reads (and drops) whatever the proxy sends until it closes or resets the connection, for up to
         * {@code atMost}; then the connection is closed here too. True when the proxy closed it.
         */
        public boolean hangUntilPeerCloses(Duration atMost) throws IOException {
            long deadline = System.nanoTime() + atMost.toNanos();
            byte[] buffer = new byte[4096];
            try {
                while (true) {
                    long left = deadline - System.nanoTime();
                    if (left <= 0) {
                        return false;
                    }
                    socket.setSoTimeout((int) Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
                    if (in.read(buffer) == -1) {
                        peerClosed.countDown();
                        return true;
                    }
                }
            } catch (SocketTimeoutException e) {
                return false;
            } catch (SocketException e) {
                peerClosed.countDown(); // reset by the proxy
                return true;
            } finally {
                close();
            }
        }

        /** True once {@link #hangUntilPeerCloses} saw the proxy end the connection. */
        public boolean closedByPeer() {
            return peerClosed.getCount() == 0;
        }

        boolean ended() {
            return ended || socket.isClosed();
        }
    }

    private static final Script HEALTH = (request, connection) -> connection
            .write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
            .close();

    /** Connections accepted, health checks included. */
    public final AtomicInteger accepted = new AtomicInteger();
    /** Every request handed to the script, in order of arrival (health checks excluded). */
    public final List<Request> requests = new CopyOnWriteArrayList<>();
    /** The connections that carried a request for the script, in order of arrival. */
    public final List<Connection> connections = new CopyOnWriteArrayList<>();

    private final ServerSocket server;
    private final Script script;
    private final List<Socket> open = new CopyOnWriteArrayList<>();

    private final String scheme;

    private final SSLContext tls;

    private ScriptedBackend(Script script, SSLContext tls) throws IOException {
        this.script = script;
        this.tls = tls;
        this.scheme = tls == null ? "http" : "https";
        // Plain TCP underneath in both cases: TLS is layered on each accepted socket, so a reset can bypass it.
        this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread acceptor = new Thread(this::accept, "scripted-backend-" + server.getLocalPort());
        acceptor.setDaemon(true);
        acceptor.start();
    }

    public static ScriptedBackend start(Script script) {
        return start(script, null);
    }

    /** @param tls the backend's TLS server context; null for plain HTTP */
    public static ScriptedBackend start(Script script, SSLContext tls) {
        try {
            return new ScriptedBackend(script, tls);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    public String url() {
        return scheme + "://127.0.0.1:" + server.getLocalPort();
    }

    /** Requests the script got whose request line starts with {@code prefix} (e.g. "GET /x"). */
    public long requestsStartingWith(String prefix) {
        return requests.stream().filter(r -> r.line().startsWith(prefix)).count();
    }

    private void accept() {
        while (!server.isClosed()) {
            Socket socket;
            try {
                socket = server.accept();
            } catch (IOException e) {
                return; // closed
            }
            accepted.incrementAndGet();
            open.add(socket);
            Thread t = new Thread(() -> serve(socket), "scripted-backend-conn-" + socket.getPort());
            t.setDaemon(true);
            t.start();
        }
    }

    private void serve(Socket tcp) {
        Socket socket = tcp;
        try {
            tcp.setTcpNoDelay(true);
            if (tls != null) {
                SSLSocket layered = (SSLSocket) tls.getSocketFactory().createSocket(tcp, null, tcp.getPort(), true);
                layered.setUseClientMode(false);
                socket = layered;
            }
            Connection connection = new Connection(socket, tcp);
            boolean registered = false;
            while (!connection.ended()) {
                socket.setSoTimeout(30_000); // an idle keep-alive connection ends eventually
                Request request = read(connection.in);
                if (request == null) {
                    return;
                }
                if (request.target().startsWith("/health")) {
                    HEALTH.answer(request, connection);
                    return;
                }
                if (!registered) {
                    connections.add(connection);
                    registered = true;
                }
                requests.add(request);
                script.answer(request, connection);
            }
        } catch (Exception e) {
            // the proxy went away, or the script ended the connection: nothing to report
        } finally {
            try {
                socket.close();
            } catch (IOException ignored) {
                // closing
            }
            open.remove(tcp);
        }
    }

    /** One request; null at end of stream before its first byte. */
    private static Request read(InputStream in) throws IOException {
        String requestLine = RawHttp.readLine(in);
        if (requestLine == null) {
            return null;
        }
        Map<String, String> headers = new LinkedHashMap<>();
        for (String header = RawHttp.readLine(in); header != null && !header.isEmpty(); header = RawHttp.readLine(in)) {
            int colon = header.indexOf(':');
            if (colon > 0) {
                headers.put(
                        header.substring(0, colon).trim().toLowerCase(Locale.ROOT),
                        header.substring(colon + 1).trim());
            }
        }
        byte[] body = new byte[0];
        String length = headers.get("content-length");
        if (length != null) {
            body = in.readNBytes(Integer.parseInt(length));
        } else if ("chunked".equalsIgnoreCase(headers.get("transfer-encoding"))) {
            ByteArrayOutputStream all = new ByteArrayOutputStream();
            for (String size = RawHttp.readLine(in); size != null; size = RawHttp.readLine(in)) {
                int n = Integer.parseInt(size.split(";", 2)[0].trim(), 16);
                if (n == 0) {
                    for (String trailer = RawHttp.readLine(in);
                            trailer != null && !trailer.isEmpty();
                            trailer = RawHttp.readLine(in)) {
                        // dropped
                    }
                    break;
                }
                all.write(in.readNBytes(n));
                RawHttp.readLine(in);
            }
            body = all.toByteArray();
        }
        String[] parts = requestLine.split(" ", 3);
        return new Request(parts[0], parts.length > 1 ? parts[1] : "", headers, body);
    }

    /** Stops accepting and closes every open connection. */
    @Override
    public void close() throws IOException {
        server.close();
        for (Socket socket : open) {
            try {
                socket.close();
            } catch (IOException ignored) {
                // closing
            }
        }
    }
}
