package dev.roundhouse.proxy.pool;

import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;

/**
 * Smooth weighted round-robin, as nginx does it, made lock-free: the whole smooth sequence for one
 * set of weights is computed when the rotation is built, and picking is one atomic increment and an
 * array read. Weights 5,1,1 give a,a,b,a,c,a,a rather than a,a,a,a,a,b,c.
 */
public final class WeightedRoundRobin {

    public record Member(Backend backend, int weight) {
    }

    private static final WeightedRoundRobin EMPTY = new WeightedRoundRobin(new Backend[0], 0);

    private final Backend[] sequence;
    private final int distinct;
    private final AtomicInteger next = new AtomicInteger();

    private WeightedRoundRobin(Backend[] sequence, int distinct) {
        this.sequence = sequence;
        this.distinct = distinct;
    }

    public static WeightedRoundRobin of(List<Member> members) {
        if (members.isEmpty()) {
            return EMPTY;
        }
        int gcd = 0;
        for (Member m : members) {
            gcd = gcd(gcd, m.weight());
        }
        int n = members.size();
        int[] weight = new int[n];
        int total = 0;
        for (int i = 0; i < n; i++) {
            weight[i] = members.get(i).weight() / gcd;
            total += weight[i];
        }
        // nginx's algorithm: every step each member gains its weight, the largest wins and pays the total.
        int[] current = new int[n];
        Backend[] sequence = new Backend[total];
        for (int step = 0; step < total; step++) {
            int best = 0;
            for (int i = 0; i < n; i++) {
                current[i] += weight[i];
                if (current[i] > current[best]) {
                    best = i;
                }
            }
            current[best] -= total;
            sequence[step] = members.get(best).backend();
        }
        return new WeightedRoundRobin(sequence, n);
    }

    /** Number of distinct backends in rotation. */
    public int size() {
        return distinct;
    }

    /**
     * A request's turn: where its picks start in the sequence. One per request, not per attempt: a retry that
     * took a turn of its own would take the next request's, and every request would then start where the last
     * one failed (with two backends, always on the failing one).
     */
    public int nextTurn() {
        return next.getAndIncrement();
    }

    /** The backend at the next turn that {@code acceptable} takes (see {@link #pick(int, Predicate)}). */
    public Backend pick(Predicate<Backend> acceptable) {
        return pick(nextTurn(), acceptable);
    }

    /**
     * The first backend from {@code turn} on in the sequence that {@code acceptable} takes, or null when it takes
     * none. The predicate may have side effects (acquiring a breaker permit): it is asked in sequence order and
     * the first yes is used.
     */
    public Backend pick(int turn, Predicate<Backend> acceptable) {
        int length = sequence.length;
        if (length == 0) {
            return null;
        }
        int start = turn;
        for (int i = 0; i < length; i++) {
            Backend candidate = sequence[Math.floorMod(start + i, length)];
            if (acceptable.test(candidate)) {
                return candidate;
            }
        }
        return null;
    }

    private static int gcd(int a, int b) {
        while (b != 0) {
            int t = a % b;
            a = b;
            b = t;
        }
        return a;
    }
}
