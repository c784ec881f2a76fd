package dev.roundhouse.operator.reconciler;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.awaitility.Awaitility.await;

import dev.roundhouse.operator.api.v1alpha1.LoadBalancer;
import dev.roundhouse.operator.api.v1alpha1.TlsSpec;
import dev.roundhouse.operator.testing.OperatorCluster;
import dev.roundhouse.testing.ServerPem;
import io.fabric8.kubernetes.api.model.PodTemplateSpec;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code spec.tls}: the Secrets it names are judged by the proxies' rules before any pod is asked to serve them; a
 * missing or unusable one is reported in a line and leaves a running Deployment as it is; one that appears later (as
 * cert-manager issues it) is seen without an edit.
 */
class ClientTlsTest {

    private static final String NS = OperatorCluster.NS;
    private static OperatorCluster cluster;
    private static KubernetesClient client;

    @TempDir
    static Path dir;

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
    void goodSecretsAreMountedAndTheHttpsPortOpened() {
        tlsSecret("shop-tls", ServerPem.Spec.ec("dns:shop.example"));
        tlsSecret("api-tls", ServerPem.Spec.rsa("dns:api.example"));
        LoadBalancer lb = OperatorCluster.loadBalancer("https-shop", "http://10.8.0.1:8080");
        lb.getSpec().setTls(tls(443, true, "shop-tls", "api-tls"));
        cluster.create(lb);

        await().atMost(OperatorCluster.WAIT).until(() -> cluster.deployment("https-shop") != null);
        PodTemplateSpec pod = cluster.deployment("https-shop").getSpec().getTemplate();
        assertThat(pod.getSpec().getVolumes().stream()
                        .filter(v -> v.getSecret() != null)
                        .map(v -> v.getSecret().getSecretName()))
                .containsExactly("shop-tls", "api-tls");
        assertThat(client.services()
                        .inNamespace(NS)
                        .withName("https-shop")
                        .get()
                        .getSpec()
                        .getPorts())
                .extracting(p -> p.getName() + ":" + p.getPort())
                .containsExactly("http:8080", "https:443");
        cluster.markProxiesReady("https-shop");
        cluster.awaitCondition("https-shop", "Ready", "True", "ProxiesReady");
    }

    @Test
    void aMissingOrUnusableSecretIsReportedAndTheRunningDeploymentLeftAsItIs() {
        LoadBalancer lb = OperatorCluster.loadBalancer("going-https", "http://10.8.0.2:8080");
        cluster.create(lb);
        await().atMost(OperatorCluster.WAIT).until(() -> cluster.deployment("going-https") != null);
        cluster.markProxiesReady("going-https");
        cluster.awaitCondition("going-https", "Ready", "True", "ProxiesReady");
        PodTemplateSpec running = cluster.deployment("going-https").getSpec().getTemplate();

        useSecret("going-https", "not-issued-yet");
        cluster.awaitCondition("going-https", "Ready", "False", "TLSSecretUnavailable");
        assertThat(cluster.condition("going-https", "Ready").getMessage())
                .isEqualTo("Secret " + NS + "/not-issued-yet named in spec.tls.secretNames does not exist");
        assertThat(cluster.condition("going-https", "Degraded").getMessage())
                .endsWith("; the proxies running keep their pod template and certificates until then");

        // Each step changes the spec, so the operator reads at once rather than at its next recheck.
        ServerPem one = ServerPem.make(dir, "one", ServerPem.Spec.ec("dns:one.example"));
        ServerPem other = ServerPem.make(dir, "other", ServerPem.Spec.ec("dns:other.example"));
        secret("mismatched", "kubernetes.io/tls", Map.of("tls.crt", read(one.cert()), "tls.key", read(other.key())));
        useSecret("going-https", "mismatched");
        awaitReadyMessage(
                "going-https",
                "Secret " + NS + "/mismatched tls.key: the key does not belong to the certificate in Secret " + NS
                        + "/mismatched tls.crt");

        ServerPem old =
                ServerPem.make(dir, "old", ServerPem.Spec.ec("dns:old.example").valid(30, 10));
        tlsSecret("expired", old);
        useSecret("going-https", "expired");
        await().atMost(OperatorCluster.WAIT)
                .untilAsserted(() -> assertThat(
                                cluster.condition("going-https", "Ready").getMessage())
                        .startsWith("Secret " + NS + "/expired tls.crt: the certificate expired at "));

        secret("opaque-half", "Opaque", Map.of("tls.crt", read(one.cert())));
        useSecret("going-https", "opaque-half");
        awaitReadyMessage(
                "going-https",
                "Secret " + NS + "/opaque-half named in spec.tls.secretNames has no tls.key (a kubernetes.io/tls "
                        + "Secret has tls.crt and tls.key)");

        assertThat(cluster.deployment("going-https").getSpec().getTemplate()).isEqualTo(running);

        // The Secret the spec names appears (cert-manager issued it): seen at the next recheck, with no edit.
        useSecret("going-https", "issued-later");
        awaitReadyMessage("going-https", "Secret " + NS + "/issued-later named in spec.tls.secretNames does not exist");
        tlsSecret("issued-later", ServerPem.Spec.ec("dns:later.example"));
        await().atMost(TlsSecrets.PROBLEM_RECHECK.plus(OperatorCluster.WAIT))
                .until(() -> secretVolumes("going-https").equals(List.of("issued-later")));
        await().atMost(OperatorCluster.WAIT)
                .untilAsserted(() -> assertThat(
                                cluster.condition("going-https", "Ready").getReason())
                        .isNotEqualTo("TLSSecretUnavailable"));
    }

