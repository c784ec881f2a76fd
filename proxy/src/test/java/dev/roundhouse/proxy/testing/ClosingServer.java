package dev.roundhouse.proxy.testing;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/** Accepts connections, reads the request head, then closes without answering: a crashing backend. */
public final class ClosingServer implements AutoCloseable {

    public final AtomicInteger accepted = new AtomicInteger();
    /** The request line of every request read before dropping its connection. */
    public final List<String> requestLines = new CopyOnWriteArrayList<>();

    private final ServerSocket socket;
    private final Thread acceptor;

    public ClosingServer() throws IOException {
        socket = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        acceptor = new Thread(this::serve, "closing-server");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    private void serve() {
        while (!socket.isClosed()) {
            try (Socket s = socket.accept()) {
                accepted.incrementAndGet();
                s.setSoTimeout(2000);
                InputStream in = s.getInputStream();
                int matched = 0;
                StringBuilder line = new StringBuilder();
                // read to the end of the request head, then drop the connection
                for (int b; matched < 4 && (b = in.read()) >= 0; ) {
                    matched = (b == '\r' || b == '\n') ? matched + 1 : 0;
                    if (b == '\r' && line != null) {
                        requestLines.add(line.toString());
                        line = null;
                    } else if (line != null) {
                        line.append((char) b);
                    }
                }
                s.setSoLinger(true, 0); // reset, like a crashed process
            } catch (IOException e) {
                // closed or the client went away; go on
            }
        }
    }

    public String url() {
        return "http://127.0.0.1:" + socket.getLocalPort();
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
