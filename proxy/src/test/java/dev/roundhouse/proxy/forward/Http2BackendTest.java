package dev.roundhouse.proxy.forward;

import static org.assertj.core.api.Assertions.assertThat;

import dev.roundhouse.proxy.RoundhouseProxy;
import dev.roundhouse.proxy.testing.Closeables;
import dev.roundhouse.proxy.testing.Http2Frames;
import dev.roundhouse.proxy.testing.ProxyFixture;
import dev.roundhouse.proxy.testing.Scrape;
import dev.roundhouse.proxy.testing.TestTls;
import dev.roundhouse.testing.TestBackend;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * HTTP/2 to backends ({@code ;protocol=h2c} and {@code ;protocol=h2}), with real HTTP/2 servers on loopback: every
 * request reaches the backend as a stream, bodies go whole both ways, requests share a few connections, and a pool may
 * mix HTTP/1.1 and HTTP/2 backends.
 */
class Http2BackendTest {

    @RegisterExtension
    final Closeables closeables = new Closeables();

    @TempDir
    Path dir;

    private final HttpClient client =
            HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    private RoundhouseProxy proxy(String backends, String... env) {
        var environment = ProxyFixture.env(env);
        environment.put("BACKENDS", backends);
        environment.put("HEALTH_CHECK_PATH", "/health");
        return closeables.add(ProxyFixture.start(environment));
    }

