package dev.roundhouse.proxy.pool;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class WeightedRoundRobinTest {

    private static Backend backend(String name) {
        return new Backend("http://" + name + ":80", java.net.URI.create("http://" + name + ":80"), null);
    }

    private static List<String> picks(WeightedRoundRobin rr, int n) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(rr.pick(b -> true).key().replace("http://", "").replace(":80", ""));
        }
        return out;
    }

    @Test
    void equalWeightsTakeTurnsInOrder() {
        WeightedRoundRobin rr = WeightedRoundRobin.of(List.of(
                new WeightedRoundRobin.Member(backend("a"), 1),
                new WeightedRoundRobin.Member(backend("b"), 1),
                new WeightedRoundRobin.Member(backend("c"), 1)));

        assertThat(picks(rr, 7)).containsExactly("a", "b", "c", "a", "b", "c", "a");
    }

    @Test
    void weightsAreSpreadSmoothlyAsNginxDoes() {
        WeightedRoundRobin rr = WeightedRoundRobin.of(List.of(
                new WeightedRoundRobin.Member(backend("a"), 5),
                new WeightedRoundRobin.Member(backend("b"), 1),
                new WeightedRoundRobin.Member(backend("c"), 1)));

        // nginx's documented sequence for weights 5, 1, 1
        assertThat(picks(rr, 7)).containsExactly("a", "a", "b", "a", "c", "a", "a");
    }

    @Test
    void sharesFollowTheWeightsOverManyPicks() {
        WeightedRoundRobin rr = WeightedRoundRobin.of(List.of(
                new WeightedRoundRobin.Member(backend("a"), 300),
                new WeightedRoundRobin.Member(backend("b"), 200),
                new WeightedRoundRobin.Member(backend("c"), 100)));

        Map<String, Long> counts =
                picks(rr, 6000).stream().collect(Collectors.groupingBy(Function.identity(), Collectors.counting()));

        assertThat(counts).containsEntry("a", 3000L).containsEntry("b", 2000L).containsEntry("c", 1000L);
    }

    @Test
    void refusedCandidatesAreSkippedAndNoneAcceptableGivesNull() {
        Backend a = backend("a");
        Backend b = backend("b");
        WeightedRoundRobin rr = WeightedRoundRobin.of(
                List.of(new WeightedRoundRobin.Member(a, 1), new WeightedRoundRobin.Member(b, 1)));

        for (int i = 0; i < 5; i++) {
            assertThat(rr.pick(x -> x != a)).isSameAs(b);
        }
        assertThat(rr.pick(x -> false)).isNull();
        assertThat(WeightedRoundRobin.of(List.of()).pick(x -> true)).isNull();
    }

    /** The pool format's limits: 1,000 backends with weights up to 1,000, far past the precomputed sequence. */
    private static List<WeightedRoundRobin.Member> largest(java.util.Random random) {
        List<WeightedRoundRobin.Member> members = new ArrayList<>();
        for (int i = 0; i < 1000; i++) {
            members.add(new WeightedRoundRobin.Member(backend("b" + i), 1 + random.nextInt(1000)));
        }
        return members;
    }

    @Test
    void atThePoolFormatsLimitsEachBackendGetsExactlyItsWeightPerCycleSpreadEvenly() {
        List<WeightedRoundRobin.Member> members = largest(new java.util.Random(22));
        long steps = (long) members.size()
                * members.stream().mapToLong(WeightedRoundRobin.Member::weight).sum();
        assertThat(steps)
                .as("members x cycle: not the precomputed sequence")
                .isGreaterThan(WeightedRoundRobin.PRECOMPUTED_STEPS);
        WeightedRoundRobin rr = WeightedRoundRobin.of(members);
        int cycle = (int)
                members.stream().mapToLong(WeightedRoundRobin.Member::weight).sum(); // gcd 1 here

        Map<Backend, List<Integer>> turns = new java.util.HashMap<>();
        for (int t = 0; t < cycle; t++) {
            turns.computeIfAbsent(rr.pick(t, b -> true), b -> new ArrayList<>()).add(t);
        }
        for (WeightedRoundRobin.Member m : members) {
            List<Integer> mine = turns.get(m.backend());
            assertThat(mine)
                    .as("picks of a backend of weight %d in one cycle", m.weight())
                    .hasSize(m.weight());
            // The gaps between its picks (around the cycle) take at most three values, the longest within three
            // times the mean: no clumps.
            java.util.Set<Integer> gaps = new java.util.TreeSet<>();
            for (int i = 0; i < mine.size(); i++) {
                int next = i + 1 < mine.size() ? mine.get(i + 1) : mine.get(0) + cycle;
                gaps.add(next - mine.get(i));
            }
            assertThat(gaps)
                    .as("gaps between the picks of a backend of weight %d", m.weight())
                    .hasSizeLessThanOrEqualTo(3);
            assertThat(((java.util.TreeSet<Integer>) gaps).last())
                    .as("longest gap, weight %d", m.weight())
                    .isLessThanOrEqualTo(3 * cycle / m.weight() + 1);
        }
    }

    @Test
    void aSpreadRotationSkipsRefusedCandidatesAsTheSequenceDoes() {
        List<WeightedRoundRobin.Member> members = largest(new java.util.Random(7));
        Backend only = members.get(500).backend();
        WeightedRoundRobin rr = WeightedRoundRobin.of(members);

        assertThat(rr.size()).isEqualTo(1000);
        for (int turn : new int[] {0, 1, 123_456, -5, Integer.MAX_VALUE}) {
            assertThat(rr.pick(turn, b -> b == only)).isSameAs(only);
            assertThat(rr.pick(turn, b -> true)).isNotNull();
        }
        assertThat(rr.pick(3, b -> false)).isNull();
    }

    @Test
    void theStrideHitsEveryPositionOfTheCycleWithSmallPartialQuotients() {
        for (int cycle : new int[] {1, 2, 3, 10, 1000, 1024, 999_983, 1_000_000}) {
            long stride = WeightedRoundRobin.coprimeStride(cycle);
            assertThat(java.math.BigInteger.valueOf(stride)
                            .gcd(java.math.BigInteger.valueOf(cycle))
                            .intValue())
                    .as("gcd of stride %d and cycle %d", stride, cycle)
                    .isEqualTo(1);
            if (cycle > 2) {
                assertThat(WeightedRoundRobin.largestPartialQuotient(stride, cycle))
                        .as("cycle %d", cycle)
                        .isLessThanOrEqualTo(5);
            }
        }
    }
}
