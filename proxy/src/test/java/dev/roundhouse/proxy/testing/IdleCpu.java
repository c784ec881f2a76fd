package dev.roundhouse.proxy.testing;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

/**
 * Tells a busy thread from idle ones: the CPU time the JVM's threads (the calling one excepted) spend over a window
 * in which nothing is asked of them. A thread stuck in a loop spends nearly the whole window; an idle proxy
 * spends next to nothing. The bound is a fraction of the window, far from both, so a loaded machine does not
 * tip it.
 */
public final class IdleCpu {

    /** The share of the window that busy threads together may spend before the process counts as busy. */
    private static final double BUSY_SHARE = 0.25;

    private IdleCpu() {}

    /**
     * Waits {@code window} (the measurement itself, not synchronisation) and fails when the threads spent more than
     * a quarter of it on a CPU, naming the busiest thread.
     */
    public static void assertIdleFor(Duration window, String after) {
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        long self = Thread.currentThread().getId();
        Map<Long, Long> before = cpuTimes(threads, self);
        try {
            Thread.sleep(window.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while measuring", e);
        }
        Map<Long, Long> afterTimes = cpuTimes(threads, self);
        long total = 0;
        long busiest = 0;
        String busiestName = "none";
        for (Map.Entry<Long, Long> e : afterTimes.entrySet()) {
            long spent = e.getValue() - before.getOrDefault(e.getKey(), 0L);
            total += spent;
            if (spent > busiest) {
                busiest = spent;
                var info = threads.getThreadInfo(e.getKey());
                busiestName = info == null ? "thread " + e.getKey() : info.getThreadName();
            }
        }
        assertThat(total)
                .as(
                        "CPU time over %d ms of idleness after %s (busiest: '%s', %d ms)",
                        window.toMillis(), after, busiestName, busiest / 1_000_000)
                .isLessThan((long) (window.toNanos() * BUSY_SHARE));
    }

    private static Map<Long, Long> cpuTimes(ThreadMXBean threads, long self) {
        Map<Long, Long> times = new HashMap<>();
        for (long id : threads.getAllThreadIds()) {
            if (id != self) {
                long t = threads.getThreadCpuTime(id);
                if (t >= 0) {
                    times.put(id, t);
                }
            }
        }
        return times;
    }
}
