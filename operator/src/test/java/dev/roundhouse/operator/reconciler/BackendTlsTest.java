package dev.roundhouse.operator.reconciler;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.roundhouse.operator.api.v1alpha1.BackendTlsSpec;
import dev.roundhouse.operator.api.v1alpha1.CaBundleSpec;
import dev.roundhouse.operator.api.v1alpha1.HealthCheckSpec;
import dev.roundhouse.operator.api.v1alpha1.KeyRefSpec;
import dev.roundhouse.operator.api.v1alpha1.LoadBalancer;
import dev.roundhouse.operator.testing.OperatorCluster;
import dev.roundhouse.poolformat.PoolDocument;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code spec.backendTLS}: the CA bundle a LoadBalancer names is copied from its ConfigMap or Secret into the pool
 * document, with the server name and skip-verify; a missing or unusable bundle is reported and the last good pool
 * kept; contradictions are refused by the schema.
 */
class BackendTlsTest {

    private static final String NS = OperatorCluster.NS;
    private static final String CA = resource("/test-ca.pem");
    private static OperatorCluster cluster;
    private static KubernetesClient client;

    @BeforeAll
    static void startOperator() {
        cluster = OperatorCluster.start();
        client = cluster.client;
    }

    @AfterAll
    static void stop() {
        if (cluster != null) {
            cluster.close();
        }
    }

    @Test
    void aBundleFromASecretReachesThePoolWithTheServerName() {
        client.secrets()
                .inNamespace(NS)
                .resource(new SecretBuilder()
                        .withNewMetadata()
                        .withName("shop-tls")
                        .endMetadata()
                        .withData(Map.of(
                                "ca.crt", Base64.getEncoder().encodeToString(CA.getBytes(StandardCharsets.US_ASCII))))
                        .build())
                .create();
        LoadBalancer lb = OperatorCluster.loadBalancer("secure-shop", "https://10.9.0.1:8443");
        lb.getSpec().setBackendTLS(tls(secretRef("shop-tls"), "shop.default.svc"));
        cluster.create(lb);

        await().atMost(OperatorCluster.WAIT).until(() -> cluster.pool("secure-shop") != null);
        PoolDocument.BackendTls written = document("secure-shop").backendTls();
        assertThat(written).isEqualTo(new PoolDocument.BackendTls(CA, "shop.default.svc", false));
        assertThat(document("secure-shop").version()).isEqualTo(PoolDocument.VERSION_3);
    }

    @Test
    void aMissingBundleIsReportedAndTheLastGoodPoolKeptUntilItAppears() {
        LoadBalancer lb = OperatorCluster.loadBalancer("awaiting-ca", "https://10.9.0.2:8443");
        cluster.create(lb);
        await().atMost(OperatorCluster.WAIT).until(() -> cluster.pool("awaiting-ca") != null);
        String good = cluster.pool("awaiting-ca").getData().get("pool.json");

        cluster.edit("awaiting-ca", l -> {
            l.getSpec().setBackendTLS(tls(configMapRef("awaiting-ca-bundle", "bundle.pem"), null));
            return l;
        });
        cluster.awaitCondition("awaiting-ca", "Ready", "False", "CABundleUnavailable");
        assertThat(cluster.condition("awaiting-ca", "Ready").getMessage())
                .isEqualTo("ConfigMap " + NS
                        + "/awaiting-ca-bundle key bundle.pem named in backendTLS.caBundle does not exist");
        assertThat(cluster.pool("awaiting-ca").getData().get("pool.json")).isEqualTo(good);

        // Each step changes the spec, so the operator reads at once rather than at its next recheck.
        configMap("bad-bundle", Map.of("bundle.pem", "not a certificate"));
        useBundle("awaiting-ca", "bad-bundle");
        await().atMost(OperatorCluster.WAIT)
                .untilAsserted(
                        () -> assertThat(cluster.condition("awaiting-ca", "Ready")
                                        .getMessage())
                                .isEqualTo(
                                        "ConfigMap " + NS
                                                + "/bad-bundle key bundle.pem: must hold PEM certificates (-----BEGIN CERTIFICATE-----), found none"));
        assertThat(cluster.condition("awaiting-ca", "Ready").getReason()).isEqualTo("CABundleUnavailable");
        assertThat(cluster.pool("awaiting-ca").getData().get("pool.json")).isEqualTo(good);

        configMap("good-bundle", Map.of("bundle.pem", CA));
        useBundle("awaiting-ca", "good-bundle");
        await().atMost(OperatorCluster.WAIT)
                .until(() -> CA.equals(document("awaiting-ca").backendTls().caBundle()));
        assertThat(cluster.condition("awaiting-ca", "Ready").getReason()).isNotEqualTo("CABundleUnavailable");
    }

