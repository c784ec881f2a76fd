package dev.roundhouse.bench.scale;

import dev.roundhouse.poolformat.status.BackendState;
import dev.roundhouse.poolformat.status.ProxyStatusCodec;
import dev.roundhouse.poolformat.status.ProxyStatusDocument;
import dev.roundhouse.proxy.status.StateChanges;
import io.undertow.Undertow;
import io.undertow.server.HttpServerExchange;
import io.undertow.util.Headers;
import io.undertow.util.SameThreadExecutor;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import org.xnio.Options;

/**
 * One fake proxy per LoadBalancer, each answering {@code GET /status} on a port of its own as the proxy's admin port
 * does (docs/status.md, version 1, written with the proxy's codec): its backends, a {@code lastChange} counter (1:
 * the pool it applied), and the long poll
 * {@code ?after=N&wait=S}, held without a thread until a change or S seconds (at most 60). The operator asks every
 * endpoint at {@code /status}, so a LoadBalancer is told apart by the port alone.
 *
 * <p>One Undertow server with one listener per proxy on 127.0.0.1, sharing one I/O thread and two worker threads (as
 * the proxy's admin server has), all named {@code fake-proxies ...} so that their CPU can be told apart. Held
 * requests use the proxy's own {@link StateChanges} and an I/O-thread timer, as {@code AdminServer} does: a thousand
 * held requests cost no thread.
 */
public final class FakeProxies implements AutoCloseable {

    static final int MAX_WAIT_SECONDS = 60;
    private static final List<Double> NO_RATES = java.util.Collections.nCopies(12, 0.0);

    /** One proxy's view of its pool. */
    private static final class Proxy {
        final StateChanges changes;
        final String[] urls;
        final boolean[] healthy;
        final Instant[] since;
        final Instant appliedAt;
        final Set<Held> held = ConcurrentHashMap.newKeySet();
        final java.util.concurrent.atomic.AtomicLong requests = new java.util.concurrent.atomic.AtomicLong();

        Proxy(Clock clock, List<String> urls) {
            this.changes = new StateChanges(clock);
            this.urls = urls.toArray(String[]::new);
            this.healthy = new boolean[urls.size()];
            this.since = new Instant[urls.size()];
            this.appliedAt = clock.instant();
            java.util.Arrays.fill(healthy, true);
            java.util.Arrays.fill(since, appliedAt);
            // a proxy's first change is the pool it applied: lastChange starts at 1
            changes.record(StateChanges.Kind.RELOAD, null, null, "applied", "pool from ConfigMap (fake proxy)");
        }
    }

    /** A held request, so that {@link #answerHeld()} can let go of it; its waiter is set once registered. */
    private static final class Held {
        final HttpServerExchange exchange;
        volatile StateChanges.Waiter waiter;

        Held(HttpServerExchange exchange) {
            this.exchange = exchange;
        }
    }

    private final Clock clock = Clock.systemUTC();
    private final List<Proxy> proxies;
    private final int[] ports;
    private final Map<Integer, Proxy> byPort = new ConcurrentHashMap<>(); // filled after the listeners start
    private final Undertow server;
    private final LongAdder requests = new LongAdder();
    private final LongAdder answeredAtOnce = new LongAdder();
    private final LongAdder answeredOnChange = new LongAdder();
    private final LongAdder answeredAfterWait = new LongAdder();

    /** Starts one fake proxy per entry of {@code backends} (each its pool's normalised backend URLs). */
    public FakeProxies(List<List<String>> backends) {
        this.proxies = backends.stream().map(b -> new Proxy(clock, b)).toList();
        Undertow.Builder builder = Undertow.builder()
                .setIoThreads(1)
                .setWorkerThreads(2)
                .setWorkerOption(Options.WORKER_NAME, "fake-proxies")
                .setHandler(this::route);
        for (int i = 0; i < proxies.size(); i++) {
            builder.addHttpListener(0, "127.0.0.1");
        }
        server = builder.build();
        server.start();
        List<Undertow.ListenerInfo> listeners = server.getListenerInfo();
        if (listeners.size() != proxies.size()) {
            server.stop();
            throw new IllegalStateException(listeners.size() + " listeners for " + proxies.size() + " fake proxies");
        }
        ports = new int[proxies.size()];
        for (int i = 0; i < ports.length; i++) {
            ports[i] = ((InetSocketAddress) listeners.get(i).getAddress()).getPort();
            byPort.put(ports[i], proxies.get(i));
        }
    }

    /** The admin port of proxy {@code i}. */
    public int port(int i) {
        return ports[i];
    }

    /** Takes backend {@code b} of proxy {@code i} out of rotation (its health checks fail): one state change. */
    public void takeOut(int i, int b) {
        Proxy p = proxies.get(i);
        synchronized (p) {
            p.healthy[b] = false;
            p.since[b] = clock.instant();
        }
        p.changes.record(
                StateChanges.Kind.HEALTH,
                p.urls[b],
                "healthy",
                "unhealthy",
                "3 health checks failed in a row (last: ConnectException)");
    }

    /** {@code /status} requests received so far. */
    public long requests() {
        return requests.sum();
    }

    /** Answered so far: at once, on a change while held, after the wait while held. */
    public long[] answered() {
        return new long[] {answeredAtOnce.sum(), answeredOnChange.sum(), answeredAfterWait.sum()};
    }

