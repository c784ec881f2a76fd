package dev.roundhouse.e2e;

import static dev.roundhouse.testing.Http.get;
import static dev.roundhouse.testing.Http.trusting;
import static org.assertj.core.api.Assertions.assertThat;

import dev.roundhouse.e2e.local.LocalCluster;
import dev.roundhouse.e2e.local.LocalKubelet.RunningProxy;
import dev.roundhouse.e2e.local.RoundhouseLocal;
import dev.roundhouse.e2e.testing.Cluster;
import dev.roundhouse.e2e.testing.SharedCluster;
import dev.roundhouse.operator.api.v1alpha1.LoadBalancer;
import dev.roundhouse.testing.ServerPem;
import dev.roundhouse.testing.TestBackend;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code spec.tls} end to end: the operator mounts the Secret, the local kubelet writes it into the pod's files as
 * kubelet does (symlinks swapped through {@code ..data}), and the real proxy serves HTTPS with it; a renewed Secret
 * reaches new handshakes without a restart; a Secret issued after the LoadBalancer starts its proxy once it is there.
 */
@ExtendWith(SharedCluster.class)
class ClientTlsE2ETest {

    private static final Duration WAIT = Duration.ofSeconds(60);

    private final List<TestBackend> backends =
            List.of(TestBackend.start("backend-a"), TestBackend.start("backend-b"), TestBackend.start("backend-c"));
    private final Cluster cluster;

    @TempDir
    Path dir;

    ClientTlsE2ETest(LocalCluster local) {
        cluster = new Cluster(local, "e2e-client-tls");
    }

    @AfterEach
    void cleanUp() {
        cluster.deleteLoadBalancers();
        backends.forEach(TestBackend::close);
    }

    @Test
    void theSampleServesHttpsAndARenewedSecretReachesNewHandshakes() throws Exception {
        cluster.applyOrFail(Cluster.sample(backends));
        cluster.awaitReady("demo");
        RunningProxy proxy = cluster.awaitProxy("demo");
        assertThat(proxy.tlsPort()).as("the proxy's HTTPS port").isPositive();

        String first = pem(secret(RoundhouseLocal.TLS_SECRET), "tls.crt");
        HttpResponse<String> answer = get(trusting(first), "https://localhost:" + proxy.tlsPort() + "/shop");
        assertThat(answer.statusCode()).isEqualTo(200);
        assertThat(answer.body()).isIn("backend-a", "backend-b", "backend-c");
        assertThat(Cluster.get(Cluster.uri(proxy, "/")).statusCode())
                .as("plain HTTP beside it")
                .isEqualTo(200);

        // cert-manager renews: the same Secret, a new pair.
        ServerPem renewed = ServerPem.make(dir, "renewed", ServerPem.Spec.ec("dns:localhost"));
        cluster.local()
                .client()
                .secrets()
                .inNamespace(cluster.namespace())
                .resource(new SecretBuilder(secret(RoundhouseLocal.TLS_SECRET))
                        .withData(null)
                        .withStringData(Map.of(
                                "tls.crt",
                                Files.readString(renewed.cert()),
                                "tls.key",
                                Files.readString(renewed.key())))
                        .build())
                .update();
        HttpClient trustingRenewed = trusting(renewed.trustPem());
        Awaitility.await("the renewed certificate served")
                .atMost(WAIT)
                .pollInterval(Duration.ofMillis(200))
                .ignoreExceptions()
                .until(() -> get(trustingRenewed, "https://localhost:" + proxy.tlsPort() + "/")
                                .statusCode()
                        == 200);
        assertThat(cluster.proxy("demo").orElseThrow().pid())
                .as("the same proxy process: no restart")
                .isEqualTo(proxy.pid());
        assertThat(Cluster.series(Cluster.metrics(proxy), "roundhouse_tls_reloads_total"))
                .contains("roundhouse_tls_reloads_total{result=\"applied\"} 1.0");
    }

    @Test
    void aProxyWaitsForItsSecretAndServesOnceItIsIssued() throws Exception {
        cluster.applyOrFail(Cluster.sample(backends)
                .replace("name: demo", "name: later")
                .replace("- " + RoundhouseLocal.TLS_SECRET, "- later-tls")
                .replace("\n    port: 8443\n", "\n    port: 8443\n    redirect: true\n"));
        Awaitility.await("TLSSecretUnavailable reported")
                .atMost(WAIT)
                .until(
                        () -> cluster.condition("later", "Ready"),
                        c -> c != null && "TLSSecretUnavailable".equals(c.getReason()));
        assertThat(cluster.proxy("later"))
                .as("no proxy before its Secret exists")
                .isEmpty();

        ServerPem issued = ServerPem.make(dir, "issued", ServerPem.Spec.rsa("dns:localhost"));
        cluster.local()
                .client()
                .secrets()
                .inNamespace(cluster.namespace())
                .resource(new SecretBuilder()
                        .withNewMetadata()
                        .withName("later-tls")
                        .endMetadata()
                        .withType("kubernetes.io/tls")
                        .withStringData(Map.of(
                                "tls.crt", Files.readString(issued.cert()), "tls.key", Files.readString(issued.key())))
                        .build())
                .create();
        LoadBalancer ready = cluster.awaitReady("later");
        RunningProxy proxy = cluster.awaitProxy("later");
        assertThat(get(trusting(issued.trustPem()), "https://localhost:" + proxy.tlsPort() + "/")
                        .statusCode())
                .isEqualTo(200);
        assertThat(ready.getSpec().getTls().getRedirect()).isTrue();
        HttpResponse<String> redirected = Cluster.get(Cluster.uri(proxy, "/cart?id=7"));
        assertThat(redirected.statusCode()).isEqualTo(308);
        assertThat(redirected.headers().firstValue("Location"))
                .as("to the Service's HTTPS port, spec.tls.port")
                .contains("https://127.0.0.1:8443/cart?id=7");
    }

    private Secret secret(String name) {
        return cluster.local()
                .client()
                .secrets()
                .inNamespace(cluster.namespace())
                .withName(name)
                .get();
    }

    private static String pem(Secret secret, String key) {
        return new String(Base64.getDecoder().decode(secret.getData().get(key)), StandardCharsets.US_ASCII);
    }
}
