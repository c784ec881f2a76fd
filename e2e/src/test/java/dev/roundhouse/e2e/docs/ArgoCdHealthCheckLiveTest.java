package dev.roundhouse.e2e.docs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.roundhouse.e2e.local.LocalCluster;
import dev.roundhouse.e2e.testing.Cluster;
import dev.roundhouse.e2e.testing.SharedCluster;
import dev.roundhouse.testing.TestBackend;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Argo CD health check and the Flux expressions of docs/argocd.md on LoadBalancers as the real operator
 * leaves them on the local cluster, not only on the hand-written samples.
 */
@ExtendWith(SharedCluster.class)
class ArgoCdHealthCheckLiveTest {

    private static final String NAMESPACE = "docs-argocd";

    private final TestBackend backend = TestBackend.start("backend-a");
    private final Cluster cluster;

    ArgoCdHealthCheckLiveTest(LocalCluster local) {
        cluster = new Cluster(local, NAMESPACE);
    }

    @AfterEach
    void cleanUp() {
        cluster.deleteLoadBalancers();
        cluster.local()
                .client()
                .services()
                .inNamespace(NAMESPACE)
                .withName("no-endpoints")
                .delete();
        cluster.local()
                .client()
                .configMaps()
                .inNamespace(NAMESPACE)
                .withName("taken-pool")
                .delete();
        backend.close();
    }

    private record Expectation(
            String name,
            String spec,
            String readyReason,
            boolean settled,
            String health,
            String messageStart,
            String flux) {}

    @Test
    void theOperatorsStatusesGetTheDocumentedHealth(@TempDir Path work) {
        Path lua = Docs.onPath("lua5.4").orElse(null);
        assumeTrue(
                lua != null,
                "lua5.4 is not installed (Debian package lua5.4; .ci/run installs it): "
                        + "skipping the Argo CD health check on the operator's LoadBalancers");
        cluster.applyOrFail("""
                apiVersion: v1
                kind: Service
                metadata:
                  name: no-endpoints
                spec:
                  ports:
                    - port: 80
                """);
        cluster.applyOrFail("""
                apiVersion: v1
                kind: ConfigMap
                metadata:
                  name: taken-pool
                data:
                  note: someone else's, under the name the LoadBalancer "taken" would give its pool
                """);
        String backends = "backends:\n    - url: " + backend.url() + "\n";
        // Problems take precedence over replicas in the operator's status, so those need no proxy (replicas: 0).
        List<Expectation> expectations = List.of(
                new Expectation(
                        "serving",
                        "replicas: 1\n  " + backends,
                        "ProxiesReady",
                        true,
                        "Healthy",
                        "ProxiesReady: 1 of 1 proxies ready, 1 backends",
                        "Current"),
                new Expectation(
                        "zero",
                        "replicas: 0\n  " + backends,
                        "ScaledToZero",
                        true,
                        "Suspended",
                        "ScaledToZero: spec.replicas is 0",
                        "Current"),
                new Expectation(
                        "no-service",
                        "replicas: 0\n  serviceRef:\n    name: missing\n    port: 80\n",
                        "ServiceNotFound",
                        false,
                        "Degraded",
                        "ServiceNotFound: Service " + NAMESPACE + "/missing",
                        "Failed"),
                // Not named like its Service: the operator names its own Service after the LoadBalancer.
                new Expectation(
                        "empty-pool",
                        "replicas: 0\n  serviceRef:\n    name: no-endpoints\n    port: 80\n",
                        "NoBackends",
                        false,
                        "Degraded",
                        "NoBackends: Service no-endpoints has no ready endpoints",
                        "Failed"),
                new Expectation(
                        "bad-interval",
                        "replicas: 0\n  healthCheck:\n    interval: 0s\n  " + backends,
                        "InvalidSpec",
                        false,
                        "Degraded",
                        "InvalidSpec: generation 1 of the spec is invalid: healthCheck.interval:",
                        "Failed"),
                new Expectation(
                        "taken",
                        "replicas: 0\n  " + backends,
                        "NameConflict",
                        false,
                        "Degraded",
                        "NameConflict: ConfigMap " + NAMESPACE + "/taken-pool exists and is not owned",
                        "Failed"),
                new Expectation(
                        "no-monitoring",
                        "replicas: 1\n  metrics:\n    serviceMonitor:\n      enabled: true\n  " + backends,
                        "ProxiesReady",
                        true,
                        "Degraded",
                        "ServiceMonitorUnavailable: ",
                        "Failed"));
        for (Expectation e : expectations) {
            cluster.applyOrFail("""
                    apiVersion: roundhouse.dev/v1alpha1
                    kind: LoadBalancer
                    metadata:
                      name: %s
                    spec:
                      %s""".formatted(e.name(), e.spec()));
        }

        FluxHealth flux = new FluxHealth(fluxExpressions());
        List<String> seen = new ArrayList<>();
        for (Expectation e : expectations) {
            JsonNode object = awaitStatus(e);
            Lua.Result health = Lua.run(lua, Docs.path(ArgoCdHealthCheckTest.SCRIPT), object, work);
            assertThat(health.ok())
                    .as("health.lua on %s: %s", e.name(), health.stderr())
                    .isTrue();
            assertThat(health.status())
                    .as("health of %s (%s)", e.name(), object.path("status"))
                    .isEqualTo(e.health());
            assertThat(health.message()).as("message for %s", e.name()).startsWith(e.messageStart());
            assertThat(flux.evaluate(object))
                    .as("Flux status of %s (%s)", e.name(), object.path("status"))
                    .isEqualTo(e.flux());
            seen.add(e.name());
        }
        assertThat(seen).hasSize(expectations.size());
    }

