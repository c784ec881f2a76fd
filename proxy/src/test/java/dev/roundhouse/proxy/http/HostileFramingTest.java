package dev.roundhouse.proxy.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.roundhouse.proxy.RoundhouseProxy;
import dev.roundhouse.proxy.testing.IdleAfterwards;
import dev.roundhouse.proxy.testing.ProxyFixture;
import dev.roundhouse.proxy.testing.Transport;
import dev.roundhouse.testing.Http;
import dev.roundhouse.testing.RawHttp;
import dev.roundhouse.testing.RawHttp.RecordingBackend;
import java.io.ByteArrayOutputStream;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Body framing tricks against a backend that parses strictly and records every byte it gets: chunk
 * sizes with whitespace, extensions, bare LFs, overflowing or signed sizes, data longer than
 * declared, a missing last CRLF, Transfer-Encoding repeated or folded, Content-Length with leading
 * zeros, bodies that break off. Each request is either refused (a 4xx, or the connection closed) and
 * then reaches the backend never as a complete request, or is accepted and reaches it once, with the
 * body stated per case, in canonical framing. Never a second, smuggled request; never a kept-alive
 * connection after a chunked body; and the proxy keeps serving.
 */
@ParameterizedClass(name = "over {0}")
@EnumSource(Transport.class)
class HostileFramingTest {

    @Parameter
    Transport transport;

    private static final String SMUGGLED = "GET /smuggled HTTP/1.1\r\nHost: localhost\r\n\r\n";
    private static final String CHUNKED_HEAD =
            "POST /upload HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n";

    private RecordingBackend backend;
    private RoundhouseProxy proxy;

    @RegisterExtension
    static final IdleAfterwards idle = new IdleAfterwards();

    @BeforeEach
    void start() {
        backend = transport.recording();
        proxy = ProxyFixture.start(
                transport.trusting(ProxyFixture.env("BACKENDS", backend.url(), "HEALTH_CHECK_PATH", "/health")));
    }

    @AfterEach
    void stop(TestInfo test) {
        try {
            if (proxy != null) {
                idle.handOver(proxy, test.getDisplayName());
            }
        } finally {
            if (backend != null) {
                backend.close();
            }
        }
    }

