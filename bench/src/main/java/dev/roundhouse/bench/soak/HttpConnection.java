package dev.roundhouse.bench.soak;

import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * One HTTP/1.1 keep-alive connection that sends GETs one at a time and reads whole responses (Content-Length or
 * chunked bodies). Small and blocking on purpose: a load generator of a few dozen connections needs no more, and
 * every byte it sends is visible here.
 */
final class HttpConnection implements AutoCloseable {

    private final String host;
    private final int port;
    private final int timeoutMillis;
    private final byte[] request;
    private Socket socket;
    private InputStream in;
    private OutputStream out;
    private long opened;

    HttpConnection(String host, int port, String path, int timeoutMillis) {
        this.host = host;
        this.port = port;
        this.timeoutMillis = timeoutMillis;
        this.request = ("GET " + path + " HTTP/1.1\r\nHost: " + host + ":" + port
                        + "\r\nUser-Agent: roundhouse-soak\r\nAccept: */*\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII);
    }

    /** Connections opened so far (1 for a connection that was never lost). */
    long opened() {
        return opened;
    }

    /**
     * Sends one GET and reads the whole response.
     *
     * @return the status code
     * @throws IOException on any connection failure, timeout or malformed response; the connection is closed then,
     *     and the next call opens a new one
     */
    int get() throws IOException {
        try {
            if (socket == null) {
                open();
            }
            out.write(request);
            out.flush();
            return readResponse();
        } catch (IOException | RuntimeException e) {
            close();
            throw e instanceof IOException io ? io : new IOException(e);
        }
    }

    private void open() throws IOException {
        Socket s = new Socket();
        s.setTcpNoDelay(true);
        s.setSoTimeout(timeoutMillis);
        s.connect(new InetSocketAddress(host, port), timeoutMillis);
        socket = s;
        in = new BufferedInputStream(s.getInputStream(), 16 * 1024);
        out = s.getOutputStream();
        opened++;
    }

    private int readResponse() throws IOException {
        String statusLine = readLine();
        if (!statusLine.startsWith("HTTP/1.")) {
            throw new IOException("not an HTTP response: " + statusLine);
        }
        int status = Integer.parseInt(statusLine.substring(9, 12));
        long length = -1;
        boolean chunked = false;
        boolean close = statusLine.startsWith("HTTP/1.0");
        for (String line = readLine(); !line.isEmpty(); line = readLine()) {
            int colon = line.indexOf(':');
            if (colon <= 0) {
                continue;
            }
            String name = line.substring(0, colon).trim().toLowerCase(Locale.ROOT);
            String value = line.substring(colon + 1).trim().toLowerCase(Locale.ROOT);
            switch (name) {
                case "content-length" -> length = Long.parseLong(value);
                case "transfer-encoding" -> chunked = value.contains("chunked");
                case "connection" -> close = value.contains("close") || (close && !value.contains("keep-alive"));
                default -> {}
            }
        }
        if (chunked) {
            for (long size = chunkSize(); size > 0; size = chunkSize()) {
                skip(size);
                readLine(); // CRLF after the chunk
            }
            for (String trailer = readLine(); !trailer.isEmpty(); trailer = readLine()) {
                // trailers: ignored
            }
        } else if (length > 0) {
            skip(length);
        } else if (length < 0 && status >= 200 && status != 204 && status != 304) {
            close = true; // body until close: read it all
            while (in.read() >= 0) {
                // discard
            }
        }
        if (close) {
            close();
        }
        return status;
    }

    private long chunkSize() throws IOException {
        String line = readLine();
        int semicolon = line.indexOf(';');
        return Long.parseLong((semicolon >= 0 ? line.substring(0, semicolon) : line).trim(), 16);
    }

    private void skip(long n) throws IOException {
        while (n > 0) {
            long skipped = in.skip(n);
            if (skipped <= 0) {
                if (in.read() < 0) {
                    throw new EOFException("connection closed in a body");
                }
                skipped = 1;
            }
            n -= skipped;
        }
    }

    private String readLine() throws IOException {
        StringBuilder line = new StringBuilder(64);
        while (true) {
            int b = in.read();
            if (b < 0) {
                throw new EOFException("connection closed by the server");
            }
            if (b == '\n') {
                int len = line.length();
                if (len > 0 && line.charAt(len - 1) == '\r') {
                    line.setLength(len - 1);
                }
                return line.toString();
            }
            if (line.length() > 65536) {
                throw new IOException("header line too long");
            }
            line.append((char) b);
        }
    }

    @Override
    public void close() {
        if (socket != null) {
            try {
                socket.close();
            } catch (IOException ignored) {
                // closing anyway
            }
        }
        socket = null;
        in = null;
        out = null;
    }
}
