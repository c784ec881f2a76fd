package dev.roundhouse.e2e.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.roundhouse.poolformat.PoolDocument;
import dev.roundhouse.poolformat.PoolDocumentCodec;
import dev.roundhouse.testing.TestBackend;
import dev.roundhouse.testing.apiserver.EmbeddedApiServer;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The proxy as its image runs it: {@code java -jar roundhouse-proxy.jar} with the libraries packaged beside it
 * (proxy/target/lib, which the Dockerfile copies). That set is trimmed by hand (proxy/pom.xml ships 7 of
 * Fabric8's 22 model jars), and every other test runs the proxy from a class path that may reach more (this
 * module's, or jar manifests), so this is the test that proves the shipped set starts, follows the pool
 * ConfigMap and applies a change.
 */
class ShippedProxyJarTest {

    private static final Path JAR = Path.of("..", "proxy", "target", "roundhouse-proxy.jar");
    private static final HttpClient HTTP =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    @Test
    void thePackagedProxyFollowsThePoolConfigMap(@TempDir Path dir) throws Exception {
        assumeTrue(Files.isRegularFile(JAR), "needs the packaged proxy: `mvn verify` from the root packages it first");
        try (EmbeddedApiServer api = new EmbeddedApiServer().start();
                TestBackend a = TestBackend.start("a");
                TestBackend b = TestBackend.start("b")) {
            KubernetesClient client = api.client();
            client.configMaps().inNamespace("default").resource(pool(a)).create();
            ProxyProcess proxy = ProxyProcess.startJar(
                    JAR,
                    Map.of(
                            "PORT", String.valueOf(LocalKubelet.freePort()),
                            "METRICS_PORT", String.valueOf(LocalKubelet.freePort()),
                            "BIND_ADDRESS", "127.0.0.1",
                            "KUBECONFIG",
                                    api.writeKubeconfig(dir.resolve("kubeconfig"))
                                            .toString(),
                            "POOL_CONFIGMAP", "web-pool"),
                    dir.resolve("proxy.log"));
            try {
                try {
                    await("proxy ready or gone")
                            .atMost(Duration.ofSeconds(60))
                            .pollInterval(Duration.ofMillis(100))
                            .until(() -> !proxy.isAlive() || proxy.ready());
                } catch (ConditionTimeoutException e) {
                    throw new AssertionError("proxy not ready after 60 s; log:\n" + Files.readString(proxy.log()), e);
                }
                assertThat(proxy.isAlive())
                        .as("proxy running; log:%n%s", Files.readString(proxy.log()))
                        .isTrue();
                assertThat(body(proxy.port())).isEqualTo("a");

                client.configMaps().inNamespace("default").resource(pool(b)).update();

                await("change applied")
                        .atMost(Duration.ofSeconds(10))
                        .pollInterval(Duration.ofMillis(20))
                        .until(() -> "b".equals(body(proxy.port())));
                assertThat(Files.readString(proxy.log()))
                        .doesNotContain("ClassNotFoundException", "NoClassDefFoundError");
            } finally {
                proxy.stop(Duration.ofSeconds(30));
            }
            assertThat(proxy.exitCode())
                    .as("exit after SIGTERM; log:%n%s", Files.readString(proxy.log()))
                    .isZero();
        }
    }

    private static ConfigMap pool(TestBackend backend) {
        String document =
                PoolDocumentCodec.write(PoolDocument.of(List.of(new PoolDocument.BackendEntry(backend.url(), 1))));
        return new ConfigMapBuilder()
                .withNewMetadata()
                .withName("web-pool")
                .withNamespace("default")
                .endMetadata()
                .addToData(PoolDocument.CONFIG_MAP_KEY, document)
                .build();
    }

    private static String body(int port) throws IOException, InterruptedException {
        return HTTP.send(
                        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/"))
                                .timeout(Duration.ofSeconds(2))
                                .build(),
                        HttpResponse.BodyHandlers.ofString())
                .body();
    }
}
