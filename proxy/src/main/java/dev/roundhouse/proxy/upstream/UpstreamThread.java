package dev.roundhouse.proxy.upstream;

import dev.roundhouse.poolformat.PoolDocument.BackendTls;
import dev.roundhouse.proxy.codec.HttpLimits;
import dev.roundhouse.proxy.codec.ResponseHead;
import dev.roundhouse.proxy.pool.Backend;
import dev.roundhouse.proxy.tls.BackendTrusts;
import io.undertow.protocols.ssl.UndertowXnioSsl;
import io.undertow.util.HeaderMap;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
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
import org.xnio.XnioExecutor;
import org.xnio.XnioIoThread;
import org.xnio.ssl.SslConnection;

/**
 * What one I/O thread keeps for the direct path: its connections to each backend (touched by this thread
 * only, so no locks), scratch space for heads, and the deadlines of its requests in flight, which one
 * periodic sweep checks instead of a timer per request.
 */
public final class UpstreamThread implements Runnable {

    private static final Logger log = LogManager.getLogger(UpstreamThread.class);

    /** How often deadlines are checked: a request or connect timeout fires up to this much late. */
    static final long SWEEP_MILLIS = 50;
    /** Idle connections above this many per backend close after {@link #IDLE_TTL_NANOS}. */
    private static final int WARM_CONNECTIONS = 4;

    private static final long IDLE_TTL_NANOS = TimeUnit.SECONDS.toNanos(60);
    /** Requests waiting for a connection per backend before the proxy answers 503. */
    static final int MAX_WAITING = 1024;

    private static final OptionMap CONNECTION_OPTIONS = OptionMap.create(Options.TCP_NODELAY, true);
    private static final ChannelListener<StreamConnection> NO_OPEN_LISTENER = connection -> {};

    /** Request heads are serialised here; they are at most {@link HttpLimits#MAX_HEADER_BYTES} plus ours. */
    public final byte[] scratch = new byte[2 * HttpLimits.MAX_HEADER_BYTES];

    public final ResponseHead head = new ResponseHead();
    final ByteBuffer probe = ByteBuffer.allocate(1);
    /** Interim (1xx) response headers are parsed here, apart from the exchange's final response headers. */
    private final HeaderMap interimHeaders = new HeaderMap();

    private final XnioIoThread io;
    private final BackendTrusts trusts;
    /** Opens TLS connections to https backends, on this thread, under the settings {@link #tlsFor} names. */
    private UndertowXnioSsl tls;

    private BackendTls tlsFor;
    private final XnioExecutor.Key sweep;
    private final MultiplexedConnections multiplexed;
    private final Map<Backend, Slot> slots = new IdentityHashMap<>();
    /** Exchanges with a deadline, a doubly linked list threaded through them. */
    private TimedExchange first;

    /** Starts the thread's sweep; call on {@code io} itself. */
    public UpstreamThread(XnioIoThread io, BackendTrusts trusts) {
        this.io = io;
        this.trusts = trusts;
        this.multiplexed = new MultiplexedConnections(io, this);
        this.sweep = io.executeAtInterval(this, SWEEP_MILLIS, TimeUnit.MILLISECONDS);
    }

    public XnioIoThread io() {
        return io;
    }

    /** This thread's HTTP/2 connections, to {@code h2c} and {@code h2} backends. */
    public MultiplexedConnections multiplexed() {
        return multiplexed;
    }

    /**
     * Stops the sweep, before the worker shuts down: a repeating task still scheduled when its I/O thread terminates
     * fails to reschedule, and XNIO logs that as an error (XNIO000011, seen at test shutdowns).
     */
    public void stopSweep() {
        sweep.remove();
    }

    public HeaderMap interimHeaders() {
        interimHeaders.clear();
        return interimHeaders;
    }

    /** A backend's connections on this thread. */
    private static final class Slot {
        final ArrayDeque<UpstreamConnection> idle = new ArrayDeque<>();
        final ArrayDeque<UpstreamExchange> waiting = new ArrayDeque<>();
        int open;
        /** The limit on {@link #open} the last {@link #acquire} named (the same for every request). */
        int maxConnections;
    }

