package dev.roundhouse.testing.apiserver;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A Secret's {@code stringData} is write-only here as on a cluster: stored in {@code data}, never returned; a TLS
 * Secret's keys are required.
 */
class SecretStringDataTest {

    private static EmbeddedApiServer server;
    private static KubernetesClient client;

    @BeforeAll
    static void start() {
        server = new EmbeddedApiServer().start();
        client = server.client();
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    /** As on a cluster: a test must not build on a TLS Secret no API server would store. */
    @Test
    void aTlsSecretNeedsBothItsKeys() {
        var refused = org.assertj.core.api.Assertions.catchThrowableOfType(
                () -> client.secrets()
                        .inNamespace("default")
                        .resource(new SecretBuilder()
                                .withNewMetadata()
                                .withName("half-a-pair")
                                .endMetadata()
                                .withType("kubernetes.io/tls")
                                .withStringData(Map.of("tls.crt", "-----BEGIN CERTIFICATE-----"))
                                .build())
                        .create(),
                io.fabric8.kubernetes.client.KubernetesClientException.class);
        assertThat(refused.getCode()).isEqualTo(422);
        assertThat(refused.getMessage()).contains("data[tls.key]: Required value");

        client.secrets()
                .inNamespace("default")
                .resource(new SecretBuilder()
                        .withNewMetadata()
                        .withName("whole-pair")
                        .endMetadata()
                        .withType("kubernetes.io/tls")
                        .withStringData(Map.of("tls.crt", "c", "tls.key", "k"))
                        .build())
                .create();
        assertThat(client.secrets()
                        .inNamespace("default")
                        .withName("whole-pair")
                        .get()
                        .getData())
                .containsOnlyKeys("tls.crt", "tls.key");
    }

    @Test
    void stringDataIsStoredInDataOverAKeyOfTheSameName() {
        client.secrets()
                .inNamespace("default")
                .resource(new SecretBuilder()
                        .withNewMetadata()
                        .withName("ca")
                        .endMetadata()
                        .withData(Map.of("ca.crt", base64("old"), "other", base64("kept")))
                        .withStringData(Map.of("ca.crt", "-----BEGIN CERTIFICATE-----"))
                        .build())
                .create();

        Secret read = client.secrets().inNamespace("default").withName("ca").get();

        assertThat(read.getStringData()).isNullOrEmpty();
        assertThat(read.getData())
                .containsExactlyInAnyOrderEntriesOf(
                        Map.of("ca.crt", base64("-----BEGIN CERTIFICATE-----"), "other", base64("kept")));
    }

    @Test
    void anUpdateFoldsItsStringDataToo() {
        client.secrets()
                .inNamespace("default")
                .resource(new SecretBuilder()
                        .withNewMetadata()
                        .withName("token")
                        .endMetadata()
                        .withData(Map.of("t", base64("1")))
                        .build())
                .create();

        client.secrets()
                .inNamespace("default")
                .withName("token")
                .edit(s -> new SecretBuilder(s).withStringData(Map.of("t", "2")).build());

        Secret read = client.secrets().inNamespace("default").withName("token").get();
        assertThat(read.getStringData()).isNullOrEmpty();
        assertThat(read.getData()).containsExactlyEntriesOf(Map.of("t", base64("2")));
    }

    private static String base64(String text) {
        return Base64.getEncoder().encodeToString(text.getBytes(StandardCharsets.UTF_8));
    }
}
