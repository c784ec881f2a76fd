package dev.roundhouse.proxy.pool;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class HealthStateTest {

    @Test
    void leavesAfterUnhealthyThresholdFailuresInARowAndReturnsAfterHealthyThresholdPasses() {
        HealthState state = new HealthState();
        assertThat(state.isHealthy()).isTrue();

        assertThat(state.record(false, 2, 3)).isFalse();
        assertThat(state.record(false, 2, 3)).isFalse();
        assertThat(state.record(true, 2, 3)).isFalse(); // a pass resets the failure streak
        assertThat(state.record(false, 2, 3)).isFalse();
        assertThat(state.record(false, 2, 3)).isFalse();
        assertThat(state.record(false, 2, 3)).isTrue();
        assertThat(state.isHealthy()).isFalse();

        assertThat(state.record(true, 2, 3)).isFalse();
        assertThat(state.record(false, 2, 3)).isFalse();
        assertThat(state.record(true, 2, 3)).isFalse();
        assertThat(state.record(true, 2, 3)).isTrue();
        assertThat(state.isHealthy()).isTrue();
    }
}
