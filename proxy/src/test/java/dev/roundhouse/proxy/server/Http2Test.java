package dev.roundhouse.proxy.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.roundhouse.proxy.RoundhouseProxy;
import dev.roundhouse.proxy.testing.Closeables;
import dev.roundhouse.proxy.testing.Http2Frames;
import dev.roundhouse.proxy.testing.ProxyFixture;
import dev.roundhouse.proxy.testing.Scrape;
import dev.roundhouse.testing.ServerPem;
import dev.roundhouse.testing.TestBackend;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * HTTP/2 from clients, with real clients on loopback: over TLS when ALPN picks h2 (with each TLS engine), and in clear
 * text with prior knowledge and with {@code Upgrade: h2c}. Every stream is a request of its own to the backends,
 * which speak HTTP/1.1: balanced, counted and answered as any other.
 */
class Http2Test {

    @RegisterExtension
    final Closeables closeables = new Closeables();

    @TempDir
    Path dir;

    private RoundhouseProxy proxy(List<TestBackend> backends, String... env) {
        Map<String, String> environment = ProxyFixture.env(env);
        environment.put(
                "BACKENDS",
                String.join(",", backends.stream().map(TestBackend::url).toList()));
        environment.put("HEALTH_CHECK_PATH", "/health"); // counted apart from the requests the tests send
        return closeables.add(ProxyFixture.start(environment));
    }

    /** The proxy in front of {@code backends}, serving {@code pem} over HTTPS on a port of its own. */
    private RoundhouseProxy serving(List<TestBackend> backends, ServerPem pem, String... env) {
        List<String> all = new ArrayList<>(List.of(env));
        all.addAll(List.of(
                "TLS_PORT",
                "0",
                "TLS_CERT_FILE",
                pem.cert().toString(),
                "TLS_KEY_FILE",
                pem.key().toString()));
        return proxy(backends, all.toArray(String[]::new));
    }

    private TestBackend backend(String name) {
        return closeables.add(TestBackend.start(name));
    }

