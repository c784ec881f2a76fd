package dev.roundhouse.operator;

import static org.assertj.core.api.Assertions.assertThat;

import dev.roundhouse.operator.api.v1alpha1.LoadBalancer;
import dev.roundhouse.operator.model.PoolDocuments;
import dev.roundhouse.poolformat.PoolDocument;
import dev.roundhouse.poolformat.PoolDocumentCodec;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The samples users copy are valid LoadBalancers whose pool the proxy's parser accepts. */
class SamplesTest {

    @ParameterizedTest
    @ValueSource(strings = {"loadbalancer.yaml", "loadbalancer-service-ref.yaml", "loadbalancer-grpc.yaml"})
    void sampleRendersAPoolDocumentTheProxyReads(String file) throws Exception {
        LoadBalancer lb;
        try (InputStream in = Files.newInputStream(Path.of("..", "samples", file))) {
            lb = Serialization.unmarshal(in, LoadBalancer.class);
        }
        List<PoolDocument.BackendEntry> discovered = List.of(new PoolDocument.BackendEntry("http://10.0.0.7:8080", 1));

        String text = PoolDocuments.render(PoolDocuments.fromSpec(lb.getSpec(), discovered));

        PoolDocument parsed = PoolDocumentCodec.parse(text); // exactly what the proxy runs on reload
        assertThat(parsed.version()).isEqualTo(parsed.lowestVersion());
        assertThat(parsed.backends()).isNotEmpty();
        assertThat(PoolDocumentCodec.write(parsed)).isEqualTo(text);
        if (lb.getSpec().getHealthCheck() != null
                && lb.getSpec().getHealthCheck().getInterval() != null) {
            assertThat(parsed.healthCheck().interval()).isEqualTo(Duration.ofSeconds(5));
        }
    }

    /**
     * The other half of the proxy's contract test: the proxy applies this committed file through a
     * real ConfigMap; here the operator must render exactly it for the sample LoadBalancer.
     */
    @org.junit.jupiter.api.Test
    void theOperatorRendersTheDocumentTheProxysContractTestFeedsIt() throws Exception {
        LoadBalancer lb;
        try (InputStream in = Files.newInputStream(Path.of("..", "samples", "loadbalancer.yaml"))) {
            lb = Serialization.unmarshal(in, LoadBalancer.class);
        }

        String rendered = PoolDocuments.render(PoolDocuments.fromSpec(lb.getSpec(), List.of()));

        assertThat(rendered)
                .isEqualTo(Files.readString(
                        Path.of("..", "proxy", "src", "test", "resources", "contract", "operator-rendered-pool.json")));
    }

    /** The TLS sample: its LoadBalancer names the Secret its cert-manager Certificate writes, and the schema takes it. */
    @org.junit.jupiter.api.Test
    void theTlsSampleNamesTheSecretItsCertificateWrites() throws Exception {
        String yaml = Files.readString(Path.of("..", "samples", "loadbalancer-tls.yaml"));
        List<Map<String, Object>> documents = new java.util.ArrayList<>();
        for (String part : yaml.split("(?m)^---$")) {
            documents.add(Serialization.unmarshal(part, Map.class));
        }
        assertThat(documents).extracting(d -> d.get("kind")).containsExactly("Certificate", "LoadBalancer");
        Map<?, ?> certificate = (Map<?, ?>) documents.get(0).get("spec");
        assertThat(documents.get(0).get("apiVersion")).isEqualTo("cert-manager.io/v1");
        LoadBalancer lb = Serialization.unmarshal(yaml.split("(?m)^---$")[1], LoadBalancer.class);
        assertThat(lb.getSpec().getTls().getSecretNames()).containsExactly((String) certificate.get("secretName"));

        try (var server = new dev.roundhouse.testing.apiserver.EmbeddedApiServer().start()) {
            server.client()
                    .load(Files.newInputStream(Path.of("..", "crds", "loadbalancers.roundhouse.dev-v1.yml")))
                    .create();
            lb.getMetadata().setNamespace("default");
            var created = server.client().resource(lb).create();
            assertThat(created.getSpec().getTls().getPort()).isEqualTo(443);
        }
    }
}
