package dev.roundhouse.bench.soak;

import dev.roundhouse.bench.stats.LatencyHistogram;
import java.io.IOException;
import java.net.SocketTimeoutException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;

/**
 * A fixed request rate over a fixed number of keep-alive connections, one thread each. Request {@code k} of
 * connection {@code i} is due at {@code start + (k * connections + i) / rate}: the connections take turns, so the
 * rate is even over time, not bursts of {@code connections} requests. A connection whose previous response came late
 * sends at once to catch up, and latency is counted from when the request was due, not from when it was sent (so a
 * stall of the server shows in full, and is not hidden by the generator waiting for it: no coordinated omission).
 */
public final class PacedLoad {

    private final String host;
    private final int port;
    private final String path;
    private final int connections;
    private final double rate;
    private final int timeoutMillis;

    private final LatencyHistogram latency = new LatencyHistogram();
    private final LatencyHistogram service = new LatencyHistogram();
    private final LongAdder ok = new LongAdder();
    private final LongAdder non2xx = new LongAdder();
    private final LongAdder socketErrors = new LongAdder();
    private final LongAdder timeouts = new LongAdder();
    private final LongAdder reconnects = new LongAdder();
    private final List<Thread> threads = new ArrayList<>();
    private volatile long startNanos;
    private volatile long endNanos;
    private volatile String lastError;

    public PacedLoad(String host, int port, String path, int connections, double rate, int timeoutMillis) {
        if (connections < 1 || rate <= 0) {
            throw new IllegalArgumentException("need at least 1 connection and a positive rate");
        }
        this.host = host;
        this.port = port;
        this.path = path;
        this.connections = connections;
        this.rate = rate;
        this.timeoutMillis = timeoutMillis;
    }

    /** When request {@code k} of connection {@code i} is due, in nanoseconds after the start. */
    public static long dueOffset(long k, int i, int connections, double rate) {
        return (long) ((k * (double) connections + i) * 1e9 / rate);
    }

    /** Starts all connections now; they stop sending after {@code durationNanos}. */
    public void start(long durationNanos) {
        startNanos = System.nanoTime();
        endNanos = startNanos + durationNanos;
        for (int i = 0; i < connections; i++) {
            int index = i;
            Thread t = new Thread(() -> run(index), "soak-conn-" + i);
            t.setDaemon(true);
            threads.add(t);
            t.start();
        }
    }

    private void run(int index) {
        try (HttpConnection connection = new HttpConnection(host, port, path, timeoutMillis)) {
            long opened = 0;
            for (long k = 0; ; k++) {
                long due = startNanos + dueOffset(k, index, connections, rate);
                if (due >= endNanos) {
                    return;
                }
                for (long wait = due - System.nanoTime(); wait > 0; wait = due - System.nanoTime()) {
                    LockSupport.parkNanos(wait);
                }
                long sent = System.nanoTime();
                try {
                    int status = connection.get();
                    if (status >= 200 && status < 300) {
                        ok.increment();
                    } else {
                        non2xx.increment();
                        lastError = "HTTP " + status;
                    }
                } catch (SocketTimeoutException e) {
                    timeouts.increment();
                    lastError = e.toString();
                } catch (IOException e) {
                    socketErrors.increment();
                    lastError = e.toString();
                }
                long done = System.nanoTime();
                latency.record((done - due) / 1000);
                service.record((done - sent) / 1000);
                if (connection.opened() > opened) {
                    if (opened > 0) {
                        reconnects.increment();
                    }
                    opened = connection.opened();
                }
            }
        }
    }

    /** Waits for every connection to send its last request and read its answer. */
    public void await() throws InterruptedException {
        for (Thread t : threads) {
            t.join();
        }
    }

    public Counts counts() {
        return new Counts(
                ok.sum(),
                non2xx.sum(),
                socketErrors.sum(),
                timeouts.sum(),
                reconnects.sum(),
                latency.snapshot(),
                service.snapshot());
    }

    public String lastError() {
        return lastError;
    }

    /**
     * Totals since the start; {@link #minus} gives those of an interval. {@code latency}: from when each request was
     * due; {@code service}: from when it was sent. They differ when the generator itself fell behind (a connection
     * still waiting for its previous answer, or the generator's thread not scheduled in time).
     */
    public record Counts(
            long ok,
            long non2xx,
            long socketErrors,
            long timeouts,
            long reconnects,
            LatencyHistogram latency,
            LatencyHistogram service) {

        public static Counts zero() {
            return new Counts(0, 0, 0, 0, 0, new LatencyHistogram(), new LatencyHistogram());
        }

        public long requests() {
            return ok + non2xx + socketErrors + timeouts;
        }

        public long errors() {
            return non2xx + socketErrors + timeouts;
        }

        public Counts minus(Counts earlier) {
            return new Counts(
                    ok - earlier.ok,
                    non2xx - earlier.non2xx,
                    socketErrors - earlier.socketErrors,
                    timeouts - earlier.timeouts,
                    reconnects - earlier.reconnects,
                    latency.minus(earlier.latency),
                    service.minus(earlier.service));
        }
    }
}
