package dev.roundhouse.proxy.http;

import dev.roundhouse.proxy.RoundhouseProxy;
import dev.roundhouse.proxy.testing.Closeables;
import dev.roundhouse.proxy.testing.ProxyFixture;
import dev.roundhouse.proxy.testing.RawHttp;
import dev.roundhouse.proxy.testing.Scrape;
import dev.roundhouse.proxy.testing.TestBackend;
import dev.roundhouse.proxy.testing.TestTls;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.security.MessageDigest;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Backends reached over TLS take the same engine as plain ones, the transport chosen per connection by the
 * backend's own scheme: requests with and without bodies, a pool that mixes both, and a backend whose certificate
 * the proxy does not trust.
 */
class HttpsBackendTest {

    @RegisterExtension
    final Closeables closeables = new Closeables();

    @Test
    void requestsWithAndWithoutBodiesReachAnHttpsBackend() throws Exception {
        TestBackend secure = closeables.add(TestBackend.startTls("secure", TestTls.server()));
        RoundhouseProxy proxy = closeables.add(ProxyFixture.start(ProxyFixture.env("BACKENDS", secure.url(),
                "HEALTH_CHECK_PATH", "/health"), TestTls.client()));
        String body = "b".repeat(100_000);

        try (RawHttp client = RawHttp.connect(proxy.port())) {
            RawHttp.Response get = client.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n").readResponse();
            assertThat(get.status()).as("%s", get).isEqualTo(200);
            assertThat(get.bodyText()).isEqualTo("secure");

            RawHttp.Response fixed = client.send("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: " + body.length()
                    + "\r\n\r\n" + body).readResponse();
            assertThat(fixed.bodyText()).isEqualTo(body.length() + " " + sha256(body));
        }
        RawHttp.Response chunked = RawHttp.exchange(proxy.port(), "POST /upload HTTP/1.1\r\nHost: x\r\n"
                + "Transfer-Encoding: chunked\r\n\r\n" + Integer.toHexString(body.length()) + "\r\n" + body + "\r\n0\r\n\r\n");
        assertThat(chunked.bodyText()).isEqualTo(body.length() + " " + sha256(body));
        assertThat(secure.seen).hasSize(3);
    }

    @Test
    void aPoolMixingHttpAndHttpsBackendsReachesEach() {
        TestBackend secure = closeables.add(TestBackend.startTls("secure", TestTls.server()));
        TestBackend plain = closeables.add(TestBackend.start("plain"));
        RoundhouseProxy proxy = closeables.add(ProxyFixture.start(ProxyFixture.env("BACKENDS",
                secure.url() + "," + plain.url(), "HEALTH_CHECK_PATH", "/health"), TestTls.client()));

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
        TestBackend secure = closeables.add(TestBackend.startTls("secure", TestTls.server()));
        // The JVM's default trust store does not know the test certificate.
        RoundhouseProxy proxy = closeables.add(ProxyFixture.start(ProxyFixture.env("BACKENDS", secure.url(),
                "HEALTH_CHECK_PATH", "/health")));

        RawHttp.Response response = RawHttp.exchange(proxy.port(), "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");

        assertThat(response.status()).as("%s", response).isEqualTo(502);
        assertThat(secure.hits.get()).as("no request reached it").isZero();
        assertThat(Scrape.errors(proxy, "upstream_reset", secure.url())).isEqualTo(1.0);
    }

    private static String sha256(String text) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(text.getBytes()));
    }
}
