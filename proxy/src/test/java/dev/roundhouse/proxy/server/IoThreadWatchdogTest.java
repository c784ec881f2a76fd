package dev.roundhouse.proxy.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class IoThreadWatchdogTest {

    private final AtomicLong now = new AtomicLong(1);

    /** An I/O thread that runs what it is handed at once, or (held) keeps it until released. */
    private static final class FakeThread implements Executor {
        final List<Runnable> held = new ArrayList<>();
        boolean stuck;

        @Override
        public void execute(Runnable task) {
            if (stuck) {
                held.add(task);
            } else {
                task.run();
            }
        }

        void unstick() {
            stuck = false;
            held.forEach(Runnable::run);
            held.clear();
        }
    }

    private void tick(IoThreadWatchdog watchdog, int seconds) {
        for (int i = 0; i < seconds; i++) {
            now.addAndGet(IoThreadWatchdog.TICK.toNanos());
            watchdog.check();
        }
    }

    @Test
    void threadsThatRunTheirTasksAreHealthy() {
        IoThreadWatchdog watchdog =
                new IoThreadWatchdog(List.of(new FakeThread(), new FakeThread()), Duration.ofSeconds(5), now::get);

        tick(watchdog, 30);

        assertThat(watchdog.stalled()).isNull();
    }

    @Test
    void aThreadThatDoesNotRunItsTaskWithinTheTimeoutIsStalledUntilItRunsAgain() {
        FakeThread ok = new FakeThread();
        FakeThread stuck = new FakeThread();
        stuck.stuck = true;
        IoThreadWatchdog watchdog = new IoThreadWatchdog(List.of(ok, stuck), Duration.ofSeconds(5), now::get);

        watchdog.check();
        tick(watchdog, 4);
        assertThat(watchdog.stalled()).as("within the timeout").isNull();
        tick(watchdog, 1);
        assertThat(watchdog.stalled()).isEqualTo("I/O thread 2 has not run for 5 s");
        assertThat(stuck.held).as("one task at a time, not one per round").hasSize(1);

        stuck.unstick();
        tick(watchdog, 1);
        assertThat(watchdog.stalled()).isNull();
    }

    @Test
    void aPauseOfTheWholeProcessIsNotHeldAgainstTheThreads() {
        FakeThread slow = new FakeThread();
        slow.stuck = true; // its task waits as every thread's does during a long GC pause
        IoThreadWatchdog watchdog = new IoThreadWatchdog(List.of(slow), Duration.ofSeconds(5), now::get);

        watchdog.check();
        now.addAndGet(Duration.ofSeconds(30).toNanos()); // the checker itself was held up
        watchdog.check();

        assertThat(watchdog.stalled()).isNull();
    }
}
