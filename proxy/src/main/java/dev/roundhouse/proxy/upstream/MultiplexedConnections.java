package dev.roundhouse.proxy.upstream;

import dev.roundhouse.poolformat.BackendProtocol;
import dev.roundhouse.poolformat.PoolDocument.BackendTls;
import dev.roundhouse.proxy.pool.Backend;
import io.undertow.UndertowOptions;
import io.undertow.client.ALPNClientSelector;
import io.undertow.client.ClientCallback;
import io.undertow.client.ClientConnection;
import io.undertow.connector.ByteBufferPool;
import io.undertow.protocols.http2.Http2Channel;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.xnio.ChannelListener;
import org.xnio.IoFuture;
import org.xnio.IoUtils;
import org.xnio.OptionMap;
import org.xnio.Options;
import org.xnio.StreamConnection;
import org.xnio.XnioIoThread;
import org.xnio.ssl.SslConnection;

/**
 * One I/O thread's HTTP/2 connections to its {@code h2c} and {@code h2} backends: at most
 * {@link #MAX_CONNECTIONS} per backend, each carrying up to {@link MultiplexedConnection#MAX_STREAMS} requests. A
 * request takes a stream on a connection with room; only when every connection is full does a new one open (one
 * connect at a time per backend), and past the limit requests wait for a stream to end. Every connect takes one of the
 * backend's connect places ({@link Backend#takeConnectPlace}), as HTTP/1.1 connects do: without one, requests that
 * have no connection to wait on are told ({@link StreamWaiter#noConnectPlace}). Touched by this thread only.
 */
public final class MultiplexedConnections {

    private static final Logger log = LogManager.getLogger(MultiplexedConnections.class);

    /** HTTP/2 connections per backend per I/O thread at most: a few, so that one slow connection is not all. */
    public static final int MAX_CONNECTIONS = 4;

    private static final long IDLE_TTL_NANOS = TimeUnit.SECONDS.toNanos(60);

    private static final OptionMap CONNECTION_OPTIONS = OptionMap.create(Options.TCP_NODELAY, true);
    private static final OptionMap HTTP2_OPTIONS = OptionMap.builder()
            .set(UndertowOptions.HTTP2_SETTINGS_ENABLE_PUSH, false)
            .getMap();
    private static final ChannelListener<StreamConnection> NO_OPEN_LISTENER = connection -> {};

    private final XnioIoThread io;
    private final UpstreamThread thread;
    private final Map<Backend, Slot> slots = new IdentityHashMap<>();

    MultiplexedConnections(XnioIoThread io, UpstreamThread thread) {
        this.io = io;
        this.thread = thread;
    }

    /** A backend's HTTP/2 connections on this thread. */
    private static final class Slot {
        final List<MultiplexedConnection> open = new ArrayList<>(2);
        final ArrayDeque<StreamWaiter> waiting = new ArrayDeque<>();
        /** The connect under way, if any, and when it times out. */
        IoFuture<? extends StreamConnection> connecting;

        long connectDeadline;
        /** What the last request brought for a connect: more waiting requests may need one without a new request. */
        ByteBufferPool buffers;

        long connectTimeoutNanos;
        /** The limit on connects under way the last request named: {@code consecutiveConnectFailures}. */
        int connectLimit;
    }

    private Slot slot(Backend backend) {
        return slots.computeIfAbsent(backend, b -> new Slot());
    }

    /**
     * Gets a health check a stream on {@code backend}, as {@link #acquire(Backend, StreamWaiter, ByteBufferPool,
     * long, int)} does, connecting whatever the connects under way: a check is how an ejected backend returns.
     *
     * @return false when too many requests wait already
     */
    public boolean acquire(Backend backend, StreamWaiter waiter, ByteBufferPool buffers, long connectTimeoutNanos) {
        Slot slot = slot(backend);
        slot.buffers = buffers;
        slot.connectTimeoutNanos = connectTimeoutNanos;
        return acquire(backend, slot, waiter, 0) != UpstreamThread.Acquired.QUEUE_FULL;
    }

