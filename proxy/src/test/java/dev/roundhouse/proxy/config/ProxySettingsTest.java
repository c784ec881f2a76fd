package dev.roundhouse.proxy.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.roundhouse.poolformat.PoolDocument;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class ProxySettingsTest {

    @Test
    void defaultsMatchTheDocumentedOnes() throws Exception {
        ProxySettings s =
                ProxySettings.fromEnvironment(Map.of("BACKENDS", "http://localhost:3000,http://localhost:3001"));

        assertThat(s.port()).isEqualTo(8080);
        assertThat(s.metricsPort()).isEqualTo(9090);
        assertThat(s.logLevel()).isEqualTo("info");
        assertThat(s.shutdownTimeout()).isEqualTo(Duration.ofSeconds(30));
        assertThat(s.backendsPool().backends())
                .containsExactly(
                        new PoolDocument.BackendEntry("http://localhost:3000", 1),
                        new PoolDocument.BackendEntry("http://localhost:3001", 1));
        assertThat(s.backendsPool().healthCheck().interval()).isEqualTo(Duration.ofSeconds(30));
        assertThat(s.maxRequestBody()).as("no body limit unless one is set").isZero();
        assertThat(s.requestHeaderTimeout()).isEqualTo(Duration.ofSeconds(20));
        assertThat(s.keepAliveTimeout()).isEqualTo(Duration.ofSeconds(75));
    }

    @Test
    void httpsIsOffUnlessACertificateIsGivenAndItsVariablesAreReadTogether(@TempDir Path dir) throws Exception {
        ProxySettings plain = ProxySettings.fromEnvironment(Map.of("BACKENDS", "http://a:1"));
        assertThat(plain.tls()).isNull();

        ProxySettings pairs = ProxySettings.fromEnvironment(Map.of(
                "BACKENDS", "http://a:1",
                "TLS_CERT_FILE", "/tls/a.crt, /tls/b.crt",
                "TLS_KEY_FILE", "/tls/a.key,/tls/b.key"));
        assertThat(pairs.tls())
                .isEqualTo(new ProxySettings.Tls(
                        java.util.List.of(Path.of("/tls/a.crt"), Path.of("/tls/b.crt")),
                        java.util.List.of(Path.of("/tls/a.key"), Path.of("/tls/b.key")),
                        8443,
                        false,
                        0,
                        null,
                        "auto"));

        ProxySettings directory = ProxySettings.fromEnvironment(Map.of(
                "BACKENDS", "http://a:1",
                "TLS_CERT_FILE", dir.toString(),
                "TLS_PORT", "9443",
                "TLS_REDIRECT", "true",
                "TLS_REDIRECT_PORT", "443",
                "TLS_CLIENT_CA_FILE", "/tls/clients.pem"));
        assertThat(ProxySettings.fromEnvironment(Map.of(
                                "BACKENDS",
                                "http://a:1",
                                "TLS_CERT_FILE",
                                "/tls/a.crt",
                                "TLS_KEY_FILE",
                                "/tls/a.key",
                                "TLS_ENGINE",
                                "JDK"))
                        .tls()
                        .engine())
                .isEqualTo("jdk");
        assertThatThrownBy(() -> ProxySettings.fromEnvironment(Map.of(
                        "BACKENDS",
                        "http://a:1",
                        "TLS_CERT_FILE",
                        "/tls/a.crt",
                        "TLS_KEY_FILE",
                        "/tls/a.key",
                        "TLS_ENGINE",
                        "boringssl")))
                .hasMessageContaining("TLS_ENGINE: must be auto, openssl or jdk, got 'boringssl'");
        assertThat(directory.tls())
                .isEqualTo(new ProxySettings.Tls(
                        java.util.List.of(dir),
                        java.util.List.of(),
                        9443,
                        true,
                        443,
                        Path.of("/tls/clients.pem"),
                        "auto"));
    }

    @Test
    void httpsVariablesThatCannotWorkAreNamed(@TempDir Path dir) {
        assertThatThrownBy(() -> ProxySettings.fromEnvironment(Map.of(
                        "BACKENDS", "http://a:1",
                        "TLS_KEY_FILE", "/tls/a.key",
                        "TLS_REDIRECT", "true")))
                .isInstanceOfSatisfying(
                        InvalidSettingsException.class,
                        e -> assertThat(e.problems())
                                .containsExactlyInAnyOrder(
                                        "TLS_KEY_FILE: needs TLS_CERT_FILE (HTTPS is off without a certificate)",
                                        "TLS_REDIRECT: needs TLS_CERT_FILE (HTTPS is off without a certificate)"));
        assertThatThrownBy(() -> ProxySettings.fromEnvironment(Map.of(
                        "BACKENDS", "http://a:1",
                        "TLS_CERT_FILE", "/tls/a.crt,/tls/b.crt",
                        "TLS_KEY_FILE", "/tls/a.key",
                        "TLS_PORT", "8080",
                        "TLS_REDIRECT", "yes")))
                .isInstanceOfSatisfying(
                        InvalidSettingsException.class,
                        e -> assertThat(e.problems())
                                .containsExactlyInAnyOrder(
                                        "TLS_KEY_FILE: must name one key per certificate file: 2 in TLS_CERT_FILE, 1 here",
                                        "TLS_PORT: must differ from PORT (8080) and METRICS_PORT (9090)",
                                        "TLS_REDIRECT: must be true or false, got 'yes'"));
        assertThatThrownBy(() -> ProxySettings.fromEnvironment(Map.of(
                        "BACKENDS",
                        "http://a:1",
                        "TLS_CERT_FILE",
                        dir.resolve("a.crt").toString())))
                .hasMessageContaining("TLS_KEY_FILE: must be set when TLS_CERT_FILE names files");
    }

    @Test
    void connectionLimitsComeFromTheEnvironment() throws Exception {
        ProxySettings s = ProxySettings.fromEnvironment(Map.of(
                "BACKENDS",
                "http://a:1",
                "MAX_REQUEST_BODY",
                "10MiB",
                "REQUEST_HEADER_TIMEOUT",
                "500ms",
                "KEEP_ALIVE_TIMEOUT",
                "1m30s"));

        assertThat(s.maxRequestBody()).isEqualTo(10L * 1024 * 1024);
        assertThat(s.requestHeaderTimeout()).isEqualTo(Duration.ofMillis(500));
        assertThat(s.keepAliveTimeout()).isEqualTo(Duration.ofSeconds(90));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({
        "0, 0",
        "1048576, 1048576",
        "100B, 100",
        "512KiB, 524288",
        "10MiB, 10485760",
        "10 MiB, 10485760",
        "2GiB, 2147483648",
        "64Mi, 67108864",
        "1Ki, 1024",
        "1kB, 1000",
        "5MB, 5000000",
        "1GB, 1000000000",
        "10mib, 10485760"
    })
    void sizesAreReadInBinaryAndDecimalUnits(String text, long bytes) {
        assertThat(ProxySettings.parseSize(text)).isEqualTo(bytes);
    }

    @ParameterizedTest(name = "''{0}''")
    @ValueSource(strings = {"-1", "1.5MiB", "ten", "MiB", "10 MiB 2", "0x10"})
    void aBadSizeIsRefusedWithExamples(String text) {
        assertThatThrownBy(
                        () -> ProxySettings.fromEnvironment(Map.of("BACKENDS", "http://a:1", "MAX_REQUEST_BODY", text)))
                .isInstanceOfSatisfying(
                        InvalidSettingsException.class,
                        e -> assertThat(e.problems())
                                .containsExactly(
                                        "MAX_REQUEST_BODY: must be a size such as 10MiB, 512KiB or 1048576 (bytes),"
                                                + " or 0 for no limit; got '" + text + "'"));
    }

    @Test
    void anAmbiguousOrUnknownSizeUnitIsNamed() {
        // nginx reads 10m as 10 MiB, Kubernetes as 10 million: neither guess is made.
        assertThatThrownBy(() ->
                        ProxySettings.fromEnvironment(Map.of("BACKENDS", "http://a:1", "MAX_REQUEST_BODY", "10m")))
                .hasMessageContaining(
                        "MAX_REQUEST_BODY: unknown unit 'm' in '10m' (use B, KiB, MiB, GiB, or kB, MB, GB)");
        assertThatThrownBy(() ->
                        ProxySettings.fromEnvironment(Map.of("BACKENDS", "http://a:1", "MAX_REQUEST_BODY", "1TB")))
                .hasMessageContaining("MAX_REQUEST_BODY: unknown unit 'TB'");
        assertThatThrownBy(() -> ProxySettings.fromEnvironment(
                        Map.of("BACKENDS", "http://a:1", "MAX_REQUEST_BODY", "99999999999GiB")))
                .hasMessageContaining("MAX_REQUEST_BODY: '99999999999GiB' is too large");
    }

    @Test
    void connectionTimeoutsMustBeUsableDurations() {
        assertThatThrownBy(() -> ProxySettings.fromEnvironment(
                        Map.of("BACKENDS", "http://a:1", "REQUEST_HEADER_TIMEOUT", "0s", "KEEP_ALIVE_TIMEOUT", "25h")))
                .isInstanceOfSatisfying(
                        InvalidSettingsException.class,
                        e -> assertThat(e.problems())
                                .containsExactly(
                                        "REQUEST_HEADER_TIMEOUT: must be between 1ms and 24h, got '0s'",
                                        "KEEP_ALIVE_TIMEOUT: must be between 1ms and 24h, got '25h'"));
        assertThatThrownBy(() ->
                        ProxySettings.fromEnvironment(Map.of("BACKENDS", "http://a:1", "REQUEST_HEADER_TIMEOUT", "20")))
                .hasMessageContaining(
                        "REQUEST_HEADER_TIMEOUT: invalid duration '20': missing unit (use ms, s, m or h)");
    }

    @Test
    void weightsAndTuningComeFromTheEnvironment() throws Exception {
        ProxySettings s = ProxySettings.fromEnvironment(Map.of(
                "BACKENDS",
                "http://a:3000;weight=3, http://b:3000",
                "HEALTH_CHECK_INTERVAL",
                "5s",
                "UNHEALTHY_THRESHOLD",
                "4",
                "CB_WAIT_IN_OPEN",
                "1m",
                "REQUEST_TIMEOUT",
                "1500ms",
                "LOG_LEVEL",
                "DEBUG"));

        assertThat(s.backendsPool().backends())
                .extracting(PoolDocument.BackendEntry::weight)
                .containsExactly(3, 1);
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
                .hasMessageContaining("entry 1")
                .hasMessageContaining("weight must be between 1 and 1000");
        assertThatThrownBy(() -> ProxySettings.fromEnvironment(Map.of("BACKENDS", "http://a:1,,http://b:1")))
                .hasMessageContaining("entry 2")
                .hasMessageContaining("empty");
        assertThatThrownBy(() -> ProxySettings.fromEnvironment(Map.of("BACKENDS", "http://a:1;wieght=2")))
                .hasMessageContaining("unknown option 'wieght=2'");
    }

    @Test
    void everyProblemIsReportedAtOnce() {
        assertThatThrownBy(() -> ProxySettings.fromEnvironment(Map.of(
                        "PORT",
                        "http",
                        "LOG_LEVEL",
                        "loud",
                        "HEALTH_CHECK_INTERVAL",
                        "soon",
                        "BACKENDS",
                        "http://a:1")))
                .isInstanceOfSatisfying(
                        InvalidSettingsException.class,
                        e -> assertThat(e.problems())
                                .anyMatch(p -> p.startsWith("PORT: must be an integer"))
                                .anyMatch(p -> p.startsWith("LOG_LEVEL: must be one of"))
                                .anyMatch(p -> p.startsWith("HEALTH_CHECK_INTERVAL:")));
    }

    @Test
    void tuningOutsideThePoolFormatLimitsIsRefused() {
        assertThatThrownBy(() -> ProxySettings.fromEnvironment(
                        Map.of("BACKENDS", "http://a:1", "CB_FAILURE_RATE_THRESHOLD", "150")))
                .isInstanceOfSatisfying(
                        InvalidSettingsException.class,
                        e -> assertThat(e.problems())
                                .containsExactly(
                                        "CB_FAILURE_RATE_THRESHOLD: must be greater than 0 and at most 100, got 150.0"));
    }

    @Test
    void http2AndGrpcSettingsComeFromTheEnvironmentAndEachProblemNamesItsVariable() throws Exception {
        ProxySettings grpc = ProxySettings.fromEnvironment(Map.of(
                "BACKENDS",
                "http://a:50051;protocol=h2c,https://b:8443;protocol=h2;weight=2,http://c:80",
                "HEALTH_CHECK_GRPC_SERVICE",
                "",
                "CB_GRPC_FAILURE_STATUSES",
                "UNAVAILABLE, RESOURCE_EXHAUSTED"));
        PoolDocument doc = grpc.backendsPool();
        assertThat(doc.version()).isEqualTo(PoolDocument.VERSION_4);
        assertThat(doc.backends())
                .extracting(PoolDocument.BackendEntry::protocol)
                .containsExactly(
                        dev.roundhouse.poolformat.BackendProtocol.H2C,
                        dev.roundhouse.poolformat.BackendProtocol.H2,
                        dev.roundhouse.poolformat.BackendProtocol.HTTP_1_1);
        assertThat(doc.healthCheck().grpcService()).isEmpty();
        assertThat(doc.circuitBreaker().grpcFailureStatuses()).containsExactly("UNAVAILABLE", "RESOURCE_EXHAUSTED");

        assertThatThrownBy(() -> ProxySettings.fromEnvironment(Map.of(
                        "BACKENDS",
                        "https://a:1;protocol=h2c",
                        "HEALTH_CHECK_GRPC_SERVICE",
                        "shop/Cart",
                        "CB_GRPC_FAILURE_STATUSES",
                        "UNAVAILABLE,SLOW")))
                .isInstanceOfSatisfying(
                        InvalidSettingsException.class,
                        e -> assertThat(e.problems())
                                .containsExactlyInAnyOrder(
                                        "BACKENDS: entry 1 ('https://a:1;protocol=h2c'): protocol h2c needs an http URL",
                                        "HEALTH_CHECK_GRPC_SERVICE: must be a gRPC service name such as shop.v1.Cart"
                                                + " (letters, digits, '_' and '.'; empty for the whole server), at most"
                                                + " 256 characters, got 'shop/Cart'",
                                        "CB_GRPC_FAILURE_STATUSES: must be a gRPC status name such as UNAVAILABLE,"
                                                + " got 'SLOW'"));
        assertThatThrownBy(() -> ProxySettings.fromEnvironment(Map.of("BACKENDS", "http://a:1;protocol=h3")))
                .hasMessageContaining(
                        "BACKENDS: entry 1 ('http://a:1;protocol=h3'): protocol must be one of http/1.1, h2c, h2, got 'h3'");
    }

    @Test
    void backendTlsComesFromTheEnvironmentAndEachProblemNamesItsVariable(@TempDir Path dir) throws Exception {
        Path notPem = Files.writeString(dir.resolve("ca.pem"), "not a certificate");
        assertThatThrownBy(() -> ProxySettings.fromEnvironment(Map.of(
                        "BACKENDS",
                        "https://a:1",
                        "BACKEND_CA_FILE",
                        notPem.toString(),
                        "BACKEND_SERVER_NAME",
                        "a b",
                        "BACKEND_TLS_INSECURE_SKIP_VERIFY",
                        "yes")))
                .isInstanceOfSatisfying(
                        InvalidSettingsException.class,
                        e -> assertThat(e.problems())
                                .containsExactlyInAnyOrder(
                                        "BACKEND_TLS_INSECURE_SKIP_VERIFY: must be true or false, got 'yes'",
                                        "BACKEND_CA_FILE: must hold PEM certificates (-----BEGIN CERTIFICATE-----), found none",
                                        "BACKEND_SERVER_NAME: must be a DNS name such as backend.shop.svc, got 'a b'"));
        assertThatThrownBy(() -> ProxySettings.fromEnvironment(Map.of(
                        "BACKENDS",
                        "https://a:1",
                        "BACKEND_CA_FILE",
                        dir.resolve("missing.pem").toString())))
                .hasMessageContaining(
                        "BACKEND_CA_FILE: cannot read '" + dir.resolve("missing.pem") + "': no such file");

        ProxySettings skip = ProxySettings.fromEnvironment(Map.of(
                "BACKENDS",
                "https://a:1",
                "BACKEND_SERVER_NAME",
                "shop.default.svc",
                "BACKEND_TLS_INSECURE_SKIP_VERIFY",
                "true"));
        assertThat(skip.backendsPool().backendTls())
                .isEqualTo(new PoolDocument.BackendTls(null, "shop.default.svc", true));
        assertThat(skip.backendsPool().version()).isEqualTo(PoolDocument.VERSION_3);
        assertThat(ProxySettings.fromEnvironment(Map.of("BACKENDS", "https://a:1"))
                        .backendsPool()
                        .version())
                .as("nothing of version 3 used")
                .isEqualTo(PoolDocument.VERSION_1);
    }

    @Test
    void tuningIsCheckedWhateverThePoolSource() {
        assertThatThrownBy(() -> ProxySettings.fromEnvironment(
                        Map.of("POOL_CONFIGMAP", "web-pool", "HEALTH_CHECK_INTERVAL", "2h", "CB_MINIMUM_CALLS", "abc")))
                .isInstanceOfSatisfying(
                        InvalidSettingsException.class,
                        e -> assertThat(e.problems())
                                .containsExactlyInAnyOrder(
                                        "CB_MINIMUM_CALLS: must be an integer, got 'abc'",
                                        "HEALTH_CHECK_INTERVAL: must be between 10ms and 1h, got 2h"));
    }

    @Test
    void aPoolIsRequiredFromExactlyOneSource() {
        assertThatThrownBy(() -> ProxySettings.fromEnvironment(Map.of()))
                .hasMessageContaining("set BACKENDS")
                .hasMessageContaining("POOL_FILE")
                .hasMessageContaining("POOL_CONFIGMAP");
        assertThatThrownBy(
                        () -> ProxySettings.fromEnvironment(Map.of("BACKENDS", "http://a:1", "POOL_FILE", "/p.json")))
                .hasMessageContaining("BACKENDS, POOL_FILE: set only one pool source");
        assertThatThrownBy(() ->
                        ProxySettings.fromEnvironment(Map.of("POOL_FILE", "/p.json", "POOL_CONFIGMAP", "web-pool")))
                .hasMessageContaining("POOL_FILE, POOL_CONFIGMAP: set only one pool source");
        assertThatThrownBy(() -> ProxySettings.fromEnvironment(
                        Map.of("BACKENDS", "http://a:1", "POOL_FILE", "/p.json", "POOL_CONFIGMAP", "web-pool")))
                .hasMessageContaining("BACKENDS, POOL_FILE, POOL_CONFIGMAP: set only one pool source");
    }

    @Test
    void kubernetesModeTakesTheConfigMapAndItsNamespace() throws Exception {
        ProxySettings s = ProxySettings.fromEnvironment(Map.of("POOL_CONFIGMAP", "web-pool", "POD_NAMESPACE", "shop"));

        assertThat(s.poolConfigMap()).isEqualTo("web-pool");
        assertThat(s.podNamespace()).isEqualTo("shop");
        assertThat(s.backendsPool()).isNull();
        assertThat(s.poolFile()).isNull();
        assertThat(ProxySettings.fromEnvironment(Map.of("POOL_CONFIGMAP", "web-pool"))
                        .podNamespace())
                .as("absent: the client's own namespace")
                .isNull();
    }

    @Test
    void badKubernetesNamesAreNamed() {
        assertThatThrownBy(() ->
                        ProxySettings.fromEnvironment(Map.of("POOL_CONFIGMAP", "Web_Pool", "POD_NAMESPACE", "a.b")))
                .isInstanceOfSatisfying(
                        InvalidSettingsException.class,
                        e -> assertThat(e.problems())
                                .anyMatch(p -> p.startsWith("POOL_CONFIGMAP: must be a ConfigMap name")
                                        && p.contains("'Web_Pool'"))
                                .anyMatch(p -> p.startsWith("POD_NAMESPACE: must be a namespace name")
                                        && p.contains("'a.b'")));
    }

    @Test
    void settingsOfOtherPoolSourcesAndTheBindAddressAreCheckedWhateverTheSource() {
        assertThatThrownBy(() -> ProxySettings.fromEnvironment(Map.of(
                        "BACKENDS",
                        "http://a:1",
                        "POD_NAMESPACE",
                        "Bad_NS",
                        "BIND_ADDRESS",
                        "not-an-address",
                        "POOL_FILE_POLL_INTERVAL",
                        "0s")))
                .isInstanceOfSatisfying(
                        InvalidSettingsException.class,
                        e -> assertThat(e.problems())
                                .containsExactlyInAnyOrder(
                                        "BIND_ADDRESS: must be an IP address of this host (0.0.0.0 or :: for all), got"
                                                + " 'not-an-address'",
                                        "POD_NAMESPACE: must be a namespace name (lower-case DNS label), got 'Bad_NS'",
                                        "POOL_FILE_POLL_INTERVAL: must be at least 10ms, got '0s'"));
    }

    @Test
    void theBindAddressMustBeOneOfThisHost() throws Exception {
        assertThat(ProxySettings.fromEnvironment(Map.of("BACKENDS", "http://a:1", "BIND_ADDRESS", "127.0.0.1"))
                        .bindAddress())
                .isEqualTo("127.0.0.1");
        assertThat(ProxySettings.fromEnvironment(Map.of("BACKENDS", "http://a:1", "BIND_ADDRESS", "::"))
                        .bindAddress())
                .isEqualTo("::");
        assertThatThrownBy(() -> ProxySettings.fromEnvironment(
                        Map.of("BACKENDS", "http://a:1", "BIND_ADDRESS", "192.0.2.1"))) // TEST-NET-1: nobody's
                .hasMessageContaining("BIND_ADDRESS: must be an address of this host");
        assertThat(ProxySettings.fromEnvironment(Map.of("BACKENDS", "http://a:1", "POOL_FILE_POLL_INTERVAL", "10ms"))
                        .poolFilePollInterval())
                .isEqualTo(ProxySettings.MIN_POOL_FILE_POLL_INTERVAL);
    }

    @Test
    void theForwardedPortsAreReadAndTheHttpsOneNeedsACertificate() throws Exception {
        ProxySettings none = ProxySettings.fromEnvironment(Map.of("BACKENDS", "http://a:1"));
        assertThat(none.forwardedPort()).as("unset: the port connected to").isZero();
        assertThat(none.tlsForwardedPort()).isZero();
        ProxySettings set = ProxySettings.fromEnvironment(Map.of(
                "BACKENDS", "http://a:1",
                "FORWARDED_PORT", "80",
                "TLS_CERT_FILE", "/tls/a.crt",
                "TLS_KEY_FILE", "/tls/a.key",
                "TLS_FORWARDED_PORT", "443"));
        assertThat(set.forwardedPort()).isEqualTo(80);
        assertThat(set.tlsForwardedPort()).isEqualTo(443);
        assertThatThrownBy(() -> ProxySettings.fromEnvironment(
                        Map.of("BACKENDS", "http://a:1", "TLS_FORWARDED_PORT", "443", "FORWARDED_PORT", "http")))
                .isInstanceOfSatisfying(
                        InvalidSettingsException.class,
                        e -> assertThat(e.problems())
                                .containsExactlyInAnyOrder(
                                        "FORWARDED_PORT: must be an integer, got 'http'",
                                        "TLS_FORWARDED_PORT: needs TLS_CERT_FILE (HTTPS is off without a certificate)"));
    }
}