    @Test
    void anInvalidSpecIsReportedAsSuchWhileTheBundleItNamesIsMissing() {
        LoadBalancer lb = OperatorCluster.loadBalancer("wrong-and-unsigned", "https://10.9.0.6:8443");
        lb.getSpec().setBackendTLS(tls(secretRef("no-such-bundle"), null));
        HealthCheckSpec health = new HealthCheckSpec();
        health.setInterval("2h"); // over the pool format's 1h limit: the spec's own fault, whatever the cluster holds
        lb.getSpec().setHealthCheck(health);
        cluster.create(lb);

        cluster.awaitCondition("wrong-and-unsigned", "Ready", "False", "InvalidSpec");
        assertThat(cluster.condition("wrong-and-unsigned", "Ready").getMessage())
                .contains("healthCheck.interval");
        assertThat(cluster.pool("wrong-and-unsigned")).isNull();
        assertThat(cluster.deployment("wrong-and-unsigned")).isNull();
    }

    @Test
    void skipVerifyBesideABundleIsRefusedByTheSchema() {
        LoadBalancer lb = OperatorCluster.loadBalancer("contradiction", "https://10.9.0.3:8443");
        BackendTlsSpec tls = tls(secretRef("any"), null);
        tls.setInsecureSkipVerify(true);
        lb.getSpec().setBackendTLS(tls);

        assertThatThrownBy(() -> cluster.create(lb))
                .isInstanceOf(KubernetesClientException.class)
                .hasMessageContaining("caBundle and insecureSkipVerify cannot be combined");
        CaBundleSpec both = new CaBundleSpec();
        both.setConfigMapKeyRef(configMapRef("a", "ca.crt").getConfigMapKeyRef());
        both.setSecretKeyRef(secretRef("b").getSecretKeyRef());
        LoadBalancer twoSources = OperatorCluster.loadBalancer("two-sources", "https://10.9.0.4:8443");
        twoSources.getSpec().setBackendTLS(tls(both, null));
        assertThatThrownBy(() -> cluster.create(twoSources))
                .isInstanceOf(KubernetesClientException.class)
                .hasMessageContaining("set exactly one of configMapKeyRef and secretKeyRef");
    }

    @Test
    void onlyALoadBalancerNamingABundleIsReconciledAgainForIt() {
        LoadBalancer plain = OperatorCluster.loadBalancer("plain", "https://10.9.0.5:8443");
        assertThat(CaBundles.recheck(plain)).isEmpty();
        plain.getSpec().setBackendTLS(tls(null, "shop.default.svc"));
        assertThat(CaBundles.recheck(plain)).isEmpty();
        plain.getSpec().setBackendTLS(tls(secretRef("shop-tls"), null));
        assertThat(CaBundles.recheck(plain)).contains(Duration.ofMinutes(1));
    }

    private static PoolDocument document(String name) {
        try {
            return cluster.poolDocument(name);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static void configMap(String name, Map<String, String> data) {
        client.configMaps()
                .inNamespace(NS)
                .resource(new ConfigMapBuilder()
                        .withNewMetadata()
                        .withName(name)
                        .endMetadata()
                        .withData(data)
                        .build())
                .create();
    }

    private static void useBundle(String lb, String configMap) {
        cluster.edit(lb, l -> {
            l.getSpec().setBackendTLS(tls(configMapRef(configMap, "bundle.pem"), null));
            return l;
        });
    }

    private static BackendTlsSpec tls(CaBundleSpec bundle, String serverName) {
        BackendTlsSpec tls = new BackendTlsSpec();
        tls.setCaBundle(bundle);
        tls.setServerName(serverName);
        return tls;
    }

    private static CaBundleSpec secretRef(String name) {
        KeyRefSpec ref = new KeyRefSpec();
        ref.setName(name);
        CaBundleSpec bundle = new CaBundleSpec();
        bundle.setSecretKeyRef(ref);
        return bundle;
    }

    private static CaBundleSpec configMapRef(String name, String key) {
        KeyRefSpec ref = new KeyRefSpec();
        ref.setName(name);
        ref.setKey(key);
        CaBundleSpec bundle = new CaBundleSpec();
        bundle.setConfigMapKeyRef(ref);
        return bundle;
    }

    private static String resource(String name) {
        try (InputStream in = BackendTlsTest.class.getResourceAsStream(name)) {
            return new String(in.readAllBytes(), StandardCharsets.US_ASCII);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