    /**
     * Gets {@code waiter} a stream on {@code backend}: at once on a connection with room, else after the connect
     * this starts (if it gets a connect place, of {@code connectLimit}) or one under way, else, with every
     * connection full, when a stream ends.
     *
     * @return {@code STARTED} when a stream was handed over, {@code QUEUED} when the request waits for one,
     *     {@code QUEUE_FULL} when too many wait already, {@code NO_CONNECT_PLACE} when it would wait for a connect
     *     that got no place (the request is not queued)
     */
    public UpstreamThread.Acquired acquire(
            Backend backend, StreamWaiter waiter, ByteBufferPool buffers, long connectTimeoutNanos, int connectLimit) {
        Slot slot = slot(backend);
        slot.buffers = buffers;
        slot.connectTimeoutNanos = connectTimeoutNanos;
        slot.connectLimit = connectLimit;
        return acquire(backend, slot, waiter, connectLimit);
    }

    private UpstreamThread.Acquired acquire(Backend backend, Slot slot, StreamWaiter waiter, int connectLimit) {
        MultiplexedConnection connection = withRoom(slot);
        if (connection != null) {
            connection.streams++;
            if (!waiter.streamReady(connection)) {
                release(connection);
            }
            return UpstreamThread.Acquired.STARTED;
        }
        if (slot.waiting.size() >= UpstreamThread.MAX_WAITING) {
            return UpstreamThread.Acquired.QUEUE_FULL;
        }
        int usable = usable(slot);
        boolean connect = false;
        if (slot.connecting == null && usable < MAX_CONNECTIONS) {
            connect = backend.takeConnectPlace(connectLimit);
            if (!connect && usable == 0) {
                return UpstreamThread.Acquired.NO_CONNECT_PLACE;
            }
        }
        // For the connect started here, one under way, or a stream on a full connection that will end.
        slot.waiting.addLast(waiter);
        if (connect) {
            connect(backend, slot);
        }
        return UpstreamThread.Acquired.QUEUED;
    }

    /**
     * Puts {@code waiter} in {@code backend}'s queue without a connect of its own: for the next connection that
     * opens, a stream that ends, or a connect place that frees (the sweep looks for one).
     *
     * @return false when the queue is full
     */
    public boolean await(Backend backend, StreamWaiter waiter) {
        Slot slot = slot(backend);
        if (slot.waiting.size() >= UpstreamThread.MAX_WAITING) {
            return false;
        }
        slot.waiting.addLast(waiter);
        return true;
    }

    /**
     * Whether a request for {@code backend} here would wait for a connect: no usable connection on this thread, and
     * a connect under way here or no connect place free (of {@code connectLimit}).
     */
    public boolean crowded(Backend backend, int connectLimit) {
        Slot slot = slots.get(backend);
        if (slot != null) {
            if (usable(slot) > 0) {
                return false;
            }
            if (slot.connecting != null) {
                return true;
            }
        }
        return !backend.connectPlaceFree(connectLimit);
    }

    /** Takes a waiting request out of its backend's queue (it timed out or ended while waiting). */
    public void stopWaiting(Backend backend, StreamWaiter waiter) {
        Slot slot = slots.get(backend);
        if (slot != null) {
            slot.waiting.remove(waiter);
        }
    }

    /** A request's stream ended: its place goes to a waiting request, and a connection no longer fit closes. */
    public void release(MultiplexedConnection connection) {
        connection.streams--;
        if (connection.streams == 0) {
            connection.idleSinceNanos = System.nanoTime();
        }
        if (!connection.usable()) {
            if (connection.streams == 0) {
                connection.close();
            }
            return;
        }
        Slot slot = slots.get(connection.backend);
        if (slot != null) {
            serveWaiting(slot, connection);
        }
    }

    /** Gives {@code connection}'s free places to waiting requests, first come first served. */
    private static void serveWaiting(Slot slot, MultiplexedConnection connection) {
        StreamWaiter next;
        while (connection.hasRoom() && (next = slot.waiting.pollFirst()) != null) {
            connection.streams++;
            if (!next.streamReady(connection)) {
                connection.streams--;
            }
        }
    }

