package dev.roundhouse.proxy.tls;

import static dev.roundhouse.testing.Http.get;
import static dev.roundhouse.testing.Http.trusting;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.roundhouse.poolformat.tls.ServerCertificate;
import dev.roundhouse.proxy.RoundhouseProxy;
import dev.roundhouse.proxy.testing.Closeables;
import dev.roundhouse.proxy.testing.ProxyFixture;
import dev.roundhouse.proxy.testing.Scrape;
import dev.roundhouse.testing.RawHttp;
import dev.roundhouse.testing.ResponseReader;
import dev.roundhouse.testing.ServerPem;
import dev.roundhouse.testing.TestBackend;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * HTTPS for clients, end to end on loopback: the real proxy with certificates from PEM files, real TLS clients (the
 * JDK's), a real backend behind it; with each TLS engine ({@code TLS_ENGINE}).
 */
@ParameterizedClass(name = "TLS_ENGINE={0}")
@ValueSource(strings = {"jdk", "openssl"})
class HttpsTest {

    @Parameter
    String engine;

    @RegisterExtension
    final Closeables closeables = new Closeables();

    @TempDir
    Path dir;

    private RoundhouseProxy proxy(TestBackend backend, String... env) {
        Map<String, String> environment = ProxyFixture.env(env);
        environment.put("BACKENDS", backend.url());
        environment.put("TLS_PORT", "0");
        environment.put("TLS_ENGINE", engine);
        environment.put("HEALTH_CHECK_PATH", "/health"); // counted apart from the requests the tests send
        return closeables.add(ProxyFixture.start(environment));
    }

    /** The proxy in front of {@code backend}, serving {@code pem} over HTTPS. */
    private RoundhouseProxy serving(TestBackend backend, ServerPem pem, String... env) {
        List<String> all = new java.util.ArrayList<>(List.of(env));
        all.addAll(List.of(
                "TLS_CERT_FILE",
                pem.cert().toString(),
                "TLS_KEY_FILE",
                pem.key().toString()));
        return proxy(backend, all.toArray(String[]::new));
    }

    /** Records the chain the server presented; trusts anything (these tests look at which certificate came). */
    private static final class Recording implements X509TrustManager {
        volatile X509Certificate[] chain;

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) {}

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) {
            this.chain = chain;
        }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return new X509Certificate[0];
        }
    }

    /** A TLS connection to the proxy's HTTPS port, asking for {@code serverName} (null: no SNI) with {@code protocol}. */
    private static SSLSocket connect(RoundhouseProxy proxy, String serverName, String protocol, Recording recording)
            throws Exception {
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(null, new TrustManager[] {recording}, null);
        SSLSocket socket = (SSLSocket) context.getSocketFactory().createSocket();
        socket.connect(new InetSocketAddress("127.0.0.1", proxy.httpsPort()), 5000);
        socket.setSoTimeout(5000);
        SSLParameters parameters = socket.getSSLParameters();
        parameters.setServerNames(serverName == null ? List.of() : List.of(new SNIHostName(serverName)));
        parameters.setProtocols(new String[] {protocol});
        socket.setSSLParameters(parameters);
        socket.startHandshake();
        return socket;
    }

    /** Which certificate the proxy presents for {@code serverName}: its first DNS name. */
    private static String presented(RoundhouseProxy proxy, String serverName) throws Exception {
        Recording recording = new Recording();
        try (SSLSocket socket = connect(proxy, serverName, "TLSv1.3", recording)) {
            return (String) recording
                    .chain[0]
                    .getSubjectAlternativeNames()
                    .iterator()
                    .next()
                    .get(1);
        }
    }

    /** One GET on an open TLS connection, the status read with the tests' response reader. */
    private static int getOn(SSLSocket socket, ResponseReader reader) throws IOException {
        OutputStream out = socket.getOutputStream();
        out.write("GET /again HTTP/1.1\r\nHost: localhost\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        out.flush();
        return reader.readResponse(ResponseReader.Fields.NONE);
    }

    /**
     * Behind a Service the client connects to its port (80, 443), not the container's: FORWARDED_PORT and
     * TLS_FORWARDED_PORT, which the operator sets, are what X-Forwarded-Port says on each listener.
     */
    @Test
    void theForwardedPortIsThePortInFrontWhenOneIsSet() throws Exception {
        TestBackend backend = closeables.add(TestBackend.start("backend"));
        ServerPem pem =
                ServerPem.make(dir, "site", ServerPem.Spec.ec("dns:localhost").withCa());
        RoundhouseProxy proxy = serving(backend, pem, "FORWARDED_PORT", "80", "TLS_FORWARDED_PORT", "443");

        assertThat(get(trusting(pem.trustPem()), "https://localhost:" + proxy.httpsPort() + "/s")
                        .statusCode())
                .isEqualTo(200);
        assertThat(backend.lastSeen().header("X-Forwarded-Proto")).isEqualTo("https");
        assertThat(backend.lastSeen().header("X-Forwarded-Port")).isEqualTo("443");

        assertThat(ProxyFixture.get(proxy, "/p").statusCode()).isEqualTo(200);
        assertThat(backend.lastSeen().header("X-Forwarded-Proto")).isEqualTo("http");
        assertThat(backend.lastSeen().header("X-Forwarded-Port")).isEqualTo("80");
    }

    @Test
    void requestsOverHttpsReachTheBackendMarkedHttpsAndThePlainPortStillServes() throws Exception {
        TestBackend backend = closeables.add(TestBackend.start("backend"));
        ServerPem pem =
                ServerPem.make(dir, "site", ServerPem.Spec.ec("dns:localhost").withCa());
        RoundhouseProxy proxy = serving(backend, pem);

        HttpResponse<String> response =
                get(trusting(pem.trustPem()), "https://localhost:" + proxy.httpsPort() + "/over-tls?q=1");

        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.body()).isEqualTo("backend");
        assertThat(backend.lastSeen().header("X-Forwarded-Proto")).isEqualTo("https");
        assertThat(backend.lastSeen().header("X-Forwarded-Port")).isEqualTo(Integer.toString(proxy.httpsPort()));
        assertThat(ProxyFixture.get(proxy, "/plain").body()).isEqualTo("backend");
        assertThat(backend.lastSeen().header("X-Forwarded-Proto")).isEqualTo("http");
        assertThat(Scrape.value(proxy, "roundhouse_tls_certificate_expiry_seconds{certificate=\"localhost\"}"))
                .isEqualTo((double) pem.leaf().getNotAfter().toInstant().getEpochSecond());
    }

    @Test
    void theCertificateIsChosenByTheNameTheClientAsksForWithTheFirstAsDefault() throws Exception {
        TestBackend backend = closeables.add(TestBackend.start("backend"));
        ServerPem first = ServerPem.make(dir, "first", ServerPem.Spec.ec("dns:first.example"));
        ServerPem wildcard = ServerPem.make(dir, "wild", ServerPem.Spec.rsa("dns:*.apps.example"));
        ServerPem exact = ServerPem.make(dir, "exact", ServerPem.Spec.ec("dns:api.apps.example"));
        RoundhouseProxy proxy = proxy(
                backend,
                "TLS_CERT_FILE",
                first.cert() + "," + wildcard.cert() + "," + exact.cert(),
                "TLS_KEY_FILE",
                first.key() + "," + wildcard.key() + "," + exact.key());

        assertThat(presented(proxy, "api.apps.example")).isEqualTo("api.apps.example");
        assertThat(presented(proxy, "shop.apps.example")).isEqualTo("*.apps.example");
        assertThat(presented(proxy, "a.b.apps.example"))
                .as("a wildcard covers one label")
                .isEqualTo("first.example");
        assertThat(presented(proxy, "unknown.example")).isEqualTo("first.example");
        assertThat(presented(proxy, null)).isEqualTo("first.example");
    }

    @Test
    void onlyTls12And13AreSpoken() throws Exception {
        TestBackend backend = closeables.add(TestBackend.start("backend"));
        ServerPem pem = ServerPem.make(dir, "site", ServerPem.Spec.rsa("dns:localhost"));
        RoundhouseProxy proxy = serving(backend, pem);

        for (String protocol : List.of("TLSv1.2", "TLSv1.3")) {
            try (SSLSocket socket = connect(proxy, "localhost", protocol, new Recording())) {
                assertThat(socket.getSession().getProtocol()).isEqualTo(protocol);
                assertThat(TlsTermination.CIPHER_SUITES)
                        .contains(socket.getSession().getCipherSuite());
            }
        }
        // A TLS 1.2 client offering only a suite outside the list (CBC, no AEAD) finds nothing in common.
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(null, new TrustManager[] {new Recording()}, null);
        try (SSLSocket socket = (SSLSocket) context.getSocketFactory().createSocket("127.0.0.1", proxy.httpsPort())) {
            socket.setEnabledProtocols(new String[] {"TLSv1.2"});
            socket.setEnabledCipherSuites(new String[] {"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256"});
            assertThatThrownBy(socket::startHandshake).isInstanceOf(SSLHandshakeException.class);
        }
    }

    /**
     * Kubernetes updates a mounted Secret by writing a new timestamped directory and swapping the {@code ..data}
     * symlink that {@code tls.crt} and {@code tls.key} point through. New handshakes get the new certificate; a
     * connection opened before goes on.
     */
    @Test
    void aRenewedSecretIsServedToNewHandshakesAndOpenConnectionsGoOn() throws Exception {
        TestBackend backend = closeables.add(TestBackend.start("backend"));
        Path secret = dir.resolve("secret");
        Files.createDirectories(secret);
        ServerPem before = ServerPem.make(dir.resolve("v1"), "tls", ServerPem.Spec.ec("dns:before.example"));
        ServerPem after = ServerPem.make(dir.resolve("v2"), "tls", ServerPem.Spec.ec("dns:after.example"));
        Files.createSymbolicLink(secret.resolve("..data"), dir.resolve("v1"));
        Files.createSymbolicLink(secret.resolve("tls.crt"), Path.of("..data/tls.crt"));
        Files.createSymbolicLink(secret.resolve("tls.key"), Path.of("..data/tls.key"));
        RoundhouseProxy proxy = proxy(backend, "TLS_CERT_FILE", secret.toString());
        assertThat(presented(proxy, "before.example")).isEqualTo("before.example");
        SSLSocket open = connect(proxy, "before.example", "TLSv1.3", new Recording());
        ResponseReader reader = new ResponseReader(4096, 64 * 1024);
        reader.reset(open.getInputStream());
        assertThat(getOn(open, reader)).isEqualTo(200);

        Path swap = secret.resolve("..data_tmp");
        Files.createSymbolicLink(swap, dir.resolve("v2"));
        Files.move(swap, secret.resolve("..data"), StandardCopyOption.ATOMIC_MOVE);

        await("the renewed certificate served")
                .atMost(Duration.ofSeconds(5))
                .pollInterval(Duration.ofMillis(50))
                .until(() -> presented(proxy, "after.example").equals("after.example"));
        assertThat(getOn(open, reader))
                .as("the connection opened before the renewal")
                .isEqualTo(200);
        open.close();
        assertThat(Scrape.value(proxy, "roundhouse_tls_reloads_total{result=\"applied\"}"))
                .isEqualTo(1.0);
        assertThat(ProxyFixture.metrics(proxy))
                .contains("roundhouse_tls_certificate_expiry_seconds{certificate=\"after.example\"}")
                .doesNotContain("certificate=\"before.example\"");
        assertThat(after.leaf()).isNotEqualTo(before.leaf());
    }

    @Test
    void aNewPairThatCannotBeServedKeepsTheOldOneAndIsCountedOnce() throws Exception {
        TestBackend backend = closeables.add(TestBackend.start("backend"));
        ServerPem good = ServerPem.make(dir.resolve("good"), "site", ServerPem.Spec.ec("dns:site.example"));
        ServerPem other = ServerPem.make(dir.resolve("other"), "site", ServerPem.Spec.ec("dns:site.example"));
        Path cert = Files.copy(good.cert(), dir.resolve("site.crt"));
        Path key = Files.copy(good.key(), dir.resolve("site.key"));
        RoundhouseProxy proxy = proxy(backend, "TLS_CERT_FILE", cert.toString(), "TLS_KEY_FILE", key.toString());

        Files.copy(other.key(), key, StandardCopyOption.REPLACE_EXISTING); // a key of another certificate

        await("the bad pair counted")
                .atMost(Duration.ofSeconds(5))
                .pollInterval(Duration.ofMillis(50))
                .until(() -> Scrape.value(proxy, "roundhouse_tls_reloads_total{result=\"invalid\"}") == 1.0);
        Recording recording = new Recording();
        try (SSLSocket socket = connect(proxy, "site.example", "TLSv1.3", recording)) {
            assertThat(recording.chain[0]).as("still the last good certificate").isEqualTo(good.leaf());
        }
        // Looked at again and again meanwhile: counted once, not once per look.
        await().during(Duration.ofMillis(TlsTermination.POLL_MILLIS * 4))
                .atMost(Duration.ofSeconds(5))
                .until(() -> Scrape.value(proxy, "roundhouse_tls_reloads_total{result=\"invalid\"}") == 1.0);

        Files.copy(other.cert(), cert, StandardCopyOption.REPLACE_EXISTING); // now the pair matches again
        await("the repaired pair applied")
                .atMost(Duration.ofSeconds(5))
                .pollInterval(Duration.ofMillis(50))
                .until(() -> Scrape.value(proxy, "roundhouse_tls_reloads_total{result=\"applied\"}") == 1.0);
    }

    @Test
    void withRedirectThePlainPortSendsEveryRequestToHttps() throws Exception {
        TestBackend backend = closeables.add(TestBackend.start("backend"));
        ServerPem pem = ServerPem.make(dir, "site", ServerPem.Spec.ec("dns:localhost"));
        RoundhouseProxy proxy = serving(backend, pem, "TLS_REDIRECT", "true");

        RawHttp.Response plain =
                RawHttp.exchange(proxy.port(), "GET /a/b?x=1&y=%20 HTTP/1.1\r\nHost: shop.example:8080\r\n\r\n");
        assertThat(plain.status()).isEqualTo(308);
        assertThat(plain.header("location")).isEqualTo("https://shop.example:" + proxy.httpsPort() + "/a/b?x=1&y=%20");
        RawHttp.Response noHost = RawHttp.exchange(proxy.port(), "GET / HTTP/1.0\r\n\r\n");
        assertThat(noHost.status()).isEqualTo(400);
        assertThat(backend.hits.get())
                .as("nothing forwarded from the plain port")
                .isZero();
        Scrape.awaitRequests(proxy, "none", "GET", 308, 1.0); // answered by the proxy itself, counted as such

        HttpResponse<String> secure = get(trusting(pem.trustPem()), "https://localhost:" + proxy.httpsPort() + "/a");
        assertThat(secure.statusCode()).isEqualTo(200);
        assertThat(backend.hits.get()).isEqualTo(1);
    }

    @Test
    void aRedirectToTheServicesPortLeaves443OutOfTheUrl() throws Exception {
        TestBackend backend = closeables.add(TestBackend.start("backend"));
        ServerPem pem = ServerPem.make(dir, "site", ServerPem.Spec.ec("dns:localhost"));
        RoundhouseProxy proxy = serving(backend, pem, "TLS_REDIRECT", "true", "TLS_REDIRECT_PORT", "443");

        RawHttp.Response plain = RawHttp.exchange(proxy.port(), "GET /p HTTP/1.1\r\nHost: [::1]:80\r\n\r\n");
        assertThat(plain.header("location")).isEqualTo("https://[::1]/p");
    }

    @Test
    void aClientCaMakesClientCertificatesRequired() throws Exception {
        TestBackend backend = closeables.add(TestBackend.start("backend"));
        ServerPem pem = ServerPem.make(dir, "site", ServerPem.Spec.ec("dns:localhost"));
        ServerPem client = ServerPem.make(dir, "client", ServerPem.Spec.ec("dns:client.example"));
        Path clientCa = Files.writeString(dir.resolve("client-ca.pem"), client.trustPem());
        RoundhouseProxy proxy = serving(backend, pem, "TLS_CLIENT_CA_FILE", clientCa.toString());

        HttpClient anonymous = trusting(pem.trustPem());
        assertThatThrownBy(() -> get(anonymous, "https://localhost:" + proxy.httpsPort() + "/"))
                .isInstanceOf(UncheckedIOException.class)
                .hasCauseInstanceOf(IOException.class);

        ServerCertificate identity = ServerCertificate.read(client.cert(), client.key(), java.time.Instant.now());
        KeyStore keys = KeyStore.getInstance("PKCS12");
        keys.load(null, null);
        keys.setKeyEntry("client", identity.key(), "x".toCharArray(), identity.chain());
        javax.net.ssl.KeyManagerFactory keyManagers =
                javax.net.ssl.KeyManagerFactory.getInstance(javax.net.ssl.KeyManagerFactory.getDefaultAlgorithm());
        keyManagers.init(keys, "x".toCharArray());
        KeyStore anchors = KeyStore.getInstance(KeyStore.getDefaultType());
        anchors.load(null, null);
        anchors.setCertificateEntry("server", pem.leaf());
        TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        trust.init(anchors);
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(keyManagers.getKeyManagers(), trust.getTrustManagers(), null);
        HttpClient withCertificate = HttpClient.newBuilder()
                .sslContext(context)
                .version(HttpClient.Version.HTTP_1_1)
                .build();
        assertThat(get(withCertificate, "https://localhost:" + proxy.httpsPort() + "/")
                        .statusCode())
                .isEqualTo(200);
    }

    /**
     * Hostile or confused clients on the HTTPS port: plain HTTP, garbage, and a connection that never starts its
     * handshake. Each is closed (the silent one by the keep-alive timeout, as on the plain port), and the port serves
     * the next client.
     */
    @Test
    void plainHttpGarbageAndSilenceOnTheHttpsPortAreClosedAndTheNextClientIsServed() throws Exception {
        TestBackend backend = closeables.add(TestBackend.start("backend"));
        ServerPem pem = ServerPem.make(dir, "site", ServerPem.Spec.ec("dns:localhost"));
        RoundhouseProxy proxy = serving(backend, pem, "KEEP_ALIVE_TIMEOUT", "1s");

        byte[] garbage = new byte[4096];
        new java.util.Random(7).nextBytes(garbage);
        garbage[0] = 0x16; // a TLS handshake record's type, then nonsense
        for (byte[] sent : List.of("GET / HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII), garbage)) {
            try (RawHttp connection = RawHttp.connect(proxy.httpsPort())) {
                connection.send(sent);
                java.io.ByteArrayOutputStream answer = new java.io.ByteArrayOutputStream();
                assertThat(connection.closedByPeer(answer))
                        .as("the proxy closed the connection")
                        .isTrue();
                assertThat(answer.toString(StandardCharsets.ISO_8859_1))
                        .as("at most a TLS alert, never an HTTP answer in clear text")
                        .doesNotContain("HTTP/1.1");
            }
        }

        try (RawHttp silent = RawHttp.connect(proxy.httpsPort()).readTimeout(Duration.ofSeconds(10))) {
            // A read timeout (10 s) would make this false: the proxy's keep-alive timeout (1 s) closed it first.
            assertThat(silent.closedByPeer(null))
                    .as("closed by the proxy, not left open")
                    .isTrue();
        }

        assertThat(get(trusting(pem.trustPem()), "https://localhost:" + proxy.httpsPort() + "/")
                        .statusCode())
                .isEqualTo(200);
        assertThat(backend.hits.get()).isEqualTo(1);
    }

    @Test
    void withoutTlsThereIsNoHttpsPortAndNoTlsMeters() {
        TestBackend backend = closeables.add(TestBackend.start("backend"));
        RoundhouseProxy proxy = closeables.add(ProxyFixture.start(ProxyFixture.env("BACKENDS", backend.url())));
        assertThat(proxy.httpsPort()).isZero();
        assertThat(ProxyFixture.metrics(proxy)).doesNotContain("roundhouse_tls_");
    }

    @Test
    void aHandshakeOfAClientThatTrustsNothingHereFailsWithoutHarmingTheNext() throws Exception {
        TestBackend backend = closeables.add(TestBackend.start("backend"));
        ServerPem pem = ServerPem.make(dir, "site", ServerPem.Spec.ec("dns:localhost"));
        RoundhouseProxy proxy = serving(backend, pem);
        HttpClient strict = HttpClient.newBuilder().build(); // the JVM's CAs: the test certificate is not one
        assertThatThrownBy(() -> get(strict, "https://localhost:" + proxy.httpsPort() + "/"))
                .isInstanceOf(UncheckedIOException.class)
                .hasCauseInstanceOf(SSLHandshakeException.class);
        assertThat(get(trusting(pem.trustPem()), "https://localhost:" + proxy.httpsPort() + "/")
                        .statusCode())
                .isEqualTo(200);
    }
}
