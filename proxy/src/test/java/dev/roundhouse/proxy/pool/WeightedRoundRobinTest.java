package dev.roundhouse.proxy.pool;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

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

        Map<String, Long> counts = picks(rr, 6000).stream()
                .collect(Collectors.groupingBy(Function.identity(), Collectors.counting()));

        assertThat(counts).containsEntry("a", 3000L).containsEntry("b", 2000L).containsEntry("c", 1000L);
    }

    @Test
    void refusedCandidatesAreSkippedAndNoneAcceptableGivesNull() {
        Backend a = backend("a");
        Backend b = backend("b");
        WeightedRoundRobin rr = WeightedRoundRobin.of(List.of(
                new WeightedRoundRobin.Member(a, 1), new WeightedRoundRobin.Member(b, 1)));

        for (int i = 0; i < 5; i++) {
            assertThat(rr.pick(x -> x != a)).isSameAs(b);
        }
        assertThat(rr.pick(x -> false)).isNull();
        assertThat(WeightedRoundRobin.of(List.of()).pick(x -> true)).isNull();
    }
}
