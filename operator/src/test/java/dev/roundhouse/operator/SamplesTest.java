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
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The samples users copy are valid LoadBalancers whose pool the proxy's parser accepts. */
class SamplesTest {

    @ParameterizedTest
    @ValueSource(strings = {"loadbalancer.yaml", "loadbalancer-service-ref.yaml"})
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
}
