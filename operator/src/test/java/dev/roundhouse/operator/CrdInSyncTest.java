package dev.roundhouse.operator;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The committed CRDs must be exactly what the build generates from the Java model. */
class CrdInSyncTest {

    private static final String FILE = "loadbalancers.roundhouse.dev-v1.yml";
    private static final String HOW_TO_FIX = "the committed CRD is stale; regenerate with: mvn -pl operator -am "
            + "-DskipTests package && cp operator/target/classes/META-INF/fabric8/" + FILE + " crds/ && cp crds/"
            + FILE + " charts/roundhouse/crds/";

    private static String generated() throws IOException {
        try (InputStream in = CrdInSyncTest.class.getResourceAsStream("/META-INF/fabric8/" + FILE)) {
            assertThat(in).as("the CRD generator's output on the classpath").isNotNull();
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    @Test
    void crdsFolderHoldsTheGeneratedCrd() throws IOException {
        assertThat(Files.readString(Path.of("..", "crds", FILE))).as(HOW_TO_FIX).isEqualTo(generated());
    }

    @Test
    void chartShipsTheSameCrd() throws IOException {
        assertThat(Files.readString(Path.of("..", "charts", "roundhouse", "crds", FILE)))
                .as(HOW_TO_FIX)
                .isEqualTo(generated());
    }
}
