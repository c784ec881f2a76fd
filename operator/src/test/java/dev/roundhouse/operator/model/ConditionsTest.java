package dev.roundhouse.operator.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;

import io.fabric8.kubernetes.api.model.Condition;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;

class ConditionsTest {

    private static final Instant T1 = Instant.parse("2026-11-25T10:00:00.123456Z");
    private static final Instant T2 = Instant.parse("2026-11-25T10:05:00Z");

    private final List<Condition> allGood = List.of(
            Conditions.condition("Ready", true, "Available", "2 of 2 proxies ready"),
            Conditions.condition("Progressing", false, "RolloutComplete", "up to date"),
            Conditions.condition("Degraded", false, "AsExpected", ""));

    @Test
    void conditionHoldsStatusAsText() {
        Condition c = Conditions.condition("Ready", true, "Available", "ok");

        assertThat(c.getType()).isEqualTo("Ready");
        assertThat(c.getStatus()).isEqualTo("True");
        assertThat(c.getReason()).isEqualTo("Available");
        assertThat(c.getMessage()).isEqualTo("ok");
        assertThat(Conditions.condition("Ready", false, "x", "y").getStatus()).isEqualTo("False");
    }

    @Test
    void newConditionsGetNowInSecondsSortedByType() {
        List<Condition> merged = Conditions.merge(List.of(), allGood, T1, 4);

        assertThat(merged).extracting(Condition::getType).containsExactly("Degraded", "Progressing", "Ready");
        assertThat(merged).allSatisfy(c -> {
            assertThat(c.getLastTransitionTime()).isEqualTo("2026-11-25T10:00:00Z");
            assertThat(c.getObservedGeneration()).isEqualTo(4L);
        });
        assertThat(Conditions.merge(null, allGood, T1, 4)).isEqualTo(merged);
    }

    @Test
    void unchangedStatusKeepsTheTransitionTimeEvenWhenReasonOrMessageChange() {
        List<Condition> first = Conditions.merge(List.of(), allGood, T1, 1);
        List<Condition> desired = List.of(
                Conditions.condition("Ready", true, "Available", "3 of 3 proxies ready"),
                Conditions.condition("Progressing", false, "RolloutComplete", "up to date"),
                Conditions.condition("Degraded", false, "AsExpected", ""));

        List<Condition> second = Conditions.merge(first, desired, T2, 2);

        assertThat(second).allSatisfy(c -> {
            assertThat(c.getLastTransitionTime()).isEqualTo("2026-11-25T10:00:00Z");
            assertThat(c.getObservedGeneration()).isEqualTo(2L);
        });
        assertThat(second.get(2).getMessage()).isEqualTo("3 of 3 proxies ready");
    }

    @Test
    void changedStatusMovesTheTransitionTime() {
        List<Condition> first = Conditions.merge(List.of(), allGood, T1, 1);
        List<Condition> desired = List.of(
                Conditions.condition("Ready", false, "NoProxyReady", "0 of 2 proxies ready"),
                Conditions.condition("Progressing", false, "RolloutComplete", "up to date"),
                Conditions.condition("Degraded", true, "InvalidPool", "healthCheck.interval: ..."));

        List<Condition> second = Conditions.merge(first, desired, T2, 1);

        assertThat(second).extracting(Condition::getType, Condition::getLastTransitionTime).containsExactly(
                tuple("Degraded", "2026-11-25T10:05:00Z"),
                tuple("Progressing", "2026-11-25T10:00:00Z"),
                tuple("Ready", "2026-11-25T10:05:00Z"));
    }

    @Test
    void mergingAgainChangesNothing() {
        List<Condition> once = Conditions.merge(List.of(), allGood, T1, 3);

        assertThat(Conditions.merge(once, allGood, T2, 3)).isEqualTo(once);
        List<Condition> reversed = new ArrayList<>(allGood);
        Collections.reverse(reversed);
        assertThat(Conditions.merge(once, reversed, T2, 3)).isEqualTo(once);
    }

    @Test
    void typesNoLongerDesiredAreDropped() {
        List<Condition> current = Conditions.merge(List.of(),
                List.of(Conditions.condition("Available", true, "Old", "from an older operator")), T1, 1);

        assertThat(Conditions.merge(current, allGood, T2, 2)).extracting(Condition::getType)
                .containsExactly("Degraded", "Progressing", "Ready");
    }
}
