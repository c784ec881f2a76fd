package dev.roundhouse.proxy.testing;

import static org.assertj.core.api.Assertions.assertThat;

import dev.roundhouse.proxy.RoundhouseProxy;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.xnio.XnioIoThread;

/**
 * After each hostile case, its proxy left alone for {@link #WINDOW}: the CPU time its I/O threads spend meanwhile
 * must stay under a quarter of it (a thread stuck in a loop spends nearly all of it, an idle one next to nothing).
 * The proxy is handed over at the end of its case, stays open and unused, and is measured and closed once its window
 * has passed, while the next cases run on proxies of their own: a few idle seconds after every case, without the
 * suite waiting for them one after another. What was busy fails the class at its end, naming the case.
 *
 * <p>Register with {@code @RegisterExtension static final IdleAfterwards idle = new IdleAfterwards();}, then hand a
 * proxy over at the end of its case, or {@link #track} it for that to happen when the case ends.
 */
public final class IdleAfterwards implements AfterEachCallback, AfterAllCallback {

    public static final Duration WINDOW = Duration.ofSeconds(3);
    private static final double BUSY_SHARE = 0.25;

    private record Watched(String after, RoundhouseProxy proxy, List<XnioIoThread> threads, long[] cpu, long since) {}

    private final ThreadMXBean mx = ManagementFactory.getThreadMXBean();
    private final List<Watched> watched = new ArrayList<>();
    private final List<String> busy = new ArrayList<>();
    /** Proxies of the running case, handed over when it ends. */
    private final List<RoundhouseProxy> tracked = new ArrayList<>();

    /** {@code proxy}, handed over when the case that started it ends, as {@link #handOver} does. */
    public synchronized RoundhouseProxy track(RoundhouseProxy proxy) {
        tracked.add(proxy);
        return proxy;
    }

    @Override
    public synchronized void afterEach(ExtensionContext context) {
        for (RoundhouseProxy proxy : tracked) {
            handOver(proxy, context.getDisplayName());
        }
        tracked.clear();
    }

    /**
     * Takes {@code proxy} over at the end of the case {@code after}: nothing may use it from here; it is closed here.
     */
    public synchronized void handOver(RoundhouseProxy proxy, String after) {
        List<XnioIoThread> threads = proxy.ioThreads();
        watched.add(new Watched(after, proxy, threads, cpu(threads), System.nanoTime()));
        settle(false);
    }

    /** Measures and closes every proxy whose window has passed; with {@code all}, waits for the rest first. */
    private void settle(boolean all) {
        for (var it = watched.iterator(); it.hasNext(); ) {
            Watched w = it.next();
            long end = w.since() + WINDOW.toNanos();
            long now = System.nanoTime();
            if (now < end) {
                if (!all) {
                    continue;
                }
                try {
                    Thread.sleep((end - now) / 1_000_000 + 1); // the window itself, not a synchronisation
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException("interrupted while measuring", e);
                }
            }
            long[] after = cpu(w.threads());
            long spent = 0;
            for (int i = 0; i < after.length; i++) {
                spent += Math.max(0, after[i] - w.cpu()[i]);
            }
            long window = System.nanoTime() - w.since();
            if (spent > window * BUSY_SHARE) {
                busy.add(String.format(
                        "%s: the I/O threads spent %d ms of CPU in %d ms of idleness",
                        w.after(), spent / 1_000_000, window / 1_000_000));
            }
            w.proxy().close();
            it.remove();
        }
    }

    private long[] cpu(List<XnioIoThread> threads) {
        long[] times = new long[threads.size()];
        for (int i = 0; i < times.length; i++) {
            times[i] = Math.max(0, mx.getThreadCpuTime(threads.get(i).getId()));
        }
        return times;
    }

    @Override
    public synchronized void afterAll(ExtensionContext context) {
        settle(true);
        assertThat(busy).as("proxies busy after a hostile case").isEmpty();
    }
}
