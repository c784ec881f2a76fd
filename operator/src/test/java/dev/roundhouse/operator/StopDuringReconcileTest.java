package dev.roundhouse.operator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.roundhouse.operator.api.v1alpha1.BackendSpec;
import dev.roundhouse.operator.api.v1alpha1.LoadBalancer;
import dev.roundhouse.operator.reconciler.LoadBalancerReconciler;
import dev.roundhouse.operator.testing.LogCapture;
import dev.roundhouse.operator.testing.OperatorCluster;
import dev.roundhouse.testing.apiserver.Write;
import dev.roundhouse.testing.apiserver.WriteHold;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.logging.log4j.Level;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * An operator stopped (a rollout, a SIGTERM) while a reconcile is in flight lets that reconcile end as it would have,
 * then stops. JOSDK alone stops the informers and shuts its executors down together, under the running reconcile:
 * its next dependents then fail ("RejectedExecutionException ... Shutting down"), the failure is written to the
 * LoadBalancer's status and recorded as a Warning Event, and dependents that read a stopped informer write objects
 * that exist. A GitOps user would see a failed LoadBalancer after each operator rollout that met a reconcile.
 */
class StopDuringReconcileTest {

    private static final String A = "http://10.9.7.1:8080";
    private static final String B = "http://10.9.7.2:8080";
    private static final Duration WAIT = OperatorCluster.WAIT;

    private final OperatorCluster cluster = OperatorCluster.start();

    @AfterEach
    void stop() {
        cluster.close();
    }

    @Test
    void aStopLetsTheReconcileInFlightEndAsItWouldHave() throws Exception {
        cluster.create(OperatorCluster.loadBalancer("busy", A));
        await().atMost(WAIT)
                .ignoreExceptions()
                .until(() -> cluster.poolDocument("busy").backends().size() == 1);
        await().atMost(WAIT).until(() -> cluster.condition("busy", "Ready") != null);

        // The next reconcile stops at its pool ConfigMap's write, which the API server holds unanswered.
        WriteHold hold = cluster.api.holdWrites("/configmaps/busy-pool", WAIT);
        cluster.edit("busy", lb -> {
            List<BackendSpec> backends = new ArrayList<>(lb.getSpec().getBackends());
            BackendSpec b = new BackendSpec();
            b.setUrl(B);
            backends.add(b);
            lb.getSpec().setBackends(backends);
            return lb;
        });
        assertThat(hold.awaitHeld(WAIT)).as("the pool's write, held").isNotNull();

        try (LogCapture reconcilerLog = LogCapture.of(LoadBalancerReconciler.class)) {
            cluster.api.resetWriteCount();
            Thread stopping = new Thread(cluster::stopOperator, "stopping");
            stopping.start();
            // JOSDK alone does not wait: its stop ends at once, under the reconcile.
            await().atMost(WAIT).until(() -> !stopping.isAlive() || waitingIn(stopping, "ReconcileGate"));
            assertThat(stopping.isAlive())
                    .as("the stop waits for the reconcile in flight")
                    .isTrue();
            hold.release();
            stopping.join(WAIT.toMillis());
            assertThat(stopping.isAlive()).as("the stop ended").isFalse();

            assertThat(reconcilerLog.events())
                    .as("what the reconciler logged at ERROR")
                    .noneMatch(e -> e.getLevel().isMoreSpecificThan(Level.ERROR));
        }
        List<Write> writes = cluster.api.writes();
        assertThat(writes)
                .as("no create of an object that exists, no Warning Event")
                .noneMatch(w -> w.method().equals("POST"));
        assertThat(cluster.poolDocument("busy").backends())
                .as("the reconcile in flight ended: the pool holds the new backend")
                .hasSize(2);
        LoadBalancer lb = cluster.get("busy");
        assertThat(lb.getStatus().getConditions())
                .as("the status says nothing failed")
                .noneMatch(c -> "ReconcileFailed".equals(c.getReason()));
    }

    private static boolean waitingIn(Thread thread, String... classes) {
        Thread.State state = thread.getState();
        if (state != Thread.State.WAITING && state != Thread.State.TIMED_WAITING) {
            return false;
        }
        return Arrays.stream(thread.getStackTrace())
                .anyMatch(f ->
                        Arrays.stream(classes).anyMatch(c -> f.getClassName().endsWith("." + c)));
    }
}
