package dev.roundhouse.poolformat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.roundhouse.poolformat.PoolDocument.BackendEntry;
import dev.roundhouse.poolformat.PoolDocument.CircuitBreaker;
import dev.roundhouse.poolformat.PoolDocument.HealthCheck;
import dev.roundhouse.poolformat.PoolDocument.Timeouts;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class PoolDocumentCodecTest {

    /** The example from docs/pool-format.md, in canonical form. */
    static final String FULL = """
            {
              "version": 2,
              "backends": [
                {
                  "url": "http://10.0.0.1:8080",
                  "weight": 1
                },
                {
                  "url": "https://backend-b.shop.svc:8443",
                  "weight": 3
                }
              ],
              "healthCheck": {
                "path": "/healthz",
                "interval": "15s",
                "timeout": "1.5s",
                "healthyThreshold": 2,
                "unhealthyThreshold": 4
              },
              "circuitBreaker": {
                "failureRateThreshold": 37.5,
                "slidingWindowSize": 50,
                "minimumNumberOfCalls": 20,
                "waitDurationInOpenState": "1m30s",
                "permittedNumberOfCallsInHalfOpenState": 5,
                "consecutiveConnectFailures": 5
              },
              "timeouts": {
                "connect": "250ms",
                "request": "2m"
              }
            }
            """;

    static final PoolDocument FULL_DOC = new PoolDocument(
            2,
            List.of(
                    new BackendEntry("http://10.0.0.1:8080", 1),
                    new BackendEntry("https://backend-b.shop.svc:8443", 3)),
            new HealthCheck("/healthz", Duration.ofSeconds(15), Duration.ofMillis(1500), 2, 4),
            new CircuitBreaker(37.5f, 50, 20, Duration.ofSeconds(90), 5, 5),
            new Timeouts(Duration.ofMillis(250), Duration.ofMinutes(2)));

    @Test
    void fullDocumentParsesToTheExpectedObject() throws Exception {
        assertThat(PoolDocumentCodec.parse(FULL)).isEqualTo(FULL_DOC);
    }

    @Test
    void version2AddsConsecutiveConnectFailuresAndWritersUseItOnlyWhenNeeded() throws Exception {
        PoolDocument v2 = PoolDocumentCodec.parse("""
                {"version": 2, "backends": [], "circuitBreaker": {"consecutiveConnectFailures": 0}}""");
        assertThat(v2.circuitBreaker().consecutiveConnectFailures()).isZero();
        assertThat(v2.lowestVersion()).isEqualTo(2);
        String written = PoolDocumentCodec.write(v2);
        assertThat(written).contains("\"version\": 2", "\"consecutiveConnectFailures\": 0");
        assertThat(PoolDocumentCodec.parse(written)).isEqualTo(v2);

        PoolDocument defaults = PoolDocumentCodec.parse("{\"version\": 2, \"backends\": []}");
        assertThat(defaults.circuitBreaker().consecutiveConnectFailures())
                .isEqualTo(CircuitBreaker.DEFAULT_CONSECUTIVE_CONNECT_FAILURES);
        assertThat(defaults.atLowestVersion()).isEqualTo(PoolDocument.of(List.of()));
        assertThat(PoolDocumentCodec.write(defaults.atLowestVersion()))
                .as("what an older proxy reads")
                .contains("\"version\": 1")
                .doesNotContain("consecutiveConnectFailures");
    }

    @Test
    void minimalDocumentGetsAllDefaults() throws Exception {
        PoolDocument doc = PoolDocumentCodec.parse("{\"version\":1,\"backends\":[]}");

        assertThat(doc.backends()).isEmpty();
        assertThat(doc.healthCheck()).isEqualTo(HealthCheck.DEFAULTS);
        assertThat(doc.circuitBreaker()).isEqualTo(CircuitBreaker.DEFAULTS);
        assertThat(doc.timeouts()).isEqualTo(Timeouts.DEFAULTS);
        assertThat(doc).isEqualTo(PoolDocument.of(List.of()));
    }

    @Test
    void absentFieldsOfAPresentSectionAndAbsentWeightsGetDefaults() throws Exception {
        PoolDocument doc = PoolDocumentCodec.parse("""
                {"version": 1, "backends": [{"url": "http://a:8080"}],
                 "healthCheck": {"path": "/ready"}, "timeouts": {"request": "5s"}}""");

        assertThat(doc.backends()).containsExactly(new BackendEntry("http://a:8080", BackendEntry.DEFAULT_WEIGHT));
        assertThat(doc.healthCheck())
                .isEqualTo(new HealthCheck("/ready", Duration.ofSeconds(30), Duration.ofSeconds(2), 2, 3));
        assertThat(doc.timeouts()).isEqualTo(new Timeouts(Duration.ofSeconds(3), Duration.ofSeconds(5)));
    }

    @Test
    void parsedUrlsAreNormalised() throws Exception {
        PoolDocument doc = PoolDocumentCodec.parse("""
                {"version": 1, "backends": [{"url": "HTTP://Backend-A/"}, {"url": "https://[::1]"}]}""");

        assertThat(doc.backends())
                .extracting(BackendEntry::url)
                .containsExactly("http://backend-a:80", "https://[::1]:443");
    }

    @Test
    void writeProducesTheCanonicalText() {
        assertThat(PoolDocumentCodec.write(FULL_DOC)).isEqualTo(FULL);
    }

    @Test
    void writeSpellsOutEveryDefault() {
        assertThat(PoolDocumentCodec.write(PoolDocument.of(List.of()))).isEqualTo("""
                {
                  "version": 1,
                  "backends": [],
                  "healthCheck": {
                    "path": "/",
                    "interval": "30s",
                    "timeout": "2s",
                    "healthyThreshold": 2,
                    "unhealthyThreshold": 3
                  },
                  "circuitBreaker": {
                    "failureRateThreshold": 50,
                    "slidingWindowSize": 20,
                    "minimumNumberOfCalls": 10,
                    "waitDurationInOpenState": "10s",
                    "permittedNumberOfCallsInHalfOpenState": 3
                  },
                  "timeouts": {
                    "connect": "3s",
                    "request": "1m"
                  }
                }
                """);
    }

    @Test
    void parseOfWriteGivesTheSameDocument() throws Exception {
        List<PoolDocument> docs = List.of(
                FULL_DOC,
                PoolDocument.of(List.of()),
                new PoolDocument(
                        1,
                        List.of(new BackendEntry("http://[::1]:8080", 1000)),
                        new HealthCheck("/a/b?deep=1", Duration.ofMillis(10), Duration.ofHours(1), 1, 100),
                        new CircuitBreaker(33.3f, 1, 10_000, Duration.ofNanos(10_000_001), 1000),
                        new Timeouts(Duration.ofMillis(3_600_000), Duration.ofMillis(61_500))),
                new PoolDocument(1, List.of(), null, new CircuitBreaker(0.001f, 1, 1, Duration.ofMillis(10), 1), null),
                new PoolDocument(1, List.of(), null, new CircuitBreaker(100f, 1, 1, Duration.ofMillis(10), 1), null));

        for (PoolDocument doc : docs) {
            String text = PoolDocumentCodec.write(doc);
            assertThat(PoolDocumentCodec.parse(text)).as(text).isEqualTo(doc);
            assertThat(PoolDocumentCodec.write(PoolDocumentCodec.parse(text))).isEqualTo(text);
        }
    }

    @Test
    void equalDocumentsBuiltSeparatelyWriteIdenticalBytes() {
        PoolDocument a = PoolDocument.of(List.of(new BackendEntry("http://a:80", 2)));
        PoolDocument b = new PoolDocument(
                1,
                new ArrayList<>(List.of(new BackendEntry("HTTP://A", 2))),
                new HealthCheck("/", Duration.ofMillis(30_000), Duration.ofSeconds(2), 2, 3),
                null,
                null);

        assertThat(PoolDocumentCodec.write(a)).isEqualTo(PoolDocumentCodec.write(b));
        assertThat(PoolDocumentCodec.contentHash(PoolDocumentCodec.write(a)))
                .isEqualTo(PoolDocumentCodec.contentHash(PoolDocumentCodec.write(b)));
    }

    @Test
    void writeRefusesAnInvalidDocument() {
        PoolDocument invalid = PoolDocument.of(List.of(new BackendEntry("ftp://a", 0)));

        assertThatThrownBy(() -> PoolDocumentCodec.write(invalid))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("backends[0].url: scheme must be http or https, got 'ftp'")
                .hasMessageContaining("backends[0].weight: must be between 1 and 1000, got 0");
    }

    @Test
    void contentHashIsTheFullSha256OfTheExactText() {
        assertThat(PoolDocumentCodec.contentHash(""))
                .isEqualTo("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        assertThat(PoolDocumentCodec.contentHash("abc"))
                .isEqualTo("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assertThat(PoolDocumentCodec.contentHash(FULL))
                .hasSize(64)
                .isNotEqualTo(PoolDocumentCodec.contentHash(FULL + " "));
    }

    @Test
    void constructorCopiesBackendsAndFillsMissingSections() {
        List<BackendEntry> backends = new ArrayList<>(List.of(new BackendEntry("http://a:80", 1)));
        PoolDocument doc = new PoolDocument(1, backends, null, null, null);
        backends.clear();

        assertThat(doc.backends()).hasSize(1);
        assertThatThrownBy(() -> doc.backends().add(new BackendEntry("http://b:80", 1)))
                .isInstanceOf(UnsupportedOperationException.class);
        assertThat(doc.healthCheck()).isSameAs(HealthCheck.DEFAULTS);
        assertThat(doc.circuitBreaker()).isSameAs(CircuitBreaker.DEFAULTS);
        assertThat(doc.timeouts()).isSameAs(Timeouts.DEFAULTS);
    }
}