    /** How {@link #acquire} went. */
    public enum Acquired {
        /** An idle connection was handed over, or a connect started. */
        STARTED,
        /** At the connection limit: the exchange waits in the backend's queue. */
        QUEUED,
        /** At the connection limit, and the queue is full. */
        QUEUE_FULL,
        /** A connect was needed and the exchange got no connect place ({@link UpstreamExchange#connectPlace}). */
        NO_CONNECT_PLACE
    }

    /**
     * The backend's connections on this thread. Kept here, keyed by the backend's identity, rather than on the
     * backend: the pool holds values and knows no transport.
     */
    private Slot slot(Backend backend) {
        Slot slot = slots.get(backend);
        if (slot == null) {
            slot = new Slot();
            slots.put(backend, slot);
        }
        return slot;
    }

    /**
     * Gets {@code exchange} a connection to {@code backend}: an idle one at once, else a new one if the exchange gets
     * a connect place (reported to {@link UpstreamExchange#connected} or {@link UpstreamExchange#connectFailed}),
     * else, at the limit, a place in the queue for the next one released.
     */
    public Acquired acquire(Backend backend, UpstreamExchange exchange, int maxConnections) {
        Slot slot = slot(backend);
        slot.maxConnections = maxConnections;
        UpstreamConnection idle;
        while ((idle = slot.idle.pollFirst()) != null) {
            if (idle.current()) {
                exchange.connected(idle, true);
                return Acquired.STARTED;
            }
            idle.close(); // closed by the backend, or opened under TLS settings a document has replaced since
        }
        if (slot.open < maxConnections) {
            if (!exchange.connectPlace(backend)) {
                return Acquired.NO_CONNECT_PLACE;
            }
            slot.open++;
            connect(backend, exchange);
            return Acquired.STARTED;
        }
        return await(backend, exchange) ? Acquired.QUEUED : Acquired.QUEUE_FULL;
    }

    /**
     * Puts {@code exchange} in {@code backend}'s queue, for the next connection released or the next connect place
     * free, whichever comes first.
     *
     * @return false when the queue is full
     */
    public boolean await(Backend backend, UpstreamExchange exchange) {
        Slot slot = slot(backend);
        if (slot.waiting.size() >= MAX_WAITING) {
            return false;
        }
        slot.waiting.addLast(exchange);
        return true;
    }

    /** Whether an open connection to {@code backend} is idle on this thread: a request for it needs no connect. */
    public boolean hasIdle(Backend backend) {
        Slot slot = slots.get(backend);
        if (slot == null) {
            return false;
        }
        for (UpstreamConnection idle : slot.idle) {
            if (idle.current()) {
                return true;
            }
        }
        return false;
    }

    /** Takes an exchange out of its backend's queue (it timed out or ended while waiting). */
    public void stopWaiting(Backend backend, UpstreamExchange exchange) {
        slot(backend).waiting.remove(exchange);
    }

    /**
     * Opens a connection to {@code backend} for {@code exchange}, which holds a connect place for it: plain TCP for
     * http, TLS for https, chosen here, per connection, by the backend's own scheme.
     */
    private void connect(Backend backend, UpstreamExchange exchange) {
        boolean https = "https".equals(backend.uri().getScheme());
        int port = backend.uri().getPort(); // always written: the pool's URLs are normalised (BackendUrls)
        IoFuture<? extends StreamConnection> future;
        if (https) {
            BackendTls settings = backend.tls();
            // XNIO sends the address's host name as the server name (SNI) and hands it to the trust manager as the
            // peer: the configured server name, when there is one, travels as that host name.
            InetSocketAddress address = addressNamed(backend.uri().getHost(), port, settings.serverName());
            IoFuture<SslConnection> tlsFuture =
                    tls(settings).openSslConnection(io, address, NO_OPEN_LISTENER, CONNECTION_OPTIONS);
            future = tlsFuture;
        } else {
            InetSocketAddress address = new InetSocketAddress(backend.uri().getHost(), port);
            future = io.openStreamConnection(address, NO_OPEN_LISTENER, CONNECTION_OPTIONS);
        }
        exchange.connecting(future);
        future.addNotifier(
                (IoFuture<? extends StreamConnection> done, UpstreamExchange waiter) -> {
                    try {
                        completed(backend, done, waiter);
                    } finally {
                        // After the outcome is counted (a failure in a row, or the run's end), never before: in
                        // between, the place would look free to another I/O thread while the failure it stands for
                        // is not yet counted.
                        backend.connectEnded();
                    }
                    serveWaiting(backend); // the place is free: a request queued for one may start its connect
                },
                exchange);
    }

