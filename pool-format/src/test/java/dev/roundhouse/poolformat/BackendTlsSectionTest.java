package dev.roundhouse.poolformat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.roundhouse.poolformat.PoolDocument.BackendEntry;
import dev.roundhouse.poolformat.PoolDocument.BackendTls;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Version 3's {@code backendTLS}: how https backends are verified. */
class BackendTlsSectionTest {

    /** A self-signed certificate (no key: nothing secret), as a CA bundle holds it. */
    static final String CA = resource("/test-ca.pem");

    @Test
    void aDocumentWithBackendTlsIsVersion3AndReadsBackAsWritten() throws Exception {
        PoolDocument doc = new PoolDocument(
                        PoolDocument.VERSION_1,
                        List.of(new BackendEntry("https://10.0.0.1:8443", 1)),
                        null,
                        null,
                        null,
                        new BackendTls(CA, "shop.default.svc", false))
                .atLowestVersion();

        assertThat(doc.version()).isEqualTo(PoolDocument.VERSION_3);
        String written = PoolDocumentCodec.write(doc);
        assertThat(written)
                .contains(
                        "\"version\": 3",
                        "\"serverName\": \"shop.default.svc\"",
                        "\"insecureSkipVerify\": false",
                        "-----BEGIN CERTIFICATE-----");
        assertThat(PoolDocumentCodec.parse(written)).isEqualTo(doc);
    }

    @Test
    void withoutBackendTlsWritersStayAtAnOlderVersion() throws Exception {
        PoolDocument parsed = PoolDocumentCodec.parse("{\"version\": 3, \"backends\": [], \"backendTLS\": {}}");

        assertThat(parsed.backendTls()).isEqualTo(BackendTls.DEFAULTS);
        assertThat(PoolDocumentCodec.write(parsed.atLowestVersion()))
                .contains("\"version\": 1")
                .doesNotContain("backendTLS");
    }

    @Test
    void olderVersionsDoNotKnowTheSection() {
        assertThatThrownBy(() -> PoolDocumentCodec.parse(
                        "{\"version\": 2, \"backends\": [], \"backendTLS\": {\"insecureSkipVerify\": true}}"))
                .isInstanceOf(InvalidPoolDocumentException.class)
                .hasMessageContaining("backendTLS: unknown field");
        PoolDocument built =
                new PoolDocument(PoolDocument.VERSION_2, List.of(), null, null, null, new BackendTls(null, null, true));
        assertThatThrownBy(() -> PoolDocumentCodec.validate(built))
                .hasMessageContaining("backendTLS: needs version 3 of the pool document, got version 2");
    }

    @Test
    void everyProblemInTheSectionIsReportedAtOnce() {
        assertThatThrownBy(() -> PoolDocumentCodec.parse(json(
                        "{\"caBundle\": \"not a certificate\", \"serverName\": \"-bad-.example\", \"insecureSkipVerify\": \"yes\","
                                + " \"ca\": 1}")))
                .isInstanceOfSatisfying(
                        InvalidPoolDocumentException.class,
                        e -> assertThat(e.problems())
                                .containsExactly(
                                        "backendTLS.ca: unknown field",
                                        "backendTLS.insecureSkipVerify: must be true or false, got string",
                                        "backendTLS.caBundle: must hold PEM certificates (-----BEGIN CERTIFICATE-----), found none",
                                        "backendTLS.serverName: must be a DNS name such as backend.shop.svc, got '-bad-.example'"));
    }

    @Test
    void aDamagedCertificateAndSkipVerifyBesideABundleAreRefused() {
        String damaged = CA.replace("MIIB", "MIIC");
        assertThatThrownBy(() -> PoolDocumentCodec.parse(
                        json("{\"caBundle\": " + quote(damaged) + ", \"insecureSkipVerify\": true}")))
                .isInstanceOfSatisfying(
                        InvalidPoolDocumentException.class,
                        e -> assertThat(e.problems())
                                .hasSize(2)
                                .anySatisfy(p -> assertThat(p)
                                        .isEqualTo("backendTLS.insecureSkipVerify: cannot be combined"
                                                + " with caBundle (a CA bundle is for verifying certificates)"))
                                .anySatisfy(p -> assertThat(p)
                                        .startsWith("backendTLS.caBundle: not a valid PEM certificate bundle: ")));
    }

    @Test
    void aBundleOverTheLimitIsRefusedBeforeItIsParsed() {
        String huge = CA.repeat(PoolLimits.MAX_CA_BUNDLE_LENGTH / CA.length() + 1);
        assertThatThrownBy(() -> PoolDocumentCodec.parse(json("{\"caBundle\": " + quote(huge) + "}")))
                .hasMessageContaining(
                        "backendTLS.caBundle: at most " + PoolLimits.MAX_CA_BUNDLE_LENGTH + " characters");
    }

    private static String json(String backendTls) {
        return "{\"version\": 3, \"backends\": [], \"backendTLS\": " + backendTls + "}";
    }

    private static String quote(String text) {
        try {
            return JsonMapper.builder().build().writeValueAsString(text);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String resource(String name) {
        try (InputStream in = BackendTlsSectionTest.class.getResourceAsStream(name)) {
            return new String(in.readAllBytes(), StandardCharsets.US_ASCII);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
