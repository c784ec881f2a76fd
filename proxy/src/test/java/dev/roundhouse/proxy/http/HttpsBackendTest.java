package dev.roundhouse.proxy.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.roundhouse.poolformat.PoolDocument;
import dev.roundhouse.poolformat.PoolDocumentCodec;
import dev.roundhouse.proxy.RoundhouseProxy;
import dev.roundhouse.proxy.testing.Closeables;
import dev.roundhouse.proxy.testing.ProxyFixture;
import dev.roundhouse.proxy.testing.Scrape;
import dev.roundhouse.proxy.testing.TestTls;
import dev.roundhouse.testing.RawHttp;
import dev.roundhouse.testing.TestBackend;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Backends reached over TLS take the same engine as plain ones, the transport chosen per connection by the
 * backend's own scheme, and their certificates are verified as a user configures it ({@code backendTLS}, or
 * {@code BACKEND_CA_FILE}, {@code BACKEND_SERVER_NAME} and {@code BACKEND_TLS_INSECURE_SKIP_VERIFY} standalone):
 * the chain against the CA bundle, the name against the server name or the backend's host.
 */
class HttpsBackendTest {

    @RegisterExtension
    final Closeables closeables = new Closeables();

    @TempDir
    Path dir;

    private RoundhouseProxy proxyTrusting(TestTls.Certificate trusted, String backends, String... more) {
        List<String> env = new java.util.ArrayList<>(List.of(
                "BACKENDS",
                backends,
                "HEALTH_CHECK_PATH",
                "/health",
                "BACKEND_CA_FILE",
                trusted.pemFile(dir).toString()));
        env.addAll(List.of(more));
        return closeables.add(ProxyFixture.start(ProxyFixture.env(env.toArray(String[]::new))));
    }

    @Test
    void requestsWithAndWithoutBodiesReachAnHttpsBackend() throws Exception {
        TestBackend secure =
                closeables.add(TestBackend.startTls("secure", TestTls.loopback().serverContext()));
        RoundhouseProxy proxy = proxyTrusting(TestTls.loopback(), secure.url());
        String body = "b".repeat(100_000);

        try (RawHttp client = RawHttp.connect(proxy.port())) {
            RawHttp.Response get =
                    client.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n").readResponse();
            assertThat(get.status()).as("%s", get).isEqualTo(200);
            assertThat(get.bodyText()).isEqualTo("secure");

            RawHttp.Response fixed = client.send(
                            "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: " + body.length() + "\r\n\r\n" + body)
                    .readResponse();
            assertThat(fixed.bodyText()).isEqualTo(body.length() + " " + sha256(body));
        }
        RawHttp.Response chunked = RawHttp.exchange(
                proxy.port(),
                "POST /upload HTTP/1.1\r\nHost: x\r\n" + "Transfer-Encoding: chunked\r\n\r\n"
                        + Integer.toHexString(body.length()) + "\r\n" + body + "\r\n0\r\n\r\n");
        assertThat(chunked.bodyText()).isEqualTo(body.length() + " " + sha256(body));
        assertThat(secure.seen).hasSize(3);
    }

    @Test
    void aPoolMixingHttpAndHttpsBackendsReachesEach() {
        TestBackend secure =
                closeables.add(TestBackend.startTls("secure", TestTls.loopback().serverContext()));
        TestBackend plain = closeables.add(TestBackend.start("plain"));
        RoundhouseProxy proxy = proxyTrusting(TestTls.loopback(), secure.url() + "," + plain.url());

        Set<String> answered = new HashSet<>();
        for (int i = 0; i < 6; i++) {
            RawHttp.Response response = RawHttp.exchange(proxy.port(), "GET /which HTTP/1.1\r\nHost: x\r\n\r\n");
            assertThat(response.status()).as("%s", response).isEqualTo(200);
            answered.add(response.bodyText());
        }
        assertThat(answered).containsExactlyInAnyOrder("secure", "plain");
        assertThat(secure.hits.get()).isEqualTo(3);
        assertThat(plain.hits.get()).isEqualTo(3);
    }

    @Test
    void aBackendWhoseCertificateIsNotTrustedGets502AndIsCharged() {
        TestBackend secure =
                closeables.add(TestBackend.startTls("secure", TestTls.loopback().serverContext()));
        // The JVM's default CAs do not know the test certificate.
        RoundhouseProxy proxy = closeables.add(
                ProxyFixture.start(ProxyFixture.env("BACKENDS", secure.url(), "HEALTH_CHECK_PATH", "/health")));

        RawHttp.Response response = RawHttp.exchange(proxy.port(), "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");

        assertThat(response.status()).as("%s", response).isEqualTo(502);
        assertThat(secure.hits.get()).as("no request reached it").isZero();
        assertThat(Scrape.errors(proxy, "upstream_reset", secure.url())).isEqualTo(1.0);
    }

