package dev.roundhouse.proxy.status;

import java.time.Clock;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/**
 * The last {@link #KEPT} state changes a person or the operator would want to know about: health flips, breaker
 * transitions, pool reloads. Written rarely (a change, not a request), read by {@code /status}; a reader waiting
 * for a change newer than the one it saw is called back when it comes.
 */
public final class StateChanges {

    public static final int KEPT = 100;

    /** What changed. */
    public enum Kind {
        HEALTH,
        BREAKER,
        RELOAD;

        public String label() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /** One change; {@code backend} is null for a reload. */
    public record Change(long seq, Instant at, Kind kind, String backend, String from, String to, String reason) {}

    private final Clock clock;
    private final ArrayDeque<Change> changes = new ArrayDeque<>(KEPT);
    private final List<Runnable> waiting = new ArrayList<>();
    private long seq;

    public StateChanges(Clock clock) {
        this.clock = clock;
    }

    public void record(Kind kind, String backend, String from, String to, String reason) {
        record(clock.instant(), kind, backend, from, to, reason);
    }

    /** A change that happened at {@code at}: a health check's own time, so the change and the backend agree on it. */
    public void record(Instant at, Kind kind, String backend, String from, String to, String reason) {
        List<Runnable> wake;
        synchronized (this) {
            if (changes.size() == KEPT) {
                changes.removeLast();
            }
            changes.addFirst(new Change(++seq, at, kind, backend, from, to, reason));
            if (waiting.isEmpty()) {
                return;
            }
            wake = new ArrayList<>(waiting);
            waiting.clear();
        }
        wake.forEach(Runnable::run);
    }

    /** The sequence number of the newest change, 0 before any. */
    public synchronized long last() {
        return seq;
    }

    /** The changes kept, newest first. */
    public synchronized List<Change> newestFirst() {
        return List.copyOf(changes);
    }

    /**
     * Runs {@code then} once, on the recording thread, when a change newer than {@code seen} is recorded; at once, on
     * this thread, when there is one already. Returns a handle that withdraws the wait (false when it ran already).
     */
    public Waiter onChangeAfter(long seen, Runnable then) {
        Waiter waiter = new Waiter(then);
        synchronized (this) {
            if (seq <= seen) {
                waiting.add(waiter);
                return waiter;
            }
        }
        waiter.run();
        return waiter;
    }

    /** A wait for a change; runs its action at most once, whichever of the change and a withdrawal comes first. */
    public final class Waiter implements Runnable {
        private final Runnable then;
        private boolean done;

        private Waiter(Runnable then) {
            this.then = then;
        }

        @Override
        public void run() {
            synchronized (this) {
                if (done) {
                    return;
                }
                done = true;
            }
            then.run();
        }

        /** Withdraws the wait; true when the action had not run and now never will. */
        public boolean withdraw() {
            synchronized (StateChanges.this) {
                for (Iterator<Runnable> i = waiting.iterator(); i.hasNext(); ) {
                    if (i.next() == this) {
                        i.remove();
                    }
                }
            }
            synchronized (this) {
                if (done) {
                    return false;
                }
                done = true;
                return true;
            }
        }
    }
}