    /**
     * Opens a connection for the waiting requests, when none is opening and the backend may have one more, and a
     * connect place is free (a health check among them needs none). Without a place, and without a usable connection
     * to wait on, each waiting request is told: it goes elsewhere, keeps waiting, or fails.
     */
    private void connectForWaiting(Backend backend, Slot slot) {
        if (slot.waiting.isEmpty() || slot.connecting != null || usable(slot) >= MAX_CONNECTIONS) {
            return;
        }
        int limit = slot.connectLimit;
        for (StreamWaiter waiter : slot.waiting) {
            if (waiter.anyConnect()) {
                limit = 0;
                break;
            }
        }
        if (backend.takeConnectPlace(limit)) {
            connect(backend, slot);
            return;
        }
        if (usable(slot) == 0) {
            // A copy: a request that leaves takes itself out of the queue.
            for (StreamWaiter waiter : new ArrayList<>(slot.waiting)) {
                waiter.noConnectPlace(backend);
            }
        }
    }

    private static MultiplexedConnection withRoom(Slot slot) {
        for (MultiplexedConnection c : slot.open) {
            if (c.usable() && c.hasRoom()) {
                return c;
            }
        }
        return null;
    }

    private static int usable(Slot slot) {
        int n = 0;
        for (MultiplexedConnection c : slot.open) {
            if (c.usable()) {
                n++;
            }
        }
        return n;
    }

    /** Opens a connection to {@code backend}, for which a connect place was taken. */
    private void connect(Backend backend, Slot slot) {
        try {
            startConnect(backend, slot);
        } catch (RuntimeException e) {
            backend.connectEnded();
            throw e;
        }
    }

    private void startConnect(Backend backend, Slot slot) {
        BackendProtocol protocol = backend.protocol();
        boolean tls = protocol == BackendProtocol.H2;
        int port = backend.uri().getPort(); // always written: the pool's URLs are normalised (BackendUrls)
        BackendTls settings = tls ? backend.tls() : null;
        IoFuture<? extends StreamConnection> future;
        if (tls) {
            InetSocketAddress address =
                    UpstreamThread.addressNamed(backend.uri().getHost(), port, settings.serverName());
            future = thread.tls(settings).openSslConnection(io, address, c -> {}, CONNECTION_OPTIONS);
        } else {
            future = io.openStreamConnection(
                    new InetSocketAddress(backend.uri().getHost(), port), NO_OPEN_LISTENER, CONNECTION_OPTIONS);
        }
        slot.connecting = future;
        slot.connectDeadline = System.nanoTime() + slot.connectTimeoutNanos;
        ByteBufferPool buffers = slot.buffers;
        future.addNotifier(
                (IoFuture<? extends StreamConnection> done, Object ignored) -> {
                    try {
                        connectDone(backend, slot, done, protocol, settings, buffers);
                    } finally {
                        // After the outcome is counted (a failure in a row, or the run's end), never before: in
                        // between, the place would look free while the failure it stands for is not yet counted.
                        backend.connectEnded();
                    }
                },
                null);
    }

    private void connectDone(
            Backend backend,
            Slot slot,
            IoFuture<? extends StreamConnection> done,
            BackendProtocol protocol,
            BackendTls settings,
            ByteBufferPool buffers) {
        if (slot.connecting != done) {
            return; // timed out and given up on: its waiters were told already
        }
        if (done.getStatus() != IoFuture.Status.DONE) {
            connectFailed(backend, slot);
            return;
        }
        StreamConnection connection;
        try {
            connection = done.get(); // done: returns at once
        } catch (IOException e) {
            connectFailed(backend, slot);
            return;
        }
        if (connection instanceof SslConnection tlsConnection) {
            // Only h2 is offered: a backend that does not agree to it by ALPN fails the connect.
            ALPNClientSelector.runAlpn(
                    tlsConnection,
                    noAlpn -> {
                        IoUtils.safeClose(noAlpn);
                        if (slot.connecting != done) {
                            return;
                        }
                        log.warn("Backend {} did not agree to h2 by ALPN; its connect counts as failed", backend);
                        connectFailed(backend, slot);
                    },
                    new ClientCallback<ClientConnection>() {
                        @Override
                        public void completed(ClientConnection result) {}

                        @Override
                        public void failed(IOException e) {
                            IoUtils.safeClose(tlsConnection);
                            if (slot.connecting == done) {
                                connectFailed(backend, slot);
                            }
                        }
                    },
                    new ALPNClientSelector.ALPNProtocol(
                            agreed -> connected(backend, slot, done, agreed, protocol, settings, buffers), "h2"));
            return;
        }
        connected(backend, slot, done, connection, protocol, null, buffers);
    }