    private HttpResponse<String> get(RoundhouseProxy proxy, String path) throws Exception {
        return client.send(
                HttpRequest.newBuilder(URI.create(ProxyFixture.url(proxy, path)))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void anH2cBackendGetsEachRequestAsAStreamAndBodiesGoThroughWhole() throws Exception {
        TestBackend backend = closeables.add(TestBackend.startHttp2("h2c", null));
        RoundhouseProxy proxy = proxy(backend.url() + ";protocol=h2c");

        HttpResponse<String> get = get(proxy, "/over-h2c?q=1");
        assertThat(get.statusCode()).isEqualTo(200);
        assertThat(get.body()).isEqualTo("h2c");
        TestBackend.Seen seen = backend.lastSeen();
        assertThat(seen.protocol()).isEqualTo("HTTP/2.0");
        assertThat(seen.uri()).isEqualTo("/over-h2c");
        assertThat(seen.query()).isEqualTo("q=1");
        assertThat(seen.header("X-Forwarded-Proto")).isEqualTo("http");
        assertThat(seen.header("X-Forwarded-For")).isEqualTo("127.0.0.1");

        byte[] body = new byte[300_000];
        new Random(7).nextBytes(body);
        HttpResponse<String> upload = client.send(
                HttpRequest.newBuilder(URI.create(ProxyFixture.url(proxy, "/upload")))
                        .POST(HttpRequest.BodyPublishers.ofByteArray(body))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(upload.body())
                .isEqualTo(body.length + " "
                        + HexFormat.of()
                                .formatHex(MessageDigest.getInstance("SHA-256").digest(body)));

        HttpResponse<byte[]> download = client.send(
                HttpRequest.newBuilder(URI.create(ProxyFixture.url(proxy, "/download?bytes=1000000")))
                        .build(),
                HttpResponse.BodyHandlers.ofByteArray());
        assertThat(download.body()).hasSize(1_000_000);
        assertThat(download.body()[999_999]).isEqualTo((byte) (999_999 % 16384));
        assertThat(Scrape.requests(proxy, backend.url(), "GET", 200)).isEqualTo(2.0);
    }

    @Test
    void anH2BackendIsReachedOverTlsByAlpn() throws Exception {
        TestTls.Certificate certificate = TestTls.loopback();
        TestBackend backend = closeables.add(TestBackend.startHttp2("h2", certificate.serverContext()));
        RoundhouseProxy proxy = proxy(
                "https://127.0.0.1:" + backend.port() + ";protocol=h2",
                "BACKEND_CA_FILE",
                certificate.pemFile(dir).toString());

        HttpResponse<String> get = get(proxy, "/over-h2");
        assertThat(get.body()).isEqualTo("h2");
        assertThat(backend.lastSeen().protocol()).isEqualTo("HTTP/2.0");
    }

    @Test
    void concurrentRequestsShareAFewConnectionsAsStreams() throws Exception {
        TestBackend backend = closeables.add(TestBackend.startHttp2("shared", null));
        RoundhouseProxy proxy = proxy(backend.url() + ";protocol=h2c");

        List<CompletableFuture<HttpResponse<String>>> calls = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            calls.add(client.sendAsync(
                    HttpRequest.newBuilder(URI.create(ProxyFixture.url(proxy, "/slow?ms=300")))
                            .build(),
                    HttpResponse.BodyHandlers.ofString()));
        }
        for (CompletableFuture<HttpResponse<String>> call : calls) {
            assertThat(call.get().body()).isEqualTo("shared");
        }
        Set<String> connections = new HashSet<>();
        for (TestBackend.Seen seen : backend.seen) {
            if (seen.uri().equals("/slow")) {
                connections.add(seen.peer());
            }
        }
        // 40 requests at once, each held 300 ms: over HTTP/1.1 that is 40 connections. Here: at most a few per
        // I/O thread of the proxy.
        assertThat(connections)
                .hasSizeLessThanOrEqualTo(2 * dev.roundhouse.proxy.upstream.MultiplexedConnections.MAX_CONNECTIONS);
    }

    /**
     * Trailers pass both ways on a stream: the client's after its body (frames sent by hand: no common client sends
     * request trailers), the backend's after its own, which curl prints after the body.
     */
    @Test
    void trailersPassBothWays() throws Exception {
        TestBackend backend = closeables.add(TestBackend.startHttp2("t", null));
        RoundhouseProxy proxy = proxy(backend.url() + ";protocol=h2c");

        try (Http2Frames h2 = Http2Frames.connect(proxy.port())) {
            h2.send(
                    Http2Frames.HEADERS,
                    Http2Frames.END_HEADERS,
                    1,
                    Http2Frames.requestBlock("POST", "/trailers", "te", "trailers"));
            h2.send(Http2Frames.DATA, 0, 1, "0123456789".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            java.io.ByteArrayOutputStream trailer = new java.io.ByteArrayOutputStream();
            Http2Frames.literal(trailer, "x-checksum", "c0ffee");
            h2.send(Http2Frames.HEADERS, Http2Frames.END_HEADERS | Http2Frames.END_STREAM, 1, trailer.toByteArray());

            Http2Frames.Frame data = h2.await(Http2Frames.DATA, 1, java.time.Duration.ofSeconds(10));
            assertThat(data).isNotNull();
            assertThat(new String(data.payload(), java.nio.charset.StandardCharsets.US_ASCII))
                    .as("the backend got the body whole and the client's trailer after it")
                    .isEqualTo("t c0ffee 10");
        }

        org.junit.jupiter.api.Assumptions.assumeTrue(CurlGrpc.available(), "curl with HTTP/2 support is not installed");
        Process curl = new ProcessBuilder(
                        "curl",
                        "-sS",
                        "-i",
                        "-m",
                        "20",
                        "--http2-prior-knowledge",
                        "--data-binary",
                        "abc",
                        ProxyFixture.url(proxy, "/trailers?status=3"))
                .redirectErrorStream(true)
                .start();
        String out = new String(curl.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        curl.waitFor(30, java.util.concurrent.TimeUnit.SECONDS);
        assertThat(out)
                .contains("HTTP/2 200", "t none 3")
                .containsPattern("(?s)t none 3.*x-body-bytes: 3")
                .containsPattern("(?s)t none 3.*grpc-status: 3");
    }

    /**
     * An HTTP/2 client's body of no stated length (DATA frames until END_STREAM, as gRPC sends) reaches an HTTP/1.1
     * backend whole, chunked; it used to be taken for no body at all.
     */
    @Test
    void anHttp2BodyWithoutALengthReachesAnHttp11BackendChunked(@TempDir Path files) throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(CurlGrpc.available(), "curl with HTTP/2 support is not installed");
        TestBackend backend = closeables.add(TestBackend.start("plain"));
        RoundhouseProxy proxy = proxy(backend.url());
        byte[] body = new byte[100_000];
        new Random(3).nextBytes(body);
        Path file = java.nio.file.Files.write(files.resolve("body.bin"), body);

        // curl -T - reads stdin, so it states no length: over HTTP/2 the body is just DATA frames.
        Process curl = new ProcessBuilder(
                        "curl",
                        "-sS",
                        "-m",
                        "20",
                        "--http2-prior-knowledge",
                        "-X",
                        "POST",
                        "-T",
                        "-",
                        ProxyFixture.url(proxy, "/upload"))
                .redirectInput(file.toFile())
                .redirectErrorStream(true)
                .start();
        String answer = new String(curl.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        curl.waitFor(30, java.util.concurrent.TimeUnit.SECONDS);

        assertThat(answer)
                .isEqualTo(body.length + " "
                        + HexFormat.of()
                                .formatHex(MessageDigest.getInstance("SHA-256").digest(body)));
        assertThat(backend.lastSeen().header("Transfer-Encoding")).isEqualTo("chunked");
        assertThat(backend.lastSeen().header("Content-Length")).isNull();
    }

    @Test
    void aPoolMayMixHttp11AndHttp2Backends() throws Exception {
        TestBackend plain = closeables.add(TestBackend.start("plain"));
        TestBackend h2c = closeables.add(TestBackend.startHttp2("h2c", null));
        RoundhouseProxy proxy = proxy(plain.url() + "," + h2c.url() + ";protocol=h2c");

        Set<String> answers = new HashSet<>();
        for (int i = 0; i < 4; i++) {
            answers.add(get(proxy, "/mixed").body());
        }
        assertThat(answers).containsExactlyInAnyOrder("plain", "h2c");
        assertThat(plain.lastSeen().protocol()).isEqualTo("HTTP/1.1");
        assertThat(h2c.lastSeen().protocol()).isEqualTo("HTTP/2.0");
    }
}
