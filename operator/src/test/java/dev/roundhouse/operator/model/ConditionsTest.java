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
            Conditions.condition("Ready", true, Reason.PROXIES_READY, "2 of 2 proxies ready"),
            Conditions.condition("Progressing", false, Reason.STABLE, "up to date"),
            Conditions.condition("Degraded", false, Reason.AS_EXPECTED, ""));

    @Test
    void conditionHoldsStatusAsText() {
        Condition c = Conditions.condition("Ready", true, Reason.PROXIES_READY, "ok");

        assertThat(c.getType()).isEqualTo("Ready");
        assertThat(c.getStatus()).isEqualTo("True");
        assertThat(c.getReason()).isEqualTo("ProxiesReady");
        assertThat(c.getMessage()).isEqualTo("ok");
        assertThat(Conditions.condition("Ready", false, Reason.PROXIES_NOT_READY, "y")
                        .getStatus())
                .isEqualTo("False");
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
                Conditions.condition("Ready", true, Reason.PROXIES_READY, "3 of 3 proxies ready"),
                Conditions.condition("Progressing", false, Reason.STABLE, "up to date"),
                Conditions.condition("Degraded", false, Reason.AS_EXPECTED, ""));

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
                Conditions.condition("Ready", false, Reason.PROXIES_NOT_READY, "0 of 2 proxies ready"),
                Conditions.condition("Progressing", false, Reason.STABLE, "up to date"),
                Conditions.condition("Degraded", true, Reason.INVALID_SPEC, "healthCheck.interval: ..."));

        List<Condition> second = Conditions.merge(first, desired, T2, 1);

        assertThat(second)
                .extracting(Condition::getType, Condition::getLastTransitionTime)
                .containsExactly(
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
        List<Condition> current = Conditions.merge(
                List.of(),
                List.of(Conditions.condition("Available", true, Reason.PROXIES_READY, "from an older operator")),
                T1,
                1);

        assertThat(Conditions.merge(current, allGood, T2, 2))
                .extracting(Condition::getType)
                .containsExactly("Degraded", "Progressing", "Ready");
    }
}
