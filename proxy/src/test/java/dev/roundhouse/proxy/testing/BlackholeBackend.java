package dev.roundhouse.proxy.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * A backend whose connects hang, as behind a firewall that drops packets: a port of 127.0.0.1 that never accepts,
 * with a listen queue of one that this class fills, so the kernel drops further SYNs and a connect waits for its
 * timeout. {@link #recover()} lets it answer again: it accepts and answers every request {@code 200 recovered}.
 */
public final class BlackholeBackend implements AutoCloseable {

    private final ServerSocket listener;
    private final List<Socket> fillers = new CopyOnWriteArrayList<>();
    private volatile Thread acceptor;

    private BlackholeBackend(ServerSocket listener) {
        this.listener = listener;
    }

    /** A hanging backend, or the test is skipped on a kernel whose listen queues do not fill. */
    public static BlackholeBackend start() throws IOException {
        BlackholeBackend backend = new BlackholeBackend(new ServerSocket(0, 1, InetAddress.getLoopbackAddress()));
        boolean saturated = false;
        for (int i = 0; i < 16 && !saturated; i++) {
            Socket filler = new Socket();
            backend.fillers.add(filler);
            try {
                filler.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), backend.port()), 300);
            } catch (SocketTimeoutException e) {
                saturated = true;
            }
        }
        if (!saturated) {
            backend.close();
        }
        assumeTrue(saturated, "this kernel does not let a listen queue fill up");
        return backend;
    }

    public int port() {
        return listener.getLocalPort();
    }

    public String url() {
        return "http://127.0.0.1:" + port();
    }

    /** From now on connects complete and every request gets {@code 200 recovered} (one per connection). */
    public void recover() throws IOException {
        for (Socket filler : fillers) {
            filler.close(); // queued ones are then accepted and read as ended at once
        }
        Thread thread = new Thread(() -> {
            while (!listener.isClosed()) {
                try (Socket socket = listener.accept()) {
                    answer(socket);
                } catch (IOException e) {
                    // a filler or a client that went away: next
                }
            }
        }, "blackhole-recovered");
        thread.setDaemon(true);
        acceptor = thread;
        thread.start();
    }

    private static void answer(Socket socket) throws IOException {
        socket.setSoTimeout(2_000);
        InputStream in = socket.getInputStream();
        int matched = 0;
        byte[] end = {'\r', '\n', '\r', '\n'};
        int b;
        while (matched < 4 && (b = in.read()) >= 0) {
            matched = b == end[matched] ? matched + 1 : (b == '\r' ? 1 : 0);
        }
        if (matched < 4) {
            return; // no request on this connection (a filler)
        }
        OutputStream out = socket.getOutputStream();
        out.write(("HTTP/1.1 200 OK\r\nContent-Length: 9\r\nConnection: close\r\n\r\nrecovered")
                .getBytes(StandardCharsets.US_ASCII));
        out.flush();
    }

    @Override
    public void close() throws IOException {
        listener.close();
        for (Socket filler : fillers) {
            filler.close();
        }
        Thread thread = acceptor;
        if (thread != null) {
            thread.interrupt();
        }
    }
}
