package dev.roundhouse.operator.reconciler;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The gate an operator's stop closes: no reconcile starts after it, and the stop waits for those running, bounded. */
class ReconcileGateTest {

    private final ReconcileGate gate = new ReconcileGate();

    @Test
    void aCloseWithNothingRunningEndsAtOnceAndLetsNoReconcileStart() {
        assertThat(gate.close(Duration.ofMinutes(1))).isZero();
        assertThat(gate.closed()).isTrue();
        assertThat(gate.enter()).as("a reconcile after the close").isFalse();
    }

    @Test
    void aCloseWaitsForTheReconcileRunning() throws Exception {
        assertThat(gate.enter()).isTrue();
        CompletableFuture<Integer> closing = CompletableFuture.supplyAsync(() -> gate.close(Duration.ofMinutes(1)));
        // closed() takes the gate's lock, which the close holds until it waits
        await().atMost(Duration.ofSeconds(30)).until(gate::closed);
        assertThat(closing).as("the close, with a reconcile running").isNotDone();
        gate.exit();
        assertThat(closing.get(30, TimeUnit.SECONDS))
                .as("still running when the close ended")
                .isZero();
    }

    @Test
    void aReconcileThatOutlastsTheWaitIsCountedAndTheCloseEnds() {
        assertThat(gate.enter()).isTrue();
        assertThat(gate.close(Duration.ofMillis(20)))
                .as("still running when the close ended")
                .isEqualTo(1);
        gate.exit();
        assertThat(gate.enter()).isFalse();
    }
}
