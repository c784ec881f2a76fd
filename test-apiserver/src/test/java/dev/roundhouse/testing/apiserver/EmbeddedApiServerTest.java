package dev.roundhouse.testing.apiserver;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.jdkhttp.JdkHttpClientFactory;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EmbeddedApiServerTest {

    @Test
    void startsOnAnEphemeralLoopbackPortAndStopsOnClose() {
        int port;
        try (EmbeddedApiServer server = new EmbeddedApiServer().start()) {
            port = server.port();
            assertThat(port).isPositive();
            assertThat(answersAsApiServer(port)).isTrue();
            assertThat(server.url()).isEqualTo("http://127.0.0.1:" + port);
            assertThat(server.client().getMasterUrl().toString()).startsWith("http://127.0.0.1:" + port);
            assertThat(server.client().getHttpClient().getClass().getName()).contains("jdkhttp");

            server.client().resource(Desired.configMap("hello")).create();
            assertThat(server.client().configMaps().withName("hello").get().getData())
                    .containsKey("mode");
            assertThatThrownBy(() -> server.start()).isInstanceOf(IllegalStateException.class);
        }
        // Not "connection refused": once free, the ephemeral port may be anyone's (Linux even lets a client connect
        // to itself on it). What must hold is that this server no longer answers there.
        assertThat(answersAsApiServer(port))
                .as("an API server answers on :%d after close", port)
                .isFalse();
    }

    /** Whether {@code GET /version} on the port gets the embedded server's answer. */
    private static boolean answersAsApiServer(int port) {
        try (Socket socket = new Socket("127.0.0.1", port)) {
            socket.setSoTimeout(2_000);
            socket.getOutputStream()
                    .write("GET /version HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
                            .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            byte[] answer = socket.getInputStream().readNBytes(4096);
            return new String(answer, java.nio.charset.StandardCharsets.ISO_8859_1).contains("gitVersion");
        } catch (IOException e) {
            return false;
        }
    }

    @Test
    void startsOnAGivenPort() throws IOException {
        int port;
        try (ServerSocket probe = new ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"))) {
            port = probe.getLocalPort();
        }
        try (EmbeddedApiServer server = new EmbeddedApiServer().start(port)) {
            assertThat(server.port()).isEqualTo(port);
            assertThat(server.client().configMaps().list().getItems()).isEmpty();
        }
    }

    @Test
    void writesAKubeconfigThatClientsCanUse(@TempDir Path dir) throws IOException {
        try (EmbeddedApiServer server = new EmbeddedApiServer().start()) {
            server.client().resource(Desired.configMap("from-kubeconfig")).create();

            Path file = server.writeKubeconfig(dir.resolve("nested/kubeconfig"));

            String text = Files.readString(file);
            assertThat(text)
                    .contains(
                            "server: http://127.0.0.1:" + server.port(),
                            "insecure-skip-tls-verify: true",
                            "current-context: roundhouse-embedded");
            Config config = Config.fromKubeconfig(null, file.toFile());
            assertThat(config.getMasterUrl()).startsWith("http://127.0.0.1:" + server.port());
            assertThat(config.getNamespace()).isEqualTo("default");
            assertThat(config.getOauthToken()).isNull();
            assertThat(config.getUsername()).isNull();
            try (KubernetesClient client = new KubernetesClientBuilder()
                    .withConfig(config)
                    .withHttpClientFactory(new JdkHttpClientFactory())
                    .build()) {
                assertThat(client.configMaps().withName("from-kubeconfig").get())
                        .isNotNull();
            }
        }
    }

    @Test
    void appliesYamlFilesAndCrds(@TempDir Path dir) throws IOException {
        try (EmbeddedApiServer server = new EmbeddedApiServer().start()) {
            var crds = server.applyCrds(TestFiles.WIDGET_CRD, TestFiles.SERVICE_MONITOR_CRD);
            assertThat(crds)
                    .extracting(c -> c.getMetadata().getName())
                    .containsExactly("widgets.test.roundhouse.dev", "servicemonitors.monitoring.coreos.com");
            assertThat(server.client()
                            .apiextensions()
                            .v1()
                            .customResourceDefinitions()
                            .withName("widgets.test.roundhouse.dev")
                            .get()
                            .getStatus()
                            .getConditions())
                    .anySatisfy(
                            c -> assertThat(c.getType() + "=" + c.getStatus()).isEqualTo("Established=True"));

            Path yaml = Files.writeString(dir.resolve("objects.yaml"), """
          apiVersion: v1
          kind: ServiceAccount
          metadata:
            name: demo
          ---
          apiVersion: test.roundhouse.dev/v1
          kind: Widget
          metadata:
            name: demo
          spec:
            port: 8080
          """);
            assertThat(server.applyYaml(yaml)).extracting(o -> o.getKind()).containsExactly("ServiceAccount", "Widget");
            assertThat(server.applyYaml(yaml)).hasSize(2); // again: a no-op
            assertThat(server.client().serviceAccounts().withName("demo").get()).isNotNull();
            assertThat(server.client()
                            .resources(Widget.class)
                            .withName("demo")
                            .get()
                            .getSpec()
                            .getPort())
                    .isEqualTo(8080);

            assertThatThrownBy(() -> server.applyCrds(yaml))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("ServiceAccount");
        }
    }

    @Test
    void newClientsAreIndependentOfTheSharedOne() {
        try (EmbeddedApiServer server = new EmbeddedApiServer().start()) {
            KubernetesClient own = server.newClient();
            own.close();
            assertThat(server.client().configMaps().list().getItems()).isEmpty();
            try (KubernetesClient another = server.newClient()) {
                assertThat(another).isNotSameAs(server.client());
            }
        }
    }
}
