package dev.roundhouse.proxy.pool;

import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;

/**
 * Weighted round-robin, lock-free: picking is one atomic increment and a lookup. Over one cycle of turns (the sum
 * of the weights, divided by their greatest common divisor) each backend gets exactly its weight's share.
 *
 * <p>Two orders, chosen when the rotation is built. Small rotations take nginx's smooth sequence, precomputed:
 * weights 5,1,1 give a,a,b,a,c,a,a rather than a,a,a,a,a,b,c. Computing it costs members × cycle steps, a second of
 * CPU at the pool format's limits (1,000 backends, weights up to 1,000), under the pool's lock on every reload and
 * health flip. Beyond {@link #PRECOMPUTED_STEPS} the rotation is spread instead: each backend owns an interval of
 * the cycle as long as its weight, and turn {@code t} lands on position {@code t × stride mod cycle}, with a stride
 * coprime to the cycle near cycle / φ. Every position is hit once per cycle (exact shares), and by the three-gap
 * theorem the turns between two picks of one backend take at most three values (smooth). Built in O(n), picked in
 * O(log n).
 */
public final class WeightedRoundRobin {

    public record Member(Backend backend, int weight) {}

    /** Members × cycle up to which nginx's sequence is precomputed (a tenth of a millisecond of CPU at most). */
    public static final long PRECOMPUTED_STEPS = 1 << 16;

    private static final double INVERSE_GOLDEN_RATIO = 0.6180339887498949;
    private static final WeightedRoundRobin EMPTY = new WeightedRoundRobin(new Backend[0], new Backend[0], null, 0, 0);

    private final Backend[] backends;
    /** nginx's sequence, one entry per position of the cycle; null when the rotation is spread. */
    private final Backend[] sequence;
    /** For a spread rotation: where each backend's interval ends, cumulative weights. */
    private final long[] ends;

    private final int cycle;
    private final long stride;
    private final AtomicInteger next = new AtomicInteger();

    private WeightedRoundRobin(Backend[] backends, Backend[] sequence, long[] ends, int cycle, long stride) {
        this.backends = backends;
        this.sequence = sequence;
        this.ends = ends;
        this.cycle = cycle;
        this.stride = stride;
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
        Backend[] backends = new Backend[n];
        int[] weight = new int[n];
        long total = 0;
        for (int i = 0; i < n; i++) {
            backends[i] = members.get(i).backend();
            weight[i] = members.get(i).weight() / gcd;
            total += weight[i];
        }
        if (total > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("weights add up to more than " + Integer.MAX_VALUE);
        }
        int cycle = (int) total;
        if ((long) n * cycle <= PRECOMPUTED_STEPS) {
            return new WeightedRoundRobin(backends, nginxSequence(backends, weight, cycle), null, cycle, 0);
        }
        long[] ends = new long[n];
        long end = 0;
        for (int i = 0; i < n; i++) {
            end += weight[i];
            ends[i] = end;
        }
        return new WeightedRoundRobin(backends, null, ends, cycle, coprimeStride(cycle));
    }

    /** nginx's smooth weighted round-robin: every step each member gains its weight, the largest wins and pays. */
    private static Backend[] nginxSequence(Backend[] backends, int[] weight, int cycle) {
        int n = backends.length;
        int[] current = new int[n];
        Backend[] sequence = new Backend[cycle];
        for (int step = 0; step < cycle; step++) {
            int best = 0;
            for (int i = 0; i < n; i++) {
                current[i] += weight[i];
                if (current[i] > current[best]) {
                    best = i;
                }
            }
            current[best] -= cycle;
            sequence[step] = backends[best];
        }
        return sequence;
    }

    /**
     * A stride coprime to {@code cycle} (so that the turns of one cycle hit every position), near cycle / φ, with the
     * smallest partial quotients in the continued fraction of stride / cycle that a window around it offers. The
     * golden ratio's are all 1, which is what spreads a rotation evenly; a rational close to it shares only its first
     * ones, and a large quotient further on would bunch the picks of light backends.
     */
    static long coprimeStride(int cycle) {
        if (cycle <= 2) {
            return 1;
        }
        long target = Math.round(cycle * INVERSE_GOLDEN_RATIO);
        long best = -1;
        long bestQuotient = Long.MAX_VALUE;
        for (long delta = 0; delta <= STRIDE_WINDOW || best < 0; delta++) {
            for (int side = 0; side < (delta == 0 ? 1 : 2); side++) {
                long candidate = side == 0 ? target + delta : target - delta;
                if (candidate > 0 && candidate < cycle) {
                    long quotient = largestPartialQuotient(candidate, cycle);
                    if (quotient > 0 && quotient < bestQuotient) {
                        best = candidate;
                        bestQuotient = quotient;
                    }
                }
            }
        }
        return best;
    }

    /** Strides tried on each side of cycle / φ. */
    private static final int STRIDE_WINDOW = 2_000;

    /**
     * The largest partial quotient of the continued fraction of a / b (0 < a < b), the leading 0 left out; 0 when a
     * and b are not coprime. One run of Euclid's algorithm gives both.
     */
    static long largestPartialQuotient(long a, long b) {
        long largest = 0;
        long numerator = b;
        long denominator = a;
        while (denominator != 0) {
            largest = Math.max(largest, numerator / denominator);
            long rest = numerator % denominator;
            numerator = denominator;
            denominator = rest;
        }
        return numerator == 1 ? largest : 0;
    }

    /** Number of distinct backends in rotation. */
    public int size() {
        return backends.length;
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
        if (cycle == 0) {
            return null;
        }
        int start = Math.floorMod(turn, cycle);
        for (int i = 0; i < cycle; i++) {
            Backend candidate = at((start + i) % cycle);
            if (acceptable.test(candidate)) {
                return candidate;
            }
        }
        return null;
    }

    /** The backend at {@code position} (0 to cycle - 1) of the cycle. */
    private Backend at(int position) {
        if (sequence != null) {
            return sequence[position];
        }
        long point = position * stride % cycle;
        int low = 0;
        int high = ends.length - 1;
        while (low < high) { // the first interval that ends after the point
            int mid = (low + high) >>> 1;
            if (ends[mid] > point) {
                high = mid;
            } else {
                low = mid + 1;
            }
        }
        return backends[low];
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
