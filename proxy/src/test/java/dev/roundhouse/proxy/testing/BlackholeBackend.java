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
 * connections; a holding one reads requests and answers none of them, so that the proxy's further requests for it
 * queue behind the ones it holds.
 */
public final class BlackholeBackend implements AutoCloseable {

    private final ServerSocket listener;
    private final List<Socket> fillers = new CopyOnWriteArrayList<>();
    private final List<Socket> accepted = new CopyOnWriteArrayList<>();
    private volatile boolean serving;
    private volatile boolean holding;
    /** Request heads read and left unanswered while holding. */
    private final java.util.concurrent.atomic.AtomicInteger held = new java.util.concurrent.atomic.AtomicInteger();

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

    /**
     * A backend whose connects hang from the start on {@code port}, given up a moment ago by a backend that served
     * there (an HTTP/2 one, say), or the test is skipped on a kernel whose queues do not fill.
     */
    public static BlackholeBackend takeOver(int port) throws IOException {
        ServerSocket listener = new ServerSocket();
        listener.setReuseAddress(true);
        listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 1);
        BlackholeBackend backend = new BlackholeBackend(listener);
        backend.blackhole();
        return backend;
    }

    /**
     * A backend that serves until {@link #blackhole()}. Its listen queue is long enough that a burst of connects
     * never waits on the accepting thread: a connect that timed out while it served would count as a failure in a
     * row, and could take it out of rotation before the test makes it hang.
     */
    public static BlackholeBackend serving() throws IOException {
        BlackholeBackend backend =
                new BlackholeBackend(new ServerSocket(0, SERVING_BACKLOG, InetAddress.getLoopbackAddress()));
        backend.recover();
        return backend;
    }

    /** A backend that accepts connections and reads requests, answering none of them, until {@link #blackhole()}. */
    public static BlackholeBackend holding() throws IOException {
        BlackholeBackend backend = serving();
        backend.holding = true;
        return backend;
    }

    private static final int SERVING_BACKLOG = 64;

    /** Requests read and left unanswered so far (see {@link #holding()}). */
    public int held() {
        return held.get();
    }

    public int port() {
        return listener.getLocalPort();
    }

    public String url() {
        return "http://127.0.0.1:" + port();
    }

    /**
     * From now on connects hang: it stops accepting, fills its listen queue, and only then closes the connections it
     * has (as a backend that went away would have them end), those still in its queue included. In that order, a
     * connect the proxy starts as a connection ends hangs rather than landing in a queue nobody reads. Skips the test
     * on a kernel whose listen queues do not fill.
     */
    public void blackhole() throws IOException {
        serving = false;
        awaitAcceptorParked(); // or it could take a filler after the queue looked full, and a connect would complete
        drainQueue();
        boolean saturated = false;
        for (int i = 0; i < SERVING_BACKLOG + 16 && !saturated; i++) {
            saturated = !connects();
        }
        for (Socket socket : accepted) {
            socket.close();
        }
        if (!saturated) {
            close();
        }
        assumeTrue(saturated, "this kernel does not let a listen queue fill up");
    }

    /** Takes the connections waiting in the listen queue (the acceptor is parked), to be closed with the others. */
    private void drainQueue() throws IOException {
        while (true) {
            try {
                accepted.add(listener.accept()); // the listener's 50 ms timeout ends this once the queue is empty
            } catch (SocketTimeoutException e) {
                return;
            }
        }
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
            holding = false;
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
                if (holding) {
                    held.incrementAndGet();
                    continue; // unanswered, until blackhole() closes the connection
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