    private void connected(
            Backend backend,
            Slot slot,
            IoFuture<? extends StreamConnection> done,
            StreamConnection stream,
            BackendProtocol protocol,
            BackendTls settings,
            ByteBufferPool buffers) {
        if (slot.connecting != done) {
            IoUtils.safeClose(stream); // the connect timed out meanwhile (during the TLS handshake)
            return;
        }
        slot.connecting = null;
        backend.connectSucceeded();
        // A client-side channel sends the connection preface and its SETTINGS at once: prior knowledge for h2c.
        Http2Channel channel = new Http2Channel(stream, null, buffers, null, true, false, HTTP2_OPTIONS);
        MultiplexedConnection connection = new MultiplexedConnection(backend, protocol, settings, channel);
        slot.open.add(connection);
        connection.addCloseListener(() -> closed(connection));
        serveWaiting(slot, connection);
        if (connection.streams == 0) {
            connection.idleSinceNanos = System.nanoTime();
        }
        connectForWaiting(backend, slot); // more waiting than it has room for
    }

    /**
     * The connect failed or timed out: every request waiting on it is told, one of them counts it (a request, not a
     * health check, which counts no connect failure: the requests that waited with it paid the timeout all the same).
     */
    private void connectFailed(Backend backend, Slot slot) {
        slot.connecting = null;
        List<StreamWaiter> told = new ArrayList<>(slot.waiting);
        slot.waiting.clear();
        boolean counted = false;
        for (StreamWaiter waiter : told) {
            boolean counts = !counted && !waiter.anyConnect();
            counted |= counts;
            waiter.streamConnectFailed(counts);
        }
    }

    private void closed(MultiplexedConnection connection) {
        Slot slot = slots.get(connection.backend);
        connection.close();
        if (slot == null) {
            return;
        }
        slot.open.remove(connection);
        // Requests waiting for room on full connections wait for a stream that will not end now: a connect for them
        // (unless a document has made the backend HTTP/1.1 meanwhile).
        if (connection.backend.protocol().multiplexed()) {
            connectForWaiting(connection.backend, slot);
        }
    }

    /** The sweep: connects past their deadline, connections idle too long or of backends that left the pool. */
    void sweep(long now) {
        Iterator<Map.Entry<Backend, Slot>> it = slots.entrySet().iterator();
        List<MultiplexedConnection> stale = null;
        List<Map.Entry<Backend, Slot>> timedOut = null;
        List<Map.Entry<Backend, Slot>> withWaiting = null;
        while (it.hasNext()) {
            Map.Entry<Backend, Slot> entry = it.next();
            Slot slot = entry.getValue();
            if (slot.connecting != null && now - slot.connectDeadline >= 0) {
                if (timedOut == null) {
                    timedOut = new ArrayList<>();
                }
                timedOut.add(entry);
            } else if (slot.connecting == null && !slot.waiting.isEmpty()) {
                // Waiting for a connect place, which a connect on another I/O thread may have freed since.
                if (withWaiting == null) {
                    withWaiting = new ArrayList<>();
                }
                withWaiting.add(entry);
            }
            int idleKept = 0;
            for (MultiplexedConnection c : slot.open) {
                if (c.streams == 0 && (!c.usable() || (++idleKept > 1 && now - c.idleSinceNanos > IDLE_TTL_NANOS))) {
                    if (stale == null) {
                        stale = new ArrayList<>();
                    }
                    stale.add(c);
                }
            }
            if (entry.getKey().retired() && slot.open.isEmpty() && slot.connecting == null && slot.waiting.isEmpty()) {
                it.remove();
            }
        }
        if (timedOut != null) {
            for (Map.Entry<Backend, Slot> entry : timedOut) {
                IoFuture<? extends StreamConnection> future = entry.getValue().connecting;
                connectFailed(entry.getKey(), entry.getValue()); // before cancel: its notifier then finds it gone
                future.cancel();
            }
        }
        if (withWaiting != null) {
            for (Map.Entry<Backend, Slot> entry : withWaiting) {
                connectForWaiting(entry.getKey(), entry.getValue());
            }
        }
        if (stale != null) {
            stale.forEach(MultiplexedConnection::close);
        }
    }
}