    /** What proxy {@code i} was asked: requests so far, held now, and its lastChange. */
    public String describe(int i) {
        Proxy p = proxies.get(i);
        return p.requests.get() + " requests, " + p.held.size() + " held, lastChange " + p.changes.last();
    }

    /** Requests held now. */
    public int held() {
        return proxies.stream().mapToInt(p -> p.held.size()).sum();
    }

    /**
     * Answers every held request now. For after an operator stopped: its held requests would otherwise stay in this
     * heap for up to their wait, and count as the operator's when its heap is measured by difference.
     */
    public void answerHeld() {
        for (Proxy p : proxies) {
            for (Held h : p.held) {
                StateChanges.Waiter waiter = h.waiter;
                if (waiter != null && p.held.remove(h) && waiter.withdraw()) {
                    h.exchange.getConnection().getWorker().execute(() -> send(h.exchange, p));
                }
            }
        }
    }

    private void route(HttpServerExchange exchange) {
        Proxy p = byPort.get(exchange.getConnection()
                .getLocalAddress(InetSocketAddress.class)
                .getPort());
        if (p == null || !"/status".equals(exchange.getRequestPath())) {
            exchange.setStatusCode(404);
            exchange.endExchange();
            return;
        }
        requests.increment();
        p.requests.incrementAndGet();
        long after;
        int wait;
        try {
            after = parameter(exchange, "after", -1);
            wait = (int) Math.min(MAX_WAIT_SECONDS, Math.max(0, parameter(exchange, "wait", 0)));
        } catch (NumberFormatException e) {
            exchange.setStatusCode(400);
            exchange.endExchange();
            return;
        }
        // As the proxy: at once unless `after` is the newest change (an `after` beyond it comes from an older process).
        if (wait == 0 || after < 0 || p.changes.last() != after) {
            answeredAtOnce.increment();
            exchange.dispatch(() -> send(exchange, p));
            return;
        }
        exchange.dispatch(SameThreadExecutor.INSTANCE, () -> {
            Executor worker = exchange.getConnection().getWorker();
            Held held = new Held(exchange);
            p.held.add(held); // before the wait: a change may answer it at once
            StateChanges.Waiter waiter = p.changes.onChangeAfter(after, () -> {
                p.held.remove(held);
                answeredOnChange.increment();
                worker.execute(() -> send(exchange, p));
            });
            held.waiter = waiter;
            exchange.getIoThread()
                    .executeAfter(
                            () -> {
                                if (waiter.withdraw()) {
                                    p.held.remove(held);
                                    answeredAfterWait.increment();
                                    worker.execute(() -> send(exchange, p));
                                }
                            },
                            wait,
                            TimeUnit.SECONDS);
        });
    }

    private static long parameter(HttpServerExchange exchange, String name, long absent) {
        Deque<String> values = exchange.getQueryParameters().get(name);
        return values == null || values.isEmpty() ? absent : Long.parseLong(values.getFirst());
    }

    private void send(HttpServerExchange exchange, Proxy p) {
        exchange.getResponseHeaders()
                .put(Headers.CONTENT_TYPE, "application/json")
                .put(Headers.CACHE_CONTROL, "no-store");
        exchange.getResponseSender().send(ByteBuffer.wrap(json(p)));
    }

    /**
     * The proxy's document, written by the proxy's own writer ({@link ProxyStatusCodec}): checks passing or failing,
     * breakers closed, no traffic.
     */
    static byte[] json(Proxy p) {
        List<ProxyStatusDocument.Backend> backends = new ArrayList<>();
        String applied = time(p.appliedAt);
        synchronized (p) {
            for (int b = 0; b < p.urls.length; b++) {
                boolean healthy = p.healthy[b];
                BackendState state = healthy ? BackendState.IN_ROTATION : BackendState.OUT_OF_ROTATION;
                String since = time(p.since[b]);
                backends.add(new ProxyStatusDocument.Backend(
                        p.urls[b],
                        1,
                        "http/1.1",
                        state.wireName(),
                        state.inRotation(),
                        since,
                        new ProxyStatusDocument.Health(
                                healthy,
                                since,
                                healthy ? 12 : 0,
                                healthy ? 0 : 3,
                                2,
                                3,
                                new ProxyStatusDocument.Check(
                                        since, healthy, 0.4, healthy ? null : "ConnectException")),
                        new ProxyStatusDocument.Breaker("closed", applied, null),
                        0,
                        new ProxyStatusDocument.LastMinute(0.0, null, null, null, NO_RATES)));
            }
        }
        List<ProxyStatusDocument.Change> changes = p.changes.newestFirst().stream()
                .map(c -> new ProxyStatusDocument.Change(
                        c.seq(), time(c.at()), c.kind().label(), c.backend(), c.from(), c.to(), c.reason()))
                .toList();
        return ProxyStatusCodec.write(new ProxyStatusDocument(
                ProxyStatusDocument.VERSION,
                new ProxyStatusDocument.Pool(
                        1,
                        "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0",
                        "ConfigMap default/fake-pool",
                        applied,
                        false,
                        null),
                p.changes.last(),
                backends,
                changes));
    }

    private static String time(Instant at) {
        return at.truncatedTo(ChronoUnit.MILLIS).toString();
    }

    @Override
    public void close() {
        // let go of held requests first: their timers would otherwise hand them to a worker that has stopped
        for (Proxy p : proxies) {
            for (Held h : p.held) {
                StateChanges.Waiter waiter = h.waiter;
                if (waiter != null) {
                    waiter.withdraw();
                }
            }
            p.held.clear();
        }
        server.stop();
    }
}