    /** This thread's TLS opener for {@code settings}, rebuilt only when a document changed them. */
    UndertowXnioSsl tls(BackendTls settings) {
        if (settings != tlsFor) {
            tls = new UndertowXnioSsl(
                    io.getWorker().getXnio(),
                    OptionMap.EMPTY,
                    trusts.of(settings).context());
            tlsFor = settings;
        }
        return tls;
    }

    /** {@code host}'s address under the name {@code serverName}, or under {@code host} itself when there is none. */
    static InetSocketAddress addressNamed(String host, int port, String serverName) {
        if (serverName == null) {
            return new InetSocketAddress(host, port);
        }
        try {
            return new InetSocketAddress(
                    InetAddress.getByAddress(
                            serverName, InetAddress.getByName(host).getAddress()),
                    port);
        } catch (UnknownHostException e) {
            return InetSocketAddress.createUnresolved(host, port); // the connect fails, reported as a failed connect
        }
    }

    private void completed(Backend backend, IoFuture<? extends StreamConnection> done, UpstreamExchange waiter) {
        switch (done.getStatus()) {
            case DONE -> {
                StreamConnection connection;
                try {
                    connection = done.get(); // done: returns at once
                } catch (IOException e) {
                    throw new IllegalStateException("a completed connect reported a failure", e);
                }
                if (connection instanceof SslConnection tlsConnection) {
                    try {
                        tlsConnection.startHandshake();
                    } catch (IOException e) {
                        IoUtils.safeClose(connection);
                        slot(backend).open--;
                        waiter.connectFailed(false);
                        return;
                    }
                }
                backend.connectSucceeded();
                UpstreamConnection upstream = new UpstreamConnection(
                        backend, connection, this, connection instanceof SslConnection ? backend.tls() : null);
                if (!waiter.connected(upstream, false)) {
                    release(upstream, true); // the exchange gave up on it meanwhile: someone else may use it
                }
            }
            case FAILED, CANCELLED -> {
                slot(backend).open--;
                waiter.connectFailed(done.getStatus() == IoFuture.Status.CANCELLED);
            }
            default -> throw new IllegalStateException("connect still in progress: " + done.getStatus());
        }
    }

    /**
     * Takes a connection back after an exchange: to the next waiting exchange, or idle. One that cannot carry
     * another request is closed, which frees its place for a waiting exchange.
     */
    public void release(UpstreamConnection connection, boolean reusable) {
        connection.user = null;
        if (!reusable || !connection.current() || connection.backend.retired()) {
            connection.close();
            return;
        }
        Slot slot = slot(connection.backend);
        UpstreamExchange next;
        while ((next = slot.waiting.pollFirst()) != null) {
            if (next.connected(connection, true)) {
                return;
            }
        }
        connection.idleSinceNanos = System.nanoTime();
        // Reading again: an idle connection that becomes readable was closed, or spoken to out of turn, and goes.
        connection.source.resumeReads();
        slot.idle.addFirst(connection); // most recently used first, so spare connections age out
    }

    /** Called once by a connection as it closes. */
    void closed(UpstreamConnection connection) {
        Slot slot = slot(connection.backend);
        slot.idle.remove(connection);
        slot.open--;
        serveWaiting(connection.backend);
    }

