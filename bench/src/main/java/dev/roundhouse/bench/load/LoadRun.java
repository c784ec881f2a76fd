package dev.roundhouse.bench.load;

import dev.roundhouse.bench.stats.LatencyHistogram;
import dev.roundhouse.testing.ResponseReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * An open-loop, fixed-rate HTTP/1.1 load: one thread per keep-alive connection, each sending its share of the
 * {@link Schedule} at the due times and measuring latency from the due time (so a stall delays, and is charged to,
 * every request due during it: no coordinated omission). One request is outstanding per connection at a time; a
 * connection that falls behind sends its next request as soon as it can.
 *
 * <p>A connection that the server closes ({@code Connection: close}, or an end of stream or reset) is opened again
 * for the next request, and counted. Failed requests are not retried.
 *
 * <p>Usage: {@code start()}, then {@link #startNanos()} is the {@link System#nanoTime()} of time 0 for anything the
 * caller wants to schedule alongside, then {@link #await()}.
 */
public final class LoadRun {

    /** Threads get this long to open their connections before time 0. */
    private static final long LEAD_NANOS = TimeUnit.MILLISECONDS.toNanos(500);

    private final LoadOptions options;
    private final Schedule schedule;
    private final BackendIds backendIds;
    private final byte[] request;
    private final InetSocketAddress address;
    private final List<Worker> workers = new ArrayList<>();
    private final long durationNanos;
    private final long warmupNanos;
    private final long timeoutNanos;
    private final long drainNanos;
    private volatile long t0;

    public LoadRun(LoadOptions options, BackendIds backendIds) {
        this.options = options;
        this.schedule = new Schedule(options.rate(), options.connections());
        this.backendIds = backendIds;
        int port = options.url().getPort() > 0 ? options.url().getPort() : 80;
        this.address = new InetSocketAddress(options.url().getHost(), port);
        String path =
                options.url().getRawPath() == null || options.url().getRawPath().isEmpty()
                        ? "/"
                        : options.url().getRawPath();
        if (options.url().getRawQuery() != null) {
            path += "?" + options.url().getRawQuery();
        }
        String hostHeader = options.url().getHost() + (options.url().getPort() > 0 ? ":" + port : "");
        this.request = ("GET " + path + " HTTP/1.1\r\nHost: " + hostHeader + "\r\nUser-Agent: roundhouse-bench\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII);
        this.durationNanos = options.duration().toNanos();
        this.warmupNanos = options.warmup().toNanos();
        this.timeoutNanos = options.timeout().toNanos();
        this.drainNanos = timeoutNanos + TimeUnit.SECONDS.toNanos(1);
    }

    public LoadOptions options() {
        return options;
    }

    public BackendIds backendIds() {
        return backendIds;
    }

    /** Starts the connection threads; time 0 is half a second from now. */
    public void start() {
        t0 = System.nanoTime() + LEAD_NANOS;
        for (int c = 0; c < options.connections(); c++) {
            Worker w = new Worker(c);
            Thread t = new Thread(w, "load-" + c);
            t.setDaemon(true);
            w.thread = t;
            workers.add(w);
        }
        workers.forEach(w -> w.thread.start());
    }

    /** {@link System#nanoTime()} at time 0 of the schedule. */
    public long startNanos() {
        return t0;
    }

    /** Waits for every connection to finish its schedule (and its drain), then adds up. */
    public LoadResult await() throws InterruptedException {
        for (Worker w : workers) {
            w.thread.join();
        }
        LoadResult.Builder result = new LoadResult.Builder(options, backendIds);
        for (Worker w : workers) {
            result.add(w.stats, w.events, w.connection);
        }
        return result.build();
    }

    /** What one connection counted (only requests due after the warm-up, except {@code opens}). */
    static final class Stats {
        final LatencyHistogram latency = new LatencyHistogram();
        final LatencyHistogram service = new LatencyHistogram();
        final LatencyHistogram lag = new LatencyHistogram();
        final long[] outcomes = new long[Outcome.values().length];
        final long[] byBackend = new long[256];
        long warmupFailures;
        long opens;
        long reopens;
        long closedByHeader;
        long lastDone;
    }

    private final class Worker implements Runnable {
        final int connection;
        final Stats stats = new Stats();
        final EventLog events = options.recordEvents() ? new EventLog() : null;
        final ResponseReader reader = new ResponseReader(16 * 1024, 64 * 1024);
        final BackendField backend = new BackendField(options.backendHeader(), backendIds);
        Thread thread;
        Socket socket;
        OutputStream out;
        long requestsOnSocket;

        Worker(int connection) {
            this.connection = connection;
        }

        @Override
        public void run() {
            try {
                open(); // before time 0 where possible; a failure shows up at the first request
            } catch (IOException e) {
                close();
            }
            long total = schedule.countBefore(connection, durationNanos);
            for (long k = 0; k < total; k++) {
                long due = schedule.dueNanos(connection, k);
                long dueAbs = t0 + due;
                long now = System.nanoTime();
                while (now < dueAbs) {
                    LockSupport.parkNanos(dueAbs - now);
                    now = System.nanoTime();
                }
                boolean measured = due >= warmupNanos;
                if (now - t0 > durationNanos + drainNanos) {
                    for (long rest = k; rest < total; rest++) {
                        long d = schedule.dueNanos(connection, rest);
                        record(d, -1, -1, 0, Outcome.UNSENT, 0, d >= warmupNanos);
                    }
                    break;
                }
                if (socket == null) {
                    try {
                        boolean again = stats.opens > 0;
                        open();
                        if (measured && again) {
                            stats.reopens++;
                        }
                    } catch (IOException e) {
                        close();
                        long done = System.nanoTime() - t0;
                        record(due, now - t0, done, 0, Outcome.CONNECT, 0, measured);
                        continue;
                    }
                }
                exchange(due, measured);
            }
            close();
        }

        private void exchange(long due, boolean measured) {
            long sent = System.nanoTime() - t0;
            boolean reused = requestsOnSocket > 0;
            backend.reset();
            int status = 0;
            boolean reading = false;
            Outcome outcome;
            try {
                out.write(request);
                out.flush();
                reading = true;
                status = reader.readResponse(backend);
                requestsOnSocket++;
                outcome = status >= 200 && status < 400 ? Outcome.OK : Outcome.STATUS;
                if (reader.close()) {
                    if (measured) {
                        stats.closedByHeader++;
                    }
                    close();
                }
            } catch (SocketTimeoutException e) {
                outcome = Outcome.TIMEOUT;
                close();
            } catch (IOException e) {
                // A kept-alive connection that ends before a byte of the answer: the server closed it meanwhile.
                outcome = reused && (!reading || reader.received() == 0) ? Outcome.STALE : Outcome.IO;
                close();
            }
            long done = System.nanoTime() - t0;
            record(due, sent, done, backend.backend(), outcome, status, measured);
        }

        private void record(
                long due, long sent, long done, int backend, Outcome outcome, int status, boolean measured) {
            if (events != null) {
                events.add(due, sent, done, backend, outcome, status);
            }
            if (!measured) {
                if (outcome.failed()) {
                    stats.warmupFailures++;
                }
                return;
            }
            stats.outcomes[outcome.ordinal()]++;
            if (outcome == Outcome.OK || outcome == Outcome.STATUS) {
                stats.latency.record(done - due);
                stats.service.record(done - sent);
                stats.lag.record(sent - due);
                stats.byBackend[Math.min(backend, 255)]++;
            }
            if (done > stats.lastDone) {
                stats.lastDone = done;
            }
        }

        private void open() throws IOException {
            Socket s = new Socket();
            socket = s;
            s.setTcpNoDelay(true);
            s.setSoTimeout((int) Math.max(1, TimeUnit.NANOSECONDS.toMillis(timeoutNanos)));
            s.connect(address, (int) Math.max(1, TimeUnit.NANOSECONDS.toMillis(timeoutNanos)));
            out = s.getOutputStream();
            InputStream in = s.getInputStream();
            reader.reset(in);
            requestsOnSocket = 0;
            stats.opens++;
        }

        private void close() {
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
}
