package dev.roundhouse.proxy.config;

import dev.roundhouse.poolformat.PoolDocument;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ProxySettingsTest {

    @Test
    void defaultsMatchTheDocumentedOnes() throws Exception {
        ProxySettings s = ProxySettings.fromEnvironment(Map.of("BACKENDS", "http://localhost:3000,http://localhost:3001"));

        assertThat(s.port()).isEqualTo(8080);
        assertThat(s.metricsPort()).isEqualTo(9090);
        assertThat(s.logLevel()).isEqualTo("info");
        assertThat(s.shutdownTimeout()).isEqualTo(Duration.ofSeconds(30));
        assertThat(s.backendsPool().backends()).containsExactly(
                new PoolDocument.BackendEntry("http://localhost:3000", 1),
                new PoolDocument.BackendEntry("http://localhost:3001", 1));
        assertThat(s.backendsPool().healthCheck().interval()).isEqualTo(Duration.ofSeconds(30));
    }

    @Test
    void weightsAndTuningComeFromTheEnvironment() throws Exception {
        ProxySettings s = ProxySettings.fromEnvironment(Map.of(
                "BACKENDS", "http://a:3000;weight=3, http://b:3000",
                "HEALTH_CHECK_INTERVAL", "5s", "UNHEALTHY_THRESHOLD", "4", "CB_WAIT_IN_OPEN", "1m",
                "REQUEST_TIMEOUT", "1500ms", "LOG_LEVEL", "DEBUG"));

        assertThat(s.backendsPool().backends()).extracting(PoolDocument.BackendEntry::weight).containsExactly(3, 1);
        assertThat(s.backendsPool().healthCheck().interval()).isEqualTo(Duration.ofSeconds(5));
        assertThat(s.backendsPool().healthCheck().unhealthyThreshold()).isEqualTo(4);
        assertThat(s.backendsPool().circuitBreaker().waitDurationInOpenState()).isEqualTo(Duration.ofMinutes(1));
        assertThat(s.backendsPool().timeouts().request()).isEqualTo(Duration.ofMillis(1500));
        assertThat(s.logLevel()).isEqualTo("debug");
    }

    @Test
    void aBadBackendEntryIsNamedWithItsReason() {
        assertThatThrownBy(() -> ProxySettings.fromEnvironment(Map.of("BACKENDS", "http://ok:1,ftp://bad:2")))
                .isInstanceOf(InvalidSettingsException.class)
                .hasMessageContaining("BACKENDS: entry 2 ('ftp://bad:2')")
                .hasMessageContaining("scheme");
        assertThatThrownBy(() -> ProxySettings.fromEnvironment(Map.of("BACKENDS", "http://a:1;weight=0")))
                .hasMessageContaining("entry 1").hasMessageContaining("weight must be between 1 and 1000");
        assertThatThrownBy(() -> ProxySettings.fromEnvironment(Map.of("BACKENDS", "http://a:1,,http://b:1")))
                .hasMessageContaining("entry 2").hasMessageContaining("empty");
        assertThatThrownBy(() -> ProxySettings.fromEnvironment(Map.of("BACKENDS", "http://a:1;wieght=2")))
                .hasMessageContaining("unknown option 'wieght=2'");
    }

    @Test
    void everyProblemIsReportedAtOnce() {
        assertThatThrownBy(() -> ProxySettings.fromEnvironment(Map.of(
                "PORT", "http", "LOG_LEVEL", "loud", "HEALTH_CHECK_INTERVAL", "soon", "BACKENDS", "http://a:1")))
                .isInstanceOfSatisfying(InvalidSettingsException.class, e -> assertThat(e.problems())
                        .anyMatch(p -> p.startsWith("PORT: must be an integer"))
                        .anyMatch(p -> p.startsWith("LOG_LEVEL: must be one of"))
                        .anyMatch(p -> p.startsWith("HEALTH_CHECK_INTERVAL:")));
    }

    @Test
    void tuningOutsideThePoolFormatLimitsIsRefused() {
        assertThatThrownBy(() -> ProxySettings.fromEnvironment(Map.of(
                "BACKENDS", "http://a:1", "CB_FAILURE_RATE_THRESHOLD", "150")))
                .hasMessageContaining("circuitBreaker.failureRateThreshold");
    }

    @Test
    void aPoolIsRequiredFromExactlyOneSource() {
        assertThatThrownBy(() -> ProxySettings.fromEnvironment(Map.of()))
                .hasMessageContaining("set BACKENDS").hasMessageContaining("POOL_FILE").hasMessageContaining("POOL_CONFIGMAP");
        assertThatThrownBy(() -> ProxySettings.fromEnvironment(Map.of("BACKENDS", "http://a:1", "POOL_FILE", "/p.json")))
                .hasMessageContaining("BACKENDS, POOL_FILE: set only one pool source");
        assertThatThrownBy(() -> ProxySettings.fromEnvironment(Map.of("POOL_FILE", "/p.json", "POOL_CONFIGMAP", "web-pool")))
                .hasMessageContaining("POOL_FILE, POOL_CONFIGMAP: set only one pool source");
        assertThatThrownBy(() -> ProxySettings.fromEnvironment(Map.of(
                "BACKENDS", "http://a:1", "POOL_FILE", "/p.json", "POOL_CONFIGMAP", "web-pool")))
                .hasMessageContaining("BACKENDS, POOL_FILE, POOL_CONFIGMAP: set only one pool source");
    }

    @Test
    void kubernetesModeTakesTheConfigMapAndItsNamespace() throws Exception {
        ProxySettings s = ProxySettings.fromEnvironment(Map.of("POOL_CONFIGMAP", "web-pool", "POD_NAMESPACE", "shop"));

        assertThat(s.poolConfigMap()).isEqualTo("web-pool");
        assertThat(s.podNamespace()).isEqualTo("shop");
        assertThat(s.backendsPool()).isNull();
        assertThat(s.poolFile()).isNull();
        assertThat(ProxySettings.fromEnvironment(Map.of("POOL_CONFIGMAP", "web-pool")).podNamespace())
                .as("absent: the client's own namespace").isNull();
    }

    @Test
    void badKubernetesNamesAreNamed() {
        assertThatThrownBy(() -> ProxySettings.fromEnvironment(Map.of("POOL_CONFIGMAP", "Web_Pool", "POD_NAMESPACE", "a.b")))
                .isInstanceOfSatisfying(InvalidSettingsException.class, e -> assertThat(e.problems())
                        .anyMatch(p -> p.startsWith("POOL_CONFIGMAP: must be a ConfigMap name") && p.contains("'Web_Pool'"))
                        .anyMatch(p -> p.startsWith("POD_NAMESPACE: must be a namespace name") && p.contains("'a.b'")));
    }
}