    @Test
    void aNewLoadBalancerGetsItsDeploymentWhileItsSecretIsMissing() {
        LoadBalancer lb = OperatorCluster.loadBalancer("first-https", "http://10.8.0.3:8080");
        lb.getSpec().setTls(tls(null, null, "first-tls"));
        cluster.create(lb);
        cluster.awaitCondition("first-https", "Ready", "False", "TLSSecretUnavailable");
        assertThat(cluster.condition("first-https", "Degraded").getMessage())
                .endsWith("; the proxies start once it is fixed");
        // Its pods wait for the Secret, as kubelet makes them wait, and start once it is there.
        assertThat(secretVolumes("first-https")).containsExactly("first-tls");
    }

    @Test
    void theSchemaRefusesOneServicePortForBothAndAnEmptyList() {
        LoadBalancer samePort = OperatorCluster.loadBalancer("same-port", "http://10.8.0.4:8080");
        samePort.getSpec().setTls(tls(8080, null, "x"));
        assertThat(catchThrowableOfType(() -> cluster.create(samePort), KubernetesClientException.class)
                        .getMessage())
                .contains("spec.tls.port must differ from spec.port");

        LoadBalancer none = OperatorCluster.loadBalancer("no-secrets", "http://10.8.0.5:8080");
        none.getSpec().setTls(tls(null, null));
        assertThat(catchThrowableOfType(() -> cluster.create(none), KubernetesClientException.class)
                        .getMessage())
                .contains("spec.tls.secretNames");
    }

    private static TlsSpec tls(Integer port, Boolean redirect, String... secrets) {
        TlsSpec tls = new TlsSpec();
        tls.setSecretNames(List.of(secrets));
        tls.setPort(port);
        tls.setRedirect(redirect);
        return tls;
    }

    private static void useSecret(String lb, String secret) {
        cluster.edit(lb, l -> {
            l.getSpec().setTls(tls(null, null, secret));
            return l;
        });
    }

    private static void awaitReadyMessage(String lb, String message) {
        await().atMost(OperatorCluster.WAIT)
                .untilAsserted(() ->
                        assertThat(cluster.condition(lb, "Ready").getMessage()).isEqualTo(message));
        assertThat(cluster.condition(lb, "Ready").getReason()).isEqualTo("TLSSecretUnavailable");
    }

    private static List<String> secretVolumes(String lb) {
        return cluster.deployment(lb).getSpec().getTemplate().getSpec().getVolumes().stream()
                .map(Volume::getSecret)
                .filter(s -> s != null)
                .map(s -> s.getSecretName())
                .toList();
    }

    private static void tlsSecret(String name, ServerPem.Spec spec) {
        tlsSecret(name, ServerPem.make(dir, name, spec));
    }

    private static void tlsSecret(String name, ServerPem pem) {
        secret(name, "kubernetes.io/tls", Map.of("tls.crt", read(pem.cert()), "tls.key", read(pem.key())));
    }

    private static void secret(String name, String type, Map<String, String> stringData) {
        client.secrets()
                .inNamespace(NS)
                .resource(new SecretBuilder()
                        .withNewMetadata()
                        .withName(name)
                        .endMetadata()
                        .withType(type)
                        .withStringData(stringData)
                        .build())
                .create();
    }

    private static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
