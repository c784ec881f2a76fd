package dev.roundhouse.e2e.local;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * {@code roundhouse local} runs from this module's own dependencies (target/lib), which must carry every
 * Fabric8 model jar that the operator and the embedded API server use. The proxy ships fewer (proxy/pom.xml);
 * if its choice won here, the tests would still pass through the operator jar's manifest, and only the
 * packaged local demo would fail (as it once did, with CustomResourceDefinition missing).
 */
class LocalClasspathTest {

    @Test
    void theModuleResolvesTheOperatorsModelJarsItself() {
        assertThat(Arrays.stream(System.getProperty("java.class.path").split(File.pathSeparator))
                        .map(entry -> Path.of(entry).getFileName().toString())
                        .filter(name -> name.startsWith("kubernetes-model-")))
                .anyMatch(name -> name.startsWith("kubernetes-model-apiextensions-"))
                .anyMatch(name -> name.startsWith("kubernetes-model-coordination-"))
                .anyMatch(name -> name.startsWith("kubernetes-model-core-"));
    }
}
