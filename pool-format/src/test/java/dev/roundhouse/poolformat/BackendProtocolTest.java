package dev.roundhouse.poolformat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.roundhouse.poolformat.PoolDocument.BackendEntry;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Version 4: {@code backends[].protocol} (HTTP/1.1, h2c or h2 per backend) and {@code healthCheck.grpcService}. */
class BackendProtocolTest {

    @Test
    void aDocumentWithAnHttp2BackendIsVersion4AndReadsBackAsWritten() throws Exception {
        PoolDocument doc = PoolDocument.of(List.of(
                        new BackendEntry("http://10.0.0.1:50051", 1, BackendProtocol.H2C),
                        new BackendEntry("https://10.0.0.2:8443", 2, BackendProtocol.H2),
                        new BackendEntry("http://10.0.0.3:8080", 1)))
                .atLowestVersion();

        assertThat(doc.version()).isEqualTo(PoolDocument.VERSION_4);
        String written = PoolDocumentCodec.write(doc);
        assertThat(written)
                .contains(
                        "\"version\": 4",
                        "\"protocol\": \"h2c\"",
                        "\"protocol\": \"h2\"",
                        "\"protocol\": \"http/1.1\"");
        assertThat(PoolDocumentCodec.parse(written)).isEqualTo(doc);
    }

    @Test
    void withOnlyHttp11BackendsWritersStayAtAnOlderVersionAndAnAbsentProtocolIsHttp11() throws Exception {
        PoolDocument parsed = PoolDocumentCodec.parse(
                "{\"version\": 4, \"backends\": [{\"url\": \"http://10.0.0.1:80\", \"protocol\": \"http/1.1\"},"
                        + " {\"url\": \"http://10.0.0.2:80\"}]}");

        assertThat(parsed.backends()).extracting(BackendEntry::protocol).containsOnly(BackendProtocol.HTTP_1_1);
        assertThat(PoolDocumentCodec.write(parsed.atLowestVersion()))
                .contains("\"version\": 1")
                .doesNotContain("protocol");
    }

    @Test
    void olderVersionsDoNotKnowTheField() {
        assertThatThrownBy(() -> PoolDocumentCodec.parse(
                        "{\"version\": 3, \"backends\": [{\"url\": \"http://10.0.0.1:80\", \"protocol\": \"h2c\"}]}"))
                .hasMessageContaining("backends[0].protocol: unknown field");
        PoolDocument built = new PoolDocument(
                PoolDocument.VERSION_3,
                List.of(new BackendEntry("http://10.0.0.1:80", 1, BackendProtocol.H2C)),
                null,
                null,
                null);
        assertThatThrownBy(() -> PoolDocumentCodec.validate(built))
                .hasMessageContaining("backends[0].protocol: needs version 4 of the pool document, got version 3");
    }

    @Test
    void anUnknownProtocolOrOneThatDoesNotFitTheSchemeIsReported() {
        assertThatThrownBy(() -> PoolDocumentCodec.parse("{\"version\": 4, \"backends\": ["
                        + "{\"url\": \"http://10.0.0.1:80\", \"protocol\": \"h3\"},"
                        + " {\"url\": \"https://10.0.0.2:443\", \"protocol\": \"h2c\"},"
                        + " {\"url\": \"http://10.0.0.3:80\", \"protocol\": \"h2\"},"
                        + " {\"url\": \"http://10.0.0.4:80\", \"protocol\": 2}]}"))
                .isInstanceOfSatisfying(
                        InvalidPoolDocumentException.class,
                        e -> assertThat(e.problems())
                                .containsExactly(
                                        "backends[0].protocol: must be one of http/1.1, h2c, h2, got 'h3'",
                                        "backends[3].protocol: must be a string, got number",
                                        "backends[1].protocol: h2c needs an http URL, got https://10.0.0.2:443",
                                        "backends[2].protocol: h2 needs an https URL, got http://10.0.0.3:80"));
    }

    @Test
    void aGrpcHealthServiceIsVersion4AndMayBeEmpty() throws Exception {
        for (String service : new String[] {"", "shop.v1.Cart", "grpc.health.v1.Health"}) {
            PoolDocument doc = new PoolDocument(
                            PoolDocument.VERSION_1,
                            List.of(new BackendEntry("http://10.0.0.1:50051", 1, BackendProtocol.H2C)),
                            new PoolDocument.HealthCheck(
                                    "/",
                                    java.time.Duration.ofSeconds(5),
                                    java.time.Duration.ofSeconds(1),
                                    1,
                                    1,
                                    service),
                            null,
                            null)
                    .atLowestVersion();
            String written = PoolDocumentCodec.write(doc);
            assertThat(written).contains("\"grpcService\": \"" + service + "\"");
            assertThat(PoolDocumentCodec.parse(written)).isEqualTo(doc);
            assertThat(PoolDocumentCodec.parse(written).healthCheck().grpc()).isTrue();
        }
        assertThat(PoolDocument.HealthCheck.DEFAULTS.grpc()).isFalse();
    }