    /** The LoadBalancer as Argo CD would read it, once the operator reports {@code readyReason} for its spec. */
    private JsonNode awaitStatus(Expectation e) {
        AtomicReference<JsonNode> object = new AtomicReference<>();
        try {
            Awaitility.await("status " + e.readyReason() + " of " + NAMESPACE + "/" + e.name())
                    .atMost(Duration.ofSeconds(90))
                    .pollInterval(Duration.ofMillis(200))
                    .until(() -> {
                        GenericKubernetesResource lb = cluster.local()
                                .client()
                                .genericKubernetesResources("roundhouse.dev/v1alpha1", "LoadBalancer")
                                .inNamespace(NAMESPACE)
                                .withName(e.name())
                                .get();
                        if (lb == null) {
                            return false;
                        }
                        JsonNode json = Docs.YAML.readTree(Serialization.asJson(lb));
                        object.set(json);
                        JsonNode status = json.path("status");
                        if (status.path("observedGeneration").asLong(-1)
                                != json.path("metadata").path("generation").asLong()) {
                            return false;
                        }
                        boolean ready = false;
                        boolean stable = !e.settled();
                        for (JsonNode c : status.path("conditions")) {
                            ready |= c.path("type").asText().equals("Ready")
                                    && c.path("reason").asText().equals(e.readyReason());
                            stable |= c.path("type").asText().equals("Progressing")
                                    && c.path("status").asText().equals("False");
                        }
                        return ready && stable;
                    });
        } catch (org.awaitility.core.ConditionTimeoutException timeout) {
            throw new AssertionError(
                    "no Ready reason " + e.readyReason() + " on " + e.name() + "; last seen: " + object.get(), timeout);
        }
        return object.get();
    }

    private static JsonNode fluxExpressions() {
        for (String block : Docs.fencedBlocks(Docs.read(ArgoCdHealthCheckTest.DOC), "yaml")) {
            for (JsonNode expr : Docs.yaml(block).path("spec").path("healthCheckExprs")) {
                if (expr.path("kind").asText().equals("LoadBalancer")) {
                    return expr;
                }
            }
        }
        throw new AssertionError("no healthCheckExprs for LoadBalancer in " + ArgoCdHealthCheckTest.DOC);
    }
}