    @ParameterizedTest(name = "TLS_ENGINE={0}")
    @ValueSource(strings = {"jdk", "openssl"})
    void overTlsAlpnChoosesH2AndBodiesGoThroughWhole(String engine) throws Exception {
        TestBackend backend = backend("backend");
        ServerPem pem = ServerPem.make(dir, "site", ServerPem.Spec.ec("dns:localhost"));
        RoundhouseProxy proxy = serving(List.of(backend), pem, "TLS_ENGINE", engine);
        HttpClient client = dev.roundhouse.testing.Http.trusting(pem.trustPem(), HttpClient.Version.HTTP_2);
        String base = "https://localhost:" + proxy.httpsPort();

        HttpResponse<String> get = client.send(
                HttpRequest.newBuilder(URI.create(base + "/over-h2?q=1")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(get.version()).isEqualTo(HttpClient.Version.HTTP_2);
        assertThat(get.statusCode()).isEqualTo(200);
        assertThat(get.body()).isEqualTo("backend");
        TestBackend.Seen seen = backend.seen.peek();
        assertThat(seen.uri()).isEqualTo("/over-h2");
        assertThat(seen.query()).isEqualTo("q=1");
        assertThat(seen.header("Host")).isEqualTo("localhost:" + proxy.httpsPort());
        assertThat(seen.header("X-Forwarded-Proto")).isEqualTo("https");

        byte[] body = new byte[300_000];
        new Random(7).nextBytes(body);
        HttpResponse<String> upload = client.send(
                HttpRequest.newBuilder(URI.create(base + "/upload"))
                        .POST(HttpRequest.BodyPublishers.ofByteArray(body))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(upload.version()).isEqualTo(HttpClient.Version.HTTP_2);
        assertThat(upload.body())
                .isEqualTo(body.length + " "
                        + HexFormat.of()
                                .formatHex(MessageDigest.getInstance("SHA-256").digest(body)));

        HttpResponse<byte[]> download = client.send(
                HttpRequest.newBuilder(URI.create(base + "/download?bytes=1000000"))
                        .build(),
                HttpResponse.BodyHandlers.ofByteArray());
        assertThat(download.body()).hasSize(1_000_000);
        assertThat(download.body()[999_999]).isEqualTo((byte) (999_999 % 16384));
    }

    /**
     * One connection, many streams at once: each is picked, counted and answered on its own, so round-robin spreads
     * them over the backends as it spreads separate requests (a Kubernetes Service would pin the connection).
     */
    @Test
    void everyStreamOfOneConnectionIsBalancedAsItsOwnRequest() throws Exception {
        List<TestBackend> backends = List.of(backend("a"), backend("b"), backend("c"));
        // 29 streams at once open as many backend connections at once: with connect crowding on, a request whose
        // backend has three connects under way goes to another, which would blur the exact shares asserted here.
        RoundhouseProxy proxy = proxy(backends, "CB_CONSECUTIVE_CONNECT_FAILURES", "0");
        HttpClient client = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_2)
                .connectTimeout(Duration.ofSeconds(5))
                .build();
        URI uri = URI.create("http://127.0.0.1:" + proxy.port() + "/stream");
        // The first request upgrades the connection (Upgrade: h2c); the rest are streams on it.
        HttpResponse<String> first =
                client.send(HttpRequest.newBuilder(uri).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(first.version()).isEqualTo(HttpClient.Version.HTTP_2);

        List<CompletableFuture<HttpResponse<String>>> calls = new ArrayList<>();
        for (int i = 0; i < 29; i++) {
            calls.add(client.sendAsync(HttpRequest.newBuilder(uri).build(), HttpResponse.BodyHandlers.ofString()));
        }
        for (CompletableFuture<HttpResponse<String>> call : calls) {
            HttpResponse<String> response = call.get();
            assertThat(response.statusCode()).isEqualTo(200);
            assertThat(response.version()).isEqualTo(HttpClient.Version.HTTP_2);
        }
        assertThat(backends).extracting(TestBackend::requests).containsExactly(10, 10, 10);
        double counted = 0;
        for (TestBackend backend : backends) {
            counted += Scrape.requests(proxy, backend.url(), "GET", 200);
        }
        assertThat(counted).isEqualTo(30);
    }

    @Test
    void cleartextWithPriorKnowledgeServesStreams() throws Exception {
        TestBackend backend = backend("backend");
        RoundhouseProxy proxy = proxy(List.of(backend));
        try (Http2Frames h2 = Http2Frames.connect(proxy.port())) {
            h2.request(1, true, "/first");
            h2.request(3, true, "/second");
            Http2Frames.Frame one = h2.await(Http2Frames.DATA, 1, Duration.ofSeconds(10));
            Http2Frames.Frame three = h2.await(Http2Frames.DATA, 3, Duration.ofSeconds(10));
            assertThat(one).as("the answer on stream 1").isNotNull();
            assertThat(three).as("the answer on stream 3").isNotNull();
            assertThat(new String(one.payload(), StandardCharsets.US_ASCII)).isEqualTo("backend");
        }
        assertThat(backend.seen).extracting(TestBackend.Seen::uri).containsExactlyInAnyOrder("/first", "/second");
        assertThat(backend.seen.peek().header("Host")).isEqualTo("localhost");
    }

    /** A failed connect is retried per stream, on the next backend, as for any request. */
    @Test
    void aBackendDownIsRetriedOnTheNextForEveryStream() throws Exception {
        TestBackend up = backend("up");
        TestBackend down = backend("down");
        down.close();
        RoundhouseProxy proxy = proxy(List.of(down, up));
        try (Http2Frames h2 = Http2Frames.connect(proxy.port())) {
            for (int stream = 1; stream <= 7; stream += 2) {
                h2.request(stream, true, "/retried");
            }
            for (int stream = 1; stream <= 7; stream += 2) {
                Http2Frames.Frame data = h2.await(Http2Frames.DATA, stream, Duration.ofSeconds(10));
                assertThat(data).as("stream %d answered", stream).isNotNull();
                assertThat(new String(data.payload(), StandardCharsets.US_ASCII))
                        .isEqualTo("up");
            }
        }
        assertThat(up.requests()).isEqualTo(4);
    }

    /**
     * A header block in a HEADERS frame and a CONTINUATION frame that come apart (separate reads) is served whole:
     * Undertow alone would serve the request from the HEADERS frame, without the fields still to come.
     */
    @Test
    void aHeaderBlockInPiecesIsServedWhole() throws Exception {
        TestBackend backend = backend("backend");
        RoundhouseProxy proxy = proxy(List.of(backend));
        try (Http2Frames h2 = Http2Frames.connect(proxy.port())) {
            h2.send(Http2Frames.HEADERS, Http2Frames.END_STREAM, 1, Http2Frames.requestBlock("GET", "/split"));
            // The proxy has the HEADERS frame and nothing after it: polled, it sends nothing and asks nothing.
            assertThat(h2.await(Http2Frames.HEADERS, 1, Duration.ofMillis(300))).isNull();
            java.io.ByteArrayOutputStream rest = new java.io.ByteArrayOutputStream();
            Http2Frames.literal(rest, "x-second", "yes");
            h2.send(Http2Frames.CONTINUATION, Http2Frames.END_HEADERS, 1, rest.toByteArray());
            Http2Frames.Frame data = h2.await(Http2Frames.DATA, 1, Duration.ofSeconds(10));
            assertThat(data).as("the answer").isNotNull();
        }
        assertThat(backend.seen).hasSize(1);
        assertThat(backend.seen.peek().header("x-second")).isEqualTo("yes");
    }

    /**
     * A client that resets its stream while the backend (HTTP/1.1) works on it: the backend's connection is reset at
     * once (it stops), the request is counted as 499, and nothing is charged to the backend.
     */
    @Test
    void aStreamTheClientResetsIsCancelledAtTheBackend() throws Exception {
        TestBackend backend = backend("backend");
        RoundhouseProxy proxy = proxy(List.of(backend));
        try (Http2Frames h2 = Http2Frames.connect(proxy.port())) {
            h2.request(1, true, "/slow?ms=8000");
            org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> backend.requests() == 1);

            h2.send(Http2Frames.RST_STREAM, 0, 1, Http2Frames.errorPayload(Http2Frames.CANCEL));

            Scrape.awaitRequests(proxy, backend.url(), "GET", 499, 1.0); // before the backend answers, 8 s on
            assertThat(Scrape.errors(proxy, "upstream_reset", backend.url())).isZero();
            assertThat(Scrape.errors(proxy, "timeout", backend.url())).isZero();
        }
    }

    /**
     * A drain tells an HTTP/2 client with GOAWAY (a Connection: close header has no meaning there) and lets the
     * stream in flight finish.
     */
    @Test
    void aDrainSendsGoawayAndLetsTheStreamInFlightFinish() throws Exception {
        TestBackend backend = backend("backend");
        RoundhouseProxy proxy = proxy(List.of(backend));
        try (Http2Frames h2 = Http2Frames.connect(proxy.port())) {
            h2.request(1, true, "/slow?ms=1500");
            org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> backend.requests() == 1);
            Thread shutdown = new Thread(proxy::shutdown, "shutdown");
            shutdown.start();
            Http2Frames.Frame data = h2.await(Http2Frames.DATA, 1, Duration.ofSeconds(10));
            assertThat(data).as("the stream in flight answered").isNotNull();
            assertThat(new String(data.payload(), StandardCharsets.US_ASCII)).isEqualTo("backend");
            Http2Frames.Frame goAway = h2.await(Http2Frames.GOAWAY, 0, Duration.ofSeconds(10));
            assertThat(goAway).as("GOAWAY").isNotNull();
            assertThat(goAway.errorCode()).as("NO_ERROR").isZero();
            shutdown.join(20_000);
        }
    }

    /**
     * curl (through nghttp2, which refuses a response carrying a connection-specific field such as Connection or
     * Transfer-Encoding) gets HTTP/2 all three ways, for a response the backend streams in pieces.
     */
    @Test
    void curlGetsHttp2AllThreeWays() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(curlSpeaksHttp2(), "curl with HTTP/2 support is not installed");
        TestBackend backend = backend("backend");
        ServerPem pem = ServerPem.make(dir, "site", ServerPem.Spec.ec("dns:localhost"));
        RoundhouseProxy proxy = serving(List.of(backend), pem);
        String plain = "http://localhost:" + proxy.port() + "/trickle?bytes=50000&chunk=5000&ms=1";
        String secure = "https://localhost:" + proxy.httpsPort() + "/trickle?bytes=50000&chunk=5000&ms=1";
        assertThat(curl("--http2-prior-knowledge", plain)).isEqualTo("2 200 50000");
        assertThat(curl("--http2", plain)).isEqualTo("2 200 50000");
        assertThat(curl("--http2", "--cacert", pem.cert().toString(), secure)).isEqualTo("2 200 50000");
    }

    private static boolean curlSpeaksHttp2() {
        try {
            Process version = new ProcessBuilder("curl", "--version")
                    .redirectErrorStream(true)
                    .start();
            String out = new String(version.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            return version.waitFor() == 0 && out.contains("HTTP2");
        } catch (java.io.IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** The HTTP version, status and body size curl reports, or its error. */
    private static String curl(String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of(
                "curl",
                "-sS",
                "--max-time",
                "20",
                "-o",
                "/dev/null",
                "-w",
                "%{http_version} %{http_code} %{size_download}"));
        command.addAll(List.of(args));
        Process curl = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(curl.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        curl.waitFor();
        return out;
    }
}