    /**
     * A connection closed or a connect ended: the waiting exchanges may open connections, one each, while the limit
     * leaves room and each gets a connect place. When a place is refused the others would be refused too: each is
     * told, and goes elsewhere, fails or keeps waiting for a place (a connect ending on this thread, or the sweep,
     * which looks again for places freed on other threads). A backend that left the pool still finishes what was
     * sent its way.
     */
    private void serveWaiting(Backend backend) {
        Slot slot = slot(backend);
        while (!slot.waiting.isEmpty() && slot.open < slot.maxConnections) {
            UpstreamExchange next = slot.waiting.peekFirst();
            if (!next.connectPlace(backend)) {
                // A copy: an exchange that leaves takes itself out of the queue, or ends and is taken out.
                for (UpstreamExchange waiter : new ArrayList<>(slot.waiting)) {
                    waiter.noConnectPlace(backend);
                }
                return;
            }
            slot.waiting.pollFirst();
            slot.open++;
            connect(backend, next);
        }
    }

    public void watch(TimedExchange exchange) {
        exchange.nextDeadline = first;
        exchange.prevDeadline = null;
        if (first != null) {
            first.prevDeadline = exchange;
        }
        first = exchange;
        exchange.watched = true;
    }

    public void unwatch(TimedExchange exchange) {
        if (!exchange.watched) {
            return;
        }
        exchange.watched = false;
        if (exchange.prevDeadline != null) {
            exchange.prevDeadline.nextDeadline = exchange.nextDeadline;
        } else {
            first = exchange.nextDeadline;
        }
        if (exchange.nextDeadline != null) {
            exchange.nextDeadline.prevDeadline = exchange.prevDeadline;
        }
        exchange.nextDeadline = null;
        exchange.prevDeadline = null;
    }

    /** The sweep: overdue exchanges, then idle connections that aged out or whose backend left the pool. */
    @Override
    public void run() {
        long now = System.nanoTime();
        List<TimedExchange> overdue = null;
        for (TimedExchange e = first; e != null; e = e.nextDeadline) {
            if (e.overdue(now)) {
                if (overdue == null) {
                    overdue = new ArrayList<>();
                }
                overdue.add(e);
            }
        }
        if (overdue != null) {
            for (TimedExchange e : overdue) {
                try {
                    e.deadlinePassed(now);
                } catch (RuntimeException failure) {
                    // One exchange failing to time out must not stop the sweep for the others (XNIO would log it,
                    // reschedule, and the same exchange would end every later sweep at the same place).
                    unwatch(e);
                    log.error("Timing out a request failed; its connection is left to close on its own", failure);
                }
            }
        }
        Iterator<Map.Entry<Backend, Slot>> it = slots.entrySet().iterator();
        List<UpstreamConnection> stale = null;
        List<Backend> withWaiting = null;
        while (it.hasNext()) {
            Map.Entry<Backend, Slot> entry = it.next();
            Slot slot = entry.getValue();
            if (!slot.waiting.isEmpty() && slot.open < slot.maxConnections) {
                // Waiting for a connect place, which a connect on another I/O thread may have freed since.
                if (withWaiting == null) {
                    withWaiting = new ArrayList<>();
                }
                withWaiting.add(entry.getKey());
            }
            boolean retired = entry.getKey().retired();
            int kept = 0;
            for (UpstreamConnection c : slot.idle) {
                if (retired || (++kept > WARM_CONNECTIONS && now - c.idleSinceNanos > IDLE_TTL_NANOS)) {
                    if (stale == null) {
                        stale = new ArrayList<>();
                    }
                    stale.add(c);
                }
            }
            if (retired && slot.open == 0 && slot.waiting.isEmpty()) {
                it.remove();
            }
        }
        if (stale != null) {
            stale.forEach(UpstreamConnection::close);
        }
        if (withWaiting != null) {
            withWaiting.forEach(this::serveWaiting); // after the loop: an exchange going elsewhere may add a slot
        }
        multiplexed.sweep(now);
    }
}
