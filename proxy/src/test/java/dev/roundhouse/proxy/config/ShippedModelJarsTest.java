package dev.roundhouse.proxy.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.File;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * The proxy ships only some of Fabric8's model jars (see proxy/pom.xml). Its ConfigMap tests prove that
 * set is enough only while they run on that same set: this fails if a test dependency brings the others back.
 */
class ShippedModelJarsTest {

    @Test
    void theTestsRunOnTheModelJarsTheProxyShips() {
        assertThat(Arrays.stream(System.getProperty("java.class.path").split(File.pathSeparator))
                        .map(entry -> Path.of(entry).getFileName().toString())
                        .filter(name -> name.startsWith("kubernetes-model-"))
                        .map(name -> name.substring("kubernetes-model-".length(), name.lastIndexOf('-'))))
                .containsExactlyInAnyOrder(
                        "common", "core", "apps", "autoscaling", "batch", "certificates", "extensions");
        assertThatThrownBy(() -> Class.forName("io.fabric8.kubernetes.api.model.gatewayapi.v1.Gateway"))
                .isInstanceOf(ClassNotFoundException.class);
    }
}
