package dev.roundhouse.proxy.testing;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

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

/**
 * A backend whose connects can be made to hang, as behind a firewall that drops packets: a port of 127.0.0.1 that
 * stops accepting, with a listen queue of one that this class fills, so the kernel drops further SYNs and a connect
 * waits for its timeout. While serving it answers every GET {@code 200} with the body {@code recovered}, on kept-alive
 * connections.
 */
public final class BlackholeBackend implements AutoCloseable {

    private final ServerSocket listener;
    private final List<Socket> fillers = new CopyOnWriteArrayList<>();
    private final List<Socket> accepted = new CopyOnWriteArrayList<>();
    private volatile boolean serving;
    private boolean parked; // the acceptor waits for recover(): nothing leaves the listen queue

    private BlackholeBackend(ServerSocket listener) throws IOException {
        this.listener = listener;
        listener.setSoTimeout(50); // so that the accepting thread notices when to stop
        Thread acceptor = new Thread(this::accept, "blackhole-backend");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    /** A backend whose connects hang from the start, or the test is skipped on a kernel whose queues do not fill. */
    public static BlackholeBackend start() throws IOException {
        BlackholeBackend backend = new BlackholeBackend(new ServerSocket(0, 1, InetAddress.getLoopbackAddress()));
        backend.blackhole();
        return backend;
    }

    /** A backend that serves until {@link #blackhole()}. */
    public static BlackholeBackend serving() throws IOException {
        BlackholeBackend backend = new BlackholeBackend(new ServerSocket(0, 1, InetAddress.getLoopbackAddress()));
        backend.recover();
        return backend;
    }

    public int port() {
        return listener.getLocalPort();
    }

    public String url() {
        return "http://127.0.0.1:" + port();
    }

    /**
     * From now on connects hang: it stops accepting, closes the connections it has (as a backend that went away
     * would have them end), and fills its listen queue. Skips the test on a kernel whose listen queues do not fill.
     */
    public void blackhole() throws IOException {
        serving = false;
        awaitAcceptorParked(); // or it could take a filler after the queue looked full, and a connect would complete
        for (Socket socket : accepted) {
            socket.close();
        }
        boolean saturated = false;
        for (int i = 0; i < 16 && !saturated; i++) {
            saturated = !connects();
        }
        if (!saturated) {
            close();
        }
        assumeTrue(saturated, "this kernel does not let a listen queue fill up");
    }

    /** Whether a connect completes within 300 ms; one that does stays open, filling the queue. */
    private boolean connects() throws IOException {
        Socket filler = new Socket();
        fillers.add(filler);
        try {
            filler.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port()), 300);
            return true;
        } catch (SocketTimeoutException e) {
            return false;
        }
    }

    private synchronized void awaitAcceptorParked() throws IOException {
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (!parked) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                throw new IOException("the accepting thread did not stop within 5 s");
            }
            try {
                wait(Math.max(1, left / 1_000_000));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while stopping the accepting thread", e);
            }
        }
    }

    /** From now on connects complete and every request is answered. */
    public void recover() throws IOException {
        synchronized (this) {
            serving = true;
            parked = false;
            notifyAll();
        }
        for (Socket filler : fillers) {
            filler.close(); // queued ones are then accepted and read as ended at once
        }
        fillers.clear();
    }

    private void accept() {
        while (!listener.isClosed()) {
            synchronized (this) {
                while (!serving && !listener.isClosed()) {
                    parked = true;
                    notifyAll(); // blackhole() waits for this
                    try {
                        wait(); // until recover() or close()
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }
            try {
                Socket socket = listener.accept();
                accepted.add(socket);
                Thread connection = new Thread(() -> serve(socket), "blackhole-backend-connection");
                connection.setDaemon(true);
                connection.start();
            } catch (SocketTimeoutException e) {
                // look at serving again
            } catch (IOException e) {
                return; // closed
            }
        }
    }

    /** Answers each request on the connection until it ends (a filler sends none and ends at once). */
    private void serve(Socket socket) {
        try (socket) {
            InputStream in = socket.getInputStream();
            OutputStream out = socket.getOutputStream();
            byte[] end = {'\r', '\n', '\r', '\n'};
            while (true) {
                int matched = 0;
                int b;
                while (matched < 4 && (b = in.read()) >= 0) {
                    matched = b == end[matched] ? matched + 1 : (b == '\r' ? 1 : 0);
                }
                if (matched < 4) {
                    return;
                }
                out.write("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nrecovered".getBytes(StandardCharsets.US_ASCII));
                out.flush();
            }
        } catch (IOException e) {
            // closed by blackhole() or by the proxy
        } finally {
            accepted.remove(socket);
        }
    }

    @Override
    public void close() throws IOException {
        serving = false;
        listener.close();
        synchronized (this) {
            notifyAll();
        }
        for (Socket filler : fillers) {
            filler.close();
        }
        for (Socket socket : accepted) {
            socket.close();
        }
    }
}
