package dev.roundhouse.bench.soak;

import dev.roundhouse.testing.ResponseReader;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/**
 * One HTTP/1.1 keep-alive connection that sends GETs one at a time and reads whole responses with the one
 * {@link ResponseReader}. Small and blocking on purpose: a load generator of a few dozen connections needs no more, and
 * every byte it sends is visible here.
 */
final class HttpConnection implements AutoCloseable {

    private final String host;
    private final int port;
    private final int timeoutMillis;
    private final byte[] request;
    private Socket socket;
    private final ResponseReader reader = new ResponseReader(16 * 1024, 64 * 1024);
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
        reader.reset(s.getInputStream());
        out = s.getOutputStream();
        opened++;
    }

    private int readResponse() throws IOException {
        int status = reader.readResponse(ResponseReader.Fields.NONE);
        if (reader.close()) {
            close();
        }
        return status;
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
        out = null;
    }
}