    @Test
    void aTrustedCertificateThatDoesNotNameTheBackendIsRefused() {
        // Signed by a CA the proxy trusts, but issued for another name: anyone holding such a certificate could
        // otherwise stand in for the backend.
        TestTls.Certificate elsewhere = TestTls.certificate("dns:elsewhere.example");
        TestBackend impostor = closeables.add(TestBackend.startTls("impostor", elsewhere.serverContext()));
        RoundhouseProxy proxy = proxyTrusting(elsewhere, impostor.url());

        RawHttp.Response response = RawHttp.exchange(proxy.port(), "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");

        assertThat(response.status()).as("%s", response).isEqualTo(502);
        assertThat(impostor.hits.get()).isZero();
    }

    @Test
    void aServerNameIsSentAndCheckedInsteadOfTheBackendsAddress() {
        // In a cluster the pool holds pod IPs, and the certificate names the Service.
        TestTls.Certificate service = TestTls.certificate("dns:shop.default.svc");
        TestBackend pod = closeables.add(TestBackend.startTls("pod", service.serverContext()));
        RoundhouseProxy proxy = proxyTrusting(service, pod.url(), "BACKEND_SERVER_NAME", "shop.default.svc");

        RawHttp.Response response = RawHttp.exchange(proxy.port(), "GET /sni HTTP/1.1\r\nHost: x\r\n\r\n");

        assertThat(response.status()).as("%s", response).isEqualTo(200);
        assertThat(response.bodyText()).isEqualTo("[shop.default.svc]");
    }

    @Test
    void skippingVerificationAcceptsAnyCertificateOnlyWhenAskedFor() {
        TestBackend secure = closeables.add(TestBackend.startTls(
                "secure", TestTls.certificate("dns:elsewhere.example").serverContext()));
        RoundhouseProxy proxy = closeables.add(ProxyFixture.start(ProxyFixture.env(
                "BACKENDS", secure.url(), "HEALTH_CHECK_PATH", "/health", "BACKEND_TLS_INSECURE_SKIP_VERIFY", "true")));

        RawHttp.Response response = RawHttp.exchange(proxy.port(), "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");

        assertThat(response.status()).as("%s", response).isEqualTo(200);
        assertThat(response.bodyText()).isEqualTo("secure");
    }

    @Test
    void healthChecksTrustWhatRequestsTrust() {
        TestBackend secure =
                closeables.add(TestBackend.startTls("secure", TestTls.loopback().serverContext()));
        RoundhouseProxy proxy = proxyTrusting(
                TestTls.loopback(), secure.url(), "HEALTH_CHECK_INTERVAL", "100ms", "UNHEALTHY_THRESHOLD", "1");

        // A check that failed its TLS handshake would never reach the backend, and take it out of rotation.
        await().atMost(Duration.ofSeconds(10)).until(() -> secure.healthChecks.get() >= 3);
        assertThat(proxy.pool().snapshot().healthyCount()).isEqualTo(1);
        assertThat(proxy.pool().snapshot().panic()).isFalse();
    }

    @Test
    void connectionsOpenedUnderReplacedSettingsAreNotReused() throws Exception {
        TestBackend secure = closeables.add(TestBackend.startTls(
                "secure", TestTls.certificate("dns:elsewhere.example").serverContext()));
        Path pool = dir.resolve("pool.json");
        Files.writeString(pool, document(secure.url(), new PoolDocument.BackendTls(null, null, true)));
        RoundhouseProxy proxy = closeables.add(
                ProxyFixture.start(ProxyFixture.env("POOL_FILE", pool.toString(), "POOL_FILE_POLL_INTERVAL", "100ms")));
        // Client connections spread over the I/O threads, and each thread keeps its own backend connections:
        // a few clients leave an idle one on every thread.
        int clients = 4 * Runtime.getRuntime().availableProcessors(); // the proxy runs one I/O thread per core
        for (int i = 0; i < clients; i++) {
            RawHttp.Response before = RawHttp.exchange(proxy.port(), "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
            assertThat(before.status()).as("%s", before).isEqualTo(200);
        }

        // Verification turned back on: keep-alive connections made without it must not carry another request.
        Files.writeString(pool, document(secure.url(), PoolDocument.BackendTls.DEFAULTS));
        Scrape.awaitValue(proxy, "roundhouse_config_reloads_total{result=\"applied\"}", 2.0);

        for (int i = 0; i < clients; i++) {
            RawHttp.Response after = RawHttp.exchange(proxy.port(), "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
            assertThat(after.status()).as("%s", after).isEqualTo(502);
        }
        assertThat(secure.hits.get()).isEqualTo(clients);
    }

    private static String document(String backend, PoolDocument.BackendTls tls) {
        return PoolDocumentCodec.write(new PoolDocument(
                        PoolDocument.VERSION_1,
                        List.of(new PoolDocument.BackendEntry(backend, 1)),
                        new PoolDocument.HealthCheck("/health", Duration.ofSeconds(30), Duration.ofSeconds(2), 2, 3),
                        null,
                        null,
                        tls)
                .atLowestVersion());
    }

    private static String sha256(String text) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(text.getBytes()));
    }
}
