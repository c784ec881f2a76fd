package dev.roundhouse.proxy.server;

import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import java.util.stream.Collectors;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * Tells whether every I/O thread still runs: each one is handed a small task, and one that has not run it within
 * the stall timeout is stuck (in a loop, a blocking call, a lock), so none of the connections it owns is served.
 * {@code /healthz} then answers 503 and a liveness probe restarts the proxy. A stall is logged once, with where
 * the thread is. A pause of the whole process (a long GC, a frozen container) delays the watchdog as much as the
 * threads and is not held against them.
 */
public final class IoThreadWatchdog implements AutoCloseable {

    private static final Logger log = LogManager.getLogger(IoThreadWatchdog.class);

    /** How often each thread is handed a task. */
    static final Duration TICK = Duration.ofSeconds(1);

    private final List<? extends Executor> ioThreads;
    private final long stallNanos;
    private final LongSupplier nanoTime;
    /** When the task waiting on each thread was handed to it; 0 when it ran. Written by that thread and the checker. */
    private final long[] pendingSince;

    private final Thread[] threads;
    private final boolean[] reported;
    private long lastCheck;
    private volatile String stalled;
    private ScheduledExecutorService checker;

    IoThreadWatchdog(List<? extends Executor> ioThreads, Duration stallTimeout, LongSupplier nanoTime) {
        this.ioThreads = List.copyOf(ioThreads);
        this.stallNanos = stallTimeout.toNanos();
        this.nanoTime = nanoTime;
        this.pendingSince = new long[ioThreads.size()];
        this.threads = new Thread[ioThreads.size()];
        this.reported = new boolean[ioThreads.size()];
    }

    /** Starts checking {@code ioThreads} every {@link #TICK}, on a thread of its own. */
    public static IoThreadWatchdog start(List<? extends Executor> ioThreads, Duration stallTimeout) {
        IoThreadWatchdog watchdog = new IoThreadWatchdog(ioThreads, stallTimeout, System::nanoTime);
        watchdog.checker = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "io-watchdog");
            t.setDaemon(true);
            return t;
        });
        watchdog.checker.scheduleAtFixedRate(watchdog::check, 0, TICK.toMillis(), TimeUnit.MILLISECONDS);
        return watchdog;
    }

    /** Null while every I/O thread runs; else which ones are stuck, and for how long, in a line. */
    public String stalled() {
        return stalled;
    }

    /** One round: judges the tasks handed out, and hands a new one to each thread whose last one ran. */
    synchronized void check() {
        long now = nanoTime.getAsLong();
        if (lastCheck != 0 && now - lastCheck > 3 * TICK.toNanos()) {
            // The checker itself was held up: the whole process paused. Start the count again.
            Arrays.fill(pendingSince, 0);
        }
        lastCheck = now;
        StringBuilder stuck = null;
        for (int i = 0; i < ioThreads.size(); i++) {
            long since;
            synchronized (pendingSince) {
                since = pendingSince[i];
            }
            if (since != 0) {
                if (now - since >= stallNanos) {
                    stuck = (stuck == null ? new StringBuilder("I/O thread ") : stuck.append(", "))
                            .append(i + 1)
                            .append(" has not run for ")
                            .append(TimeUnit.NANOSECONDS.toSeconds(now - since))
                            .append(" s");
                    report(i, now - since);
                }
                continue;
            }
            if (reported[i]) {
                reported[i] = false;
                log.warn("I/O thread {} runs again", i + 1);
            }
            synchronized (pendingSince) {
                pendingSince[i] = now;
            }
            int index = i;
            ioThreads.get(i).execute(() -> ran(index));
        }
        stalled = stuck == null ? null : stuck.toString();
    }

    private void ran(int index) {
        synchronized (pendingSince) {
            pendingSince[index] = 0;
            threads[index] = Thread.currentThread();
        }
    }

    private void report(int index, long forNanos) {
        if (reported[index]) {
            return;
        }
        reported[index] = true;
        Thread thread;
        synchronized (pendingSince) {
            thread = threads[index];
        }
        String where = thread == null
                ? "(never ran)"
                : Arrays.stream(thread.getStackTrace())
                        .limit(12)
                        .map(StackTraceElement::toString)
                        .collect(Collectors.joining("\n\tat ", "\n\tat ", ""));
        log.error(
                "I/O thread {} has not run for {} s: its connections are not served, /healthz answers 503. It is at:{}",
                index + 1,
                TimeUnit.NANOSECONDS.toSeconds(forNanos),
                where);
    }

    @Override
    public void close() {
        if (checker != null) {
            checker.shutdownNow();
        }
    }
}
