package dev.roundhouse.e2e.local;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A port of 127.0.0.1 that stands for a Service, as kube-proxy makes one: each connection is relayed to the
 * endpoint chosen when it arrived, the current ready proxy. Moving the endpoint sends new connections to the new
 * proxy and leaves open ones with the old, which is what lets a rollout start the new proxy before it stops the old
 * one, with the port never closed. With no endpoint a connection is closed at once, as a Service without ready
 * endpoints refuses it.
 */
final class LocalService implements AutoCloseable {

    private static final int CONNECT_TIMEOUT_MILLIS = 2_000;
    private static final AtomicInteger THREADS = new AtomicInteger();

    private final String name;
    private final ServerSocket listener;
    private final Set<Socket> open = ConcurrentHashMap.newKeySet();
    private final ExecutorService relays = Executors.newCachedThreadPool(r -> {
        Thread thread = new Thread(r, "local-service-" + THREADS.incrementAndGet());
        thread.setDaemon(true);
        return thread;
    });
    private volatile int endpoint; // 0: none
    /** Connections whose endpoint refused them (or was unreachable): what a client of a real Service sees refused. */
    private final AtomicLong refused = new AtomicLong();

    private LocalService(String name, ServerSocket listener) {
        this.name = name;
        this.listener = listener;
    }

    /**
     * Listens on 127.0.0.1:{@code port}.
     *
     * @param name what the port is, for thread names and logs ({@code default/demo PORT})
     * @throws IOException the port is taken
     */
    static LocalService open(String name, int port) throws IOException {
        ServerSocket listener = new ServerSocket();
        try {
            listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 128);
        } catch (IOException e) {
            listener.close();
            throw e;
        }
        LocalService service = new LocalService(name, listener);
        service.relays.execute(service::accept);
        return service;
    }

    int port() {
        return listener.getLocalPort();
    }

    /** Where new connections go from now on: a port of 127.0.0.1, or 0 for nowhere. */
    void route(int port) {
        endpoint = port;
    }

    int endpoint() {
        return endpoint;
    }

    long refused() {
        return refused.get();
    }

    private void accept() {
        while (!listener.isClosed()) {
            Socket client;
            try {
                client = listener.accept();
            } catch (IOException e) {
                return; // closed
            }
            int target = endpoint;
            if (target == 0) {
                closeQuietly(client);
                continue;
            }
            try {
                relays.execute(() -> relay(client, target));
            } catch (RuntimeException e) { // shut down meanwhile
                closeQuietly(client);
            }
        }
    }

    private void relay(Socket client, int target) {
        open.add(client);
        Socket upstream;
        try {
            upstream = connect(target);
        } catch (IOException e) {
            refused.incrementAndGet();
            end(client, client);
            return;
        }
        open.add(upstream);
        AtomicInteger directionsLeft = new AtomicInteger(2);
        try {
            client.setTcpNoDelay(true);
            upstream.setTcpNoDelay(true);
            relays.execute(() -> copy(upstream, client, client, upstream, directionsLeft));
            copy(client, upstream, client, upstream, directionsLeft);
        } catch (IOException | RuntimeException e) {
            end(client, upstream);
        }
    }

    /** A connection to the endpoint; to the new one if it moved while this connection waited and the old is gone. */
    private Socket connect(int target) throws IOException {
        try {
            return connectTo(target);
        } catch (ConnectException e) {
            int now = endpoint;
            if (now == 0 || now == target) {
                throw e;
            }
            return connectTo(now);
        }
    }

    private static Socket connectTo(int port) throws IOException {
        Socket socket = new Socket();
        try {
            socket.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), CONNECT_TIMEOUT_MILLIS);
            return socket;
        } catch (IOException e) {
            socket.close();
            throw e;
        }
    }

    /**
     * Copies until {@code from} ends, then half-closes {@code to}, so that either side may finish sending first;
     * the second direction to end closes the connection. A reset or error on either side ends both at once.
     */
    private void copy(Socket from, Socket to, Socket client, Socket upstream, AtomicInteger directionsLeft) {
        try {
            InputStream in = from.getInputStream();
            OutputStream out = to.getOutputStream();
            byte[] buffer = new byte[16 * 1024];
            int n;
            while ((n = in.read(buffer)) >= 0) {
                out.write(buffer, 0, n);
            }
            to.shutdownOutput();
            if (directionsLeft.decrementAndGet() == 0) {
                end(client, upstream);
            }
        } catch (IOException e) {
            end(client, upstream);
        }
    }

    private void end(Socket client, Socket upstream) {
        closeQuietly(client);
        closeQuietly(upstream);
        open.remove(client);
        open.remove(upstream);
    }

    private static void closeQuietly(Socket socket) {
        try {
            socket.close();
        } catch (IOException ignored) {
            // nothing more to do
        }
    }

    /** Stops listening and ends every relayed connection. */
    @Override
    public void close() {
        try {
            listener.close();
        } catch (IOException ignored) {
            // closing anyway
        }
        open.forEach(LocalService::closeQuietly);
        relays.shutdownNow();
    }

    @Override
    public String toString() {
        return name + " on 127.0.0.1:" + port();
    }
}
