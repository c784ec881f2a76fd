package dev.roundhouse.bench;

import static org.assertj.core.api.Assertions.assertThat;

import dev.roundhouse.bench.scale.OperatorScale;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A small run of the operator scale benchmark, so that the tool keeps working: a handful of LoadBalancers converge
 * and turn Ready, their writes are counted and attributed, and the output has its tables. (That a no-op resync
 * writes nothing is the operator's own test, {@code LoadBalancerReconcilerTest.aReconcileWithNothingToDoWritesNothing};
 * here it is only part of the tool's verdict.)
 */
class ScaleRunTest {

    @Test
    void aFewLoadBalancersConvergeAndTheirWritesAreCounted() throws Exception {
        ByteArrayOutputStream buffer = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(buffer, true, StandardCharsets.UTF_8);
        OperatorScale.Result r = OperatorScale.run(
                Map.of(
                        "LBS",
                        "5",
                        "QUIET",
                        "2s",
                        "HEAP_SETTLE",
                        "0s",
                        "TIMEOUT",
                        "2m",
                        "PROXY_STATUS",
                        "0",
                        "IDLE",
                        "0s"),
                out);
        String printed = buffer.toString(StandardCharsets.UTF_8);

        assertThat(r.converged()).as(printed).isEqualTo(5);
        assertThat(r.ready()).as(printed).isEqualTo(5);
        assertThat(r.benchWrites())
                .as(printed)
                .containsEntry("loadbalancers create", 5L)
                .containsEntry("deployments/status merge-patch", 5L);
        // one write per dependent (eight: two Services, and a PodDisruptionBudget at the default two replicas),
        // and the status: at least once, as ProxiesNotReady, then Ready
        assertThat(r.operatorWrites())
                .as(printed)
                .containsKeys(
                        "configmaps create",
                        "deployments apply",
                        "services apply",
                        "serviceaccounts apply",
                        "roles apply",
                        "rolebindings apply",
                        "poddisruptionbudgets apply",
                        "loadbalancers/status apply");
        assertThat(r.operatorWrites().get("services apply")).as(printed).isEqualTo(5L * 2);
        assertThat(r.operatorWriteCount()).as(printed).isBetween(5L * 9, 5L * 12);
        assertThat(r.resyncs()).as(printed).hasSize(1); // no OPERATOR_JAR: only the in-process restart
        assertThat(r.passed(true)).as(printed).isTrue();
        assertThat(printed).contains("milestone (per LoadBalancer, from its create)", "RESULT operator-scale lbs=5");
    }

    @Test
    void withProxyStatusTheyTurnHealthyAndSeeABackendGo() throws Exception {
        ByteArrayOutputStream buffer = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(buffer, true, StandardCharsets.UTF_8);
        OperatorScale.Result r = OperatorScale.run(
                Map.of("LBS", "5", "QUIET", "2s", "HEAP_SETTLE", "0s", "TIMEOUT", "2m", "IDLE", "0s"), out);
        String printed = buffer.toString(StandardCharsets.UTF_8);

        assertThat(r.healthy()).as(printed).isEqualTo(5);
        assertThat(r.benchWrites()).as(printed).containsEntry("endpointslices create", 5L);
        assertThat(r.flip()).as(printed).isNotNull();
        assertThat(r.flip().out()).as(printed).isEqualTo(5);
        // one status write and one BackendOutOfRotation Event per LoadBalancer
        assertThat(r.flip().window().operatorWrites())
                .as(printed)
                .containsEntry("loadbalancers/status apply", 5L)
                .containsEntry("events create", 5L);
        assertThat(printed).contains("healthy 2/2, BackendsHealthy=True", "proxy_status=1 healthy=5");
    }
}
