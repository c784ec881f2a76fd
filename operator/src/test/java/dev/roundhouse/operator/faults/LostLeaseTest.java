package dev.roundhouse.operator.faults;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.roundhouse.operator.OperatorSettings;
import dev.roundhouse.operator.RoundhouseOperator;
import dev.roundhouse.operator.testing.LogCapture;
import dev.roundhouse.operator.testing.OperatorCluster;
import dev.roundhouse.testing.Http;
import dev.roundhouse.testing.apiserver.EmbeddedApiServer;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.Resource;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.util.Set;
import org.apache.logging.log4j.Level;
import org.junit.jupiter.api.Test;

/**
 * Fault: another replica holds the leader lease now (this one's renewals failed for longer than the lease lasts, as
 * when its node was cut off). The operator's own process exits ({@code OperatorMainTest}); an embedded one (the local
 * mode, a test) must neither end its JVM, as it did, nor go on reconciling beside the new leader: it stops
 * reconciling, says so in one line and fails liveness.
 */
public class LostLeaseTest {

    private static final String NS = OperatorCluster.NS;

    /** What another replica does once this one's lease has run out: holds it, renewed now. */
    public static void takeTheLease(Resource<Lease> lease) {
        lease.edit(l -> {
            l.getSpec().setHolderIdentity("another-replica");
            l.getSpec().setAcquireTime(ZonedDateTime.now());
            l.getSpec().setRenewTime(ZonedDateTime.now());
            l.getSpec().setLeaseDurationSeconds(3600);
            return l;
        });
    }

    @Test
    void anEmbeddedOperatorThatLosesItsLeaseStopsReconcilingAndFailsLivenessAndLeavesItsJvmRunning() throws Exception {
        try (EmbeddedApiServer api = new EmbeddedApiServer().start();
                LogCapture logs = LogCapture.of(RoundhouseOperator.class)) {
            api.applyCrds(OperatorCluster.CRD);
            KubernetesClient client = api.client();
            try (RoundhouseOperator operator = RoundhouseOperator.start(
                    new OperatorSettings(Set.of(), "example.org/roundhouse-proxy:test", "info", 0, true, NS),
                    api.newClient())) {
                String healthz = "http://127.0.0.1:" + operator.httpPort() + "/healthz";
                Resource<Lease> lease = client.leases().inNamespace(NS).withName(OperatorSettings.DEFAULT_LEASE_NAME);
                await().atMost(Duration.ofSeconds(20)).until(() -> lease.get() != null);
                client.resource(OperatorCluster.loadBalancer("before", "http://10.32.0.1:8080"))
                        .create();
                await().atMost(OperatorCluster.WAIT)
                        .until(() -> client.configMaps()
                                        .inNamespace(NS)
                                        .withName("before-pool")
                                        .get()
                                != null);

                takeTheLease(lease);

                // JOSDK's renew deadline (10 s) passes before the operator gives the lease up.
                await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
                    var live = Http.get(healthz);
                    assertThat(live.statusCode()).isEqualTo(503);
                    assertThat(live.body()).isEqualTo("not ok: lost the leader lease roundhouse-operator\n");
                });
                assertThat(logs.events())
                        .filteredOn(e -> e.getLevel() == Level.ERROR)
                        .singleElement()
                        .satisfies(e -> assertThat(e.getMessage().getFormattedMessage())
                                .isEqualTo("Lost the leader lease roundhouse-operator; reconciling no more, so that"
                                        + " another replica reconciles alone"));
                client.resource(OperatorCluster.loadBalancer("after", "http://10.32.0.2:8080"))
                        .create();
                await().during(Duration.ofSeconds(3))
                        .atMost(Duration.ofSeconds(5))
                        .until(() -> client.configMaps()
                                        .inNamespace(NS)
                                        .withName("after-pool")
                                        .get()
                                == null);
            }
        }
    }
}