    @Test
    void aGrpcHealthServiceMustBeAServiceNameInVersion4() {
        assertThatThrownBy(() -> PoolDocumentCodec.parse(
                        "{\"version\": 3, \"backends\": [], \"healthCheck\": {\"grpcService\": \"\"}}"))
                .hasMessageContaining("healthCheck.grpcService: unknown field");
        assertThatThrownBy(() -> PoolDocumentCodec.parse(
                        "{\"version\": 4, \"backends\": [], \"healthCheck\": {\"grpcService\": \"shop/Cart\"}}"))
                .hasMessageContaining(
                        "healthCheck.grpcService: must be a gRPC service name such as shop.v1.Cart (letters, digits,"
                                + " '_' and '.'; empty for the whole server), at most 256 characters, got 'shop/Cart'");
    }

    @Test
    void grpcFailureStatusesOtherThanTheDefaultAreVersion4() throws Exception {
        PoolDocument.CircuitBreaker d = PoolDocument.CircuitBreaker.DEFAULTS;
        assertThat(d.grpcFailureStatuses()).containsExactly("UNKNOWN", "DEADLINE_EXCEEDED", "INTERNAL", "UNAVAILABLE");
        PoolDocument doc = new PoolDocument(
                        PoolDocument.VERSION_1,
                        List.of(),
                        null,
                        new PoolDocument.CircuitBreaker(
                                d.failureRateThreshold(),
                                d.slidingWindowSize(),
                                d.minimumNumberOfCalls(),
                                d.waitDurationInOpenState(),
                                d.permittedNumberOfCallsInHalfOpenState(),
                                d.consecutiveConnectFailures(),
                                List.of("UNAVAILABLE", "RESOURCE_EXHAUSTED")),
                        null)
                .atLowestVersion();

        assertThat(doc.version()).isEqualTo(PoolDocument.VERSION_4);
        String written = PoolDocumentCodec.write(doc);
        assertThat(written)
                .contains("\"grpcFailureStatuses\": [\n      \"UNAVAILABLE\",\n      \"RESOURCE_EXHAUSTED\"\n    ]");
        assertThat(PoolDocumentCodec.parse(written)).isEqualTo(doc);
        assertThat(PoolDocumentCodec.parse(
                                "{\"version\": 4, \"backends\": [], \"circuitBreaker\": {\"grpcFailureStatuses\": []}}")
                        .circuitBreaker()
                        .grpcFailureStatuses())
                .as("none: no gRPC status counts against a breaker")
                .isEmpty();
    }

    @Test
    void grpcFailureStatusesAreKnownNamesOnceEach() {
        assertThatThrownBy(() -> PoolDocumentCodec.parse("{\"version\": 4, \"backends\": [], \"circuitBreaker\":"
                        + " {\"grpcFailureStatuses\": [\"UNAVAILABLE\", \"unavailable\", \"UNAVAILABLE\", 14]}}"))
                .isInstanceOfSatisfying(
                        InvalidPoolDocumentException.class,
                        e -> assertThat(e.problems())
                                .containsExactly(
                                        "circuitBreaker.grpcFailureStatuses[3]: must be a string, got number"));
        assertThatThrownBy(() -> PoolDocumentCodec.parse("{\"version\": 4, \"backends\": [], \"circuitBreaker\":"
                        + " {\"grpcFailureStatuses\": [\"UNAVAILABLE\", \"unavailable\", \"UNAVAILABLE\"]}}"))
                .isInstanceOfSatisfying(
                        InvalidPoolDocumentException.class,
                        e -> assertThat(e.problems())
                                .containsExactly(
                                        "circuitBreaker.grpcFailureStatuses[1]: must be a gRPC status name such as"
                                                + " UNAVAILABLE, got 'unavailable'",
                                        "circuitBreaker.grpcFailureStatuses[2]: duplicate of"
                                                + " circuitBreaker.grpcFailureStatuses[0]"));
        assertThatThrownBy(() -> PoolDocumentCodec.parse(
                        "{\"version\": 3, \"backends\": [], \"circuitBreaker\":" + " {\"grpcFailureStatuses\": []}}"))
                .hasMessageContaining("circuitBreaker.grpcFailureStatuses: unknown field");
    }

    @Test
    void namesRoundTrip() {
        for (BackendProtocol protocol : BackendProtocol.values()) {
            assertThat(BackendProtocol.named(protocol.wireName())).isSameAs(protocol);
        }
        assertThat(BackendProtocol.named("HTTP/1.1")).isNull();
        assertThat(BackendProtocol.H2C.multiplexed()).isTrue();
        assertThat(BackendProtocol.HTTP_1_1.multiplexed()).isFalse();
    }
}