    /**
     * Chunked bodies, each followed by a second request on the same bytes. {@code accepted} is the body
     * the backend must get if the proxy accepts the request (a lenient but unambiguous reading); null
     * when the request must be refused.
     */
    static Stream<Arguments> chunkTricks() {
        return Stream.of(
                Arguments.of("chunk size with leading space", " 5\r\nhello\r\n0\r\n\r\n", "hello"),
                Arguments.of("chunk size with trailing space", "5 \r\nhello\r\n0\r\n\r\n", "hello"),
                Arguments.of("chunk size with trailing tab", "5\t\r\nhello\r\n0\r\n\r\n", "hello"),
                Arguments.of("chunk extension", "5;name=value\r\nhello\r\n0\r\n\r\n", "hello"),
                Arguments.of("chunk extension with spaces", "5 ; name=\"v a\"\r\nhello\r\n0\r\n\r\n", "hello"),
                Arguments.of("chunk extension with a bare CR", "5;a\rb\r\nhello\r\n0\r\n\r\n", "hello"),
                // Undertow's chunk reader is lenient: a bare LF ends the size line, and after chunk data it skips to
                // the
                // next LF. What it reads is what the backend gets, framed anew; the connection is closed after the
                // body,
                // so the bytes it skipped or left over can never be read as a request.
                Arguments.of("chunk extension with a bare LF", "5;a\nb\r\nhello\r\n0\r\n\r\n", "b\r\nhe"),
                Arguments.of("chunk size ended by a bare LF", "5\nhello\r\n0\r\n\r\n", "hello"),
                Arguments.of("chunk data ended by a bare LF", "5\r\nhello\n0\r\n\r\n", "hello"),
                Arguments.of("chunk size with leading zeros", "0005\r\nhello\r\n0\r\n\r\n", "hello"),
                Arguments.of("upper-case hex chunk size", "A\r\nhellohello\r\n0\r\n\r\n", "hellohello"),
                Arguments.of(
                        "chunk size overflowing 64 bits", "ffffffffffffffffff\r\n" + SMUGGLED + "\r\n0\r\n\r\n", null),
                Arguments.of("17 hex digits, 5 modulo 2^64", "10000000000000005\r\nhello\r\n0\r\n\r\n", null),
                Arguments.of("chunk size with 0x", "0x5\r\nhello\r\n0\r\n\r\n", null),
                Arguments.of("negative chunk size", "-5\r\nhello\r\n0\r\n\r\n", null),
                Arguments.of("chunk data longer than declared", "2\r\nhello\r\n0\r\n\r\n", "he"),
                Arguments.of("chunk data without its CRLF", "5\r\nhello0\r\n\r\n", null),
                Arguments.of("no CRLF after the last chunk", "5\r\nhello\r\n0\r\n", null),
                Arguments.of("a trailer field, then the end", "5\r\nhello\r\n0\r\nX-Checksum: 1\r\n\r\n", "hello"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("chunkTricks")
    void chunkTricksAreRefusedOrReadOneUnambiguousWay(String description, String body, String accepted) {
        Outcome outcome = send(CHUNKED_HEAD + body + SMUGGLED);

        if (accepted != null && outcome.response().status() == 200) {
            assertThat(backend.received())
                    .as("the one request, with the body as framed")
                    .singleElement()
                    .satisfies(r -> {
                        assertThat(r.complete()).isTrue();
                        assertThat(r.target()).isEqualTo("/upload");
                        assertThat(r.bodyText()).isEqualTo(accepted);
                    });
        } else {
            assertRefused(outcome);
            assertNoCompleteUpload();
        }
        assertThat(outcome.closed())
                .as("a connection that carried a chunked body is closed after it")
                .isTrue();
        assertThat(outcome.after()).as("no answer to the bytes after the body").isEmpty();
        assertNothingSmuggledAndProxyStillServes();
    }

    static Stream<Arguments> framingHeaders() {
        return Stream.of(
                Arguments.of(
                        "Transfer-Encoding: chunked twice",
                        "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
                        "5\r\nhello\r\n0\r\n\r\n",
                        null),
                Arguments.of(
                        "Transfer-Encoding: chunked, chunked",
                        "Transfer-Encoding: chunked, chunked\r\n",
                        "5\r\nhello\r\n0\r\n\r\n",
                        null),
                Arguments.of(
                        "Transfer-Encoding continued on a folded line",
                        "Transfer-Encoding: chunked\r\n\tidentity\r\n",
                        "5\r\nhello\r\n0\r\n\r\n",
                        null),
                // RFC 9112 5.2: obs-fold is refused, or replaced by a space ("chunked" here)
                Arguments.of(
                        "Transfer-Encoding folded onto its own line",
                        "Transfer-Encoding:\r\n chunked\r\n",
                        "5\r\nhello\r\n0\r\n\r\n",
                        "hello"),
                Arguments.of(
                        "Transfer-Encoding after a tab",
                        "Transfer-Encoding:\tchunked\r\n",
                        "5\r\nhello\r\n0\r\n\r\n",
                        "hello"),
                Arguments.of(
                        "Transfer-Encoding: CHUNKED",
                        "Transfer-Encoding: CHUNKED\r\n",
                        "5\r\nhello\r\n0\r\n\r\n",
                        "hello"),
                Arguments.of("Content-Length with leading zeros", "Content-Length: 005\r\n", "hello", "hello"),
                Arguments.of("Content-Length with a plus sign", "Content-Length: +5\r\n", "hello", null),
                Arguments.of("Content-Length with a space inside", "Content-Length: 0 5\r\n", "hello", null),
                Arguments.of("Content-Length in hex", "Content-Length: 0x5\r\n", "hello", null),
                Arguments.of("Content-Length of 19 digits", "Content-Length: 0000000000000000005\r\n", "hello", null),
                Arguments.of("Content-Length with a space before the colon", "Content-Length : 5\r\n", "hello", null));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("framingHeaders")
    void framingHeadersAreRefusedOrForwardedInCanonicalForm(
            String description, String headers, String body, String accepted) {
        // Connection: close, so an accepted request's connection ends with its answer too.
        Outcome outcome =
                send("POST /upload HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n" + headers + "\r\n" + body);

        if (accepted != null && outcome.response().status() == 200) {
            assertThat(backend.received()).singleElement().satisfies(r -> {
                assertThat(r.complete()).isTrue();
                assertThat(r.bodyText()).isEqualTo(accepted);
                if (r.header("Transfer-Encoding") != null) {
                    assertThat(r.header("Transfer-Encoding"))
                            .as("canonical framing")
                            .isEqualTo("chunked");
                } else {
                    assertThat(r.header("Content-Length"))
                            .as("canonical framing")
                            .isEqualTo("5");
                }
            });
        } else {
            assertRefused(outcome);
            assertThat(backend.started())
                    .as("a refused request must not reach the backend")
                    .isEmpty();
        }
        assertNothingSmuggledAndProxyStillServes();
    }

    // ---- Bodies that break off ----------------------------------------------------------------

    @Test
    void aChunkedBodyCutByTheClientNeverReachesTheBackendWhole() {
        try (RawHttp client = RawHttp.connect(proxy.port())) {
            client.send(CHUNKED_HEAD + "5\r\nhello\r\n");
            await().atMost(Duration.ofSeconds(10)).until(() -> backend.started().contains("POST /upload HTTP/1.1"));
        } // the client goes away mid-body

        await().atMost(Duration.ofSeconds(10)).until(() -> !backend.received().isEmpty());
        assertNoCompleteUpload();
        assertNothingSmuggledAndProxyStillServes();
        assertThat(errorsChargedToBackend())
                .as("a client going away is not the backend's failure")
                .isZero();
    }

    @Test
    void aChunkedBodyBrokenAfterItsFirstChunkNeverReachesTheBackendWhole() {
        Outcome outcome = send(CHUNKED_HEAD + "5\r\nhello\r\nzz\r\nworld\r\n0\r\n\r\n" + SMUGGLED);

        assertRefused(outcome);
        if (transport == Transport.HTTP) {
            await().atMost(Duration.ofSeconds(10))
                    .until(() -> !backend.started().isEmpty());
        } else {
            // The proxy resets its backend connection when the body breaks; over TLS that may come before the
            // handshake is through, and then nothing of the request reaches the backend. Whatever did is read whole.
            await().atMost(Duration.ofSeconds(10))
                    .until(() -> backend.received().size() == backend.started().size());
        }
        assertNoCompleteUpload();
        assertNothingSmuggledAndProxyStillServes();
        assertThat(errorsChargedToBackend())
                .as("a client's broken body is not the backend's failure")
                .isZero();
    }

    @Test
    void aContentLengthBodyCutByTheClientNeverReachesTheBackendWhole() {
        try (RawHttp client = RawHttp.connect(proxy.port())) {
            client.send("POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\nhello");
            await().atMost(Duration.ofSeconds(10)).until(() -> backend.started().contains("POST /upload HTTP/1.1"));
        }

        await().atMost(Duration.ofSeconds(10)).until(() -> !backend.received().isEmpty());
        assertNoCompleteUpload();
        assertNothingSmuggledAndProxyStillServes();
        assertThat(errorsChargedToBackend())
                .as("a client going away is not the backend's failure")
                .isZero();
    }

    // ---- Helpers -------------------------------------------------------------------------------

    private record Outcome(RawHttp.Response response, boolean closed, String after) {}

    private Outcome send(String request) {
        try (RawHttp connection = RawHttp.connect(proxy.port())) {
            connection.send(request.getBytes(StandardCharsets.ISO_8859_1));
            RawHttp.Response response = connection.readResponse();
            if (!response.answered() || response.closed() || response.timedOut()) {
                return new Outcome(response, response.closed(), "");
            }
            ByteArrayOutputStream after = new ByteArrayOutputStream();
            boolean closed = connection.closedByPeer(after);
            return new Outcome(response, closed, after.toString(StandardCharsets.ISO_8859_1));
        }
    }

    /** A 4xx, or the connection closed (with no answer, or right after one that is no server error); never a hang. */
    private static void assertRefused(Outcome outcome) {
        RawHttp.Response response = outcome.response();
        assertThat(response.timedOut())
                .as("the proxy neither answered nor closed: %s", response)
                .isFalse();
        if (!response.answered()) {
            assertThat(outcome.closed())
                    .as("no answer, so the connection must have been closed: %s", response)
                    .isTrue();
        } else if (response.status() < 400 || response.status() > 499) {
            assertThat(outcome.closed())
                    .as("answered %s instead of a 4xx: the connection must be closed", response)
                    .isTrue();
            assertThat(response.status())
                    .as("a client's malformed request is not a server error: %s", response)
                    .isLessThan(500);
        }
        assertThat(outcome.after())
                .as("nothing may follow the refusal on the connection")
                .isEmpty();
    }

    /** What reached the backend for /upload, if anything, arrived incomplete: it cannot act on a cut body. */
    private void assertNoCompleteUpload() {
        await().during(Duration.ofMillis(300))
                .atMost(Duration.ofSeconds(5))
                .untilAsserted(() -> assertThat(backend.received())
                        .filteredOn(r -> r.target().equals("/upload"))
                        .as("a broken body must reach the backend incomplete or not at all")
                        .noneMatch(RecordingBackend.Received::complete));
    }

    private void assertNothingSmuggledAndProxyStillServes() {
        HttpResponse<String> next = Http.get(ProxyFixture.url(proxy, "/after"));
        assertThat(next.statusCode()).isEqualTo(200);
        assertThat(next.body()).isEqualTo("ok");
        await().during(Duration.ofMillis(200))
                .atMost(Duration.ofSeconds(2))
                .until(() -> backend.started().stream().noneMatch(line -> line.contains("smuggled")));
        List<String> lines = backend.started();
        assertThat(lines)
                .as("every request that reached the backend")
                .allMatch(line -> line.equals("POST /upload HTTP/1.1") || line.equals("GET /after HTTP/1.1"));
    }

    private double errorsChargedToBackend() {
        String label = "backend=\"" + proxy.pool().snapshot().backends().get(0).key() + "\"";
        double sum = 0;
        for (String line : ProxyFixture.metrics(proxy).split("\n")) {
            if (line.startsWith("roundhouse_errors_total{") && line.contains(label)) {
                sum += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        return sum;
    }
}
