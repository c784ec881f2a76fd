package dev.roundhouse.proxy.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.roundhouse.proxy.RoundhouseProxy;
import dev.roundhouse.proxy.testing.IdleAfterwards;
import dev.roundhouse.proxy.testing.ProxyFixture;
import dev.roundhouse.testing.RawHttp;
import dev.roundhouse.testing.TestBackend;
import java.io.ByteArrayOutputStream;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Requests no honest client sends, written byte for byte on a socket: ambiguous body framing
 * (request smuggling), oversized and malformed heads, absolute-form targets. Each must be refused
 * (4xx, or the connection closed), must never let a second, hidden request reach the backend, and
 * must leave the proxy serving. Also pins down the headers the backend sees on normal requests.
 */
class HostileHttpTest {

    private static final String SMUGGLED = "GET /smuggled HTTP/1.1\r\nHost: localhost\r\n\r\n";
    /** A chunked body that ends at once, followed by a whole second request. */
    private static final String END_THEN_SMUGGLED = "0\r\n\r\n" + SMUGGLED;

    private TestBackend backend;
    private RoundhouseProxy proxy;

    @RegisterExtension
    static final IdleAfterwards idle = new IdleAfterwards();

    @BeforeEach
    void start() {
        backend = TestBackend.start("pool-backend");
        proxy = ProxyFixture.start(ProxyFixture.env("BACKENDS", backend.url(), "HEALTH_CHECK_PATH", "/health"));
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

    // ---- Body framing: request smuggling ------------------------------------------------------

    @Test
    void contentLengthWithTransferEncodingIsRefusedAndConnectionClosed() {
        // CL.TE: Content-Length covers everything, so a Transfer-Encoding reader would see a second request.
        Outcome outcome = send("POST / HTTP/1.1\r\nHost: localhost\r\n"
                + "Content-Length: " + END_THEN_SMUGGLED.length() + "\r\n"
                + "Transfer-Encoding: chunked\r\n\r\n"
                + END_THEN_SMUGGLED);

        assertBadRequestAndClosed(outcome);
        assertThat(backend.hits.get())
                .as("the refused request must not reach the backend")
                .isZero();
        assertNothingSmuggledAndProxyStillServes();
    }

    @Test
    void transferEncodingWithShortContentLengthIsRefusedAndConnectionClosed() {
        // TE.CL: a Content-Length reader stops after "NN\r\n" and takes the chunk data as the next request.
        String chunk = SMUGGLED;
        String body = Integer.toHexString(chunk.length()) + "\r\n" + chunk + "\r\n0\r\n\r\n";
        Outcome outcome = send("POST / HTTP/1.1\r\nHost: localhost\r\n"
                + "Content-Length: " + (Integer.toHexString(chunk.length()).length() + 2) + "\r\n"
                + "Transfer-Encoding: chunked\r\n\r\n"
                + body);

        assertBadRequestAndClosed(outcome);
        assertThat(backend.hits.get())
                .as("the refused request must not reach the backend")
                .isZero();
        assertNothingSmuggledAndProxyStillServes();
    }

    static Stream<Arguments> ambiguousContentLengths() {
        String body = "hello";
        return Stream.of(
                Arguments.of(
                        "two equal Content-Length headers",
                        "Content-Length: 5\r\nContent-Length: 5\r\n",
                        body + SMUGGLED),
                Arguments.of(
                        "two different Content-Length headers",
                        "Content-Length: 5\r\nContent-Length: " + (body + SMUGGLED).length() + "\r\n",
                        body + SMUGGLED),
                Arguments.of("Content-Length list '5, 5'", "Content-Length: 5, 5\r\n", body + SMUGGLED),
                Arguments.of("signed Content-Length '+5'", "Content-Length: +5\r\n", body + SMUGGLED),
                Arguments.of("negative Content-Length '-1'", "Content-Length: -1\r\n", body + SMUGGLED));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("ambiguousContentLengths")
    void ambiguousOrMalformedContentLengthIsRefused(String description, String headers, String body) {
        Outcome outcome = send("POST / HTTP/1.1\r\nHost: localhost\r\n" + headers + "\r\n" + body);

        assertRefused(outcome);
        assertThat(backend.hits.get())
                .as("the refused request must not reach the backend")
                .isZero();
        assertNothingSmuggledAndProxyStillServes();
    }

    static Stream<Arguments> obfuscatedTransferEncodings() {
        return Stream.of(
                Arguments.of("chunked, identity", "Transfer-Encoding: chunked, identity\r\n"),
                Arguments.of("xchunked", "Transfer-Encoding: xchunked\r\n"),
                Arguments.of("identity", "Transfer-Encoding: identity\r\n"),
                Arguments.of(
                        "two Transfer-Encoding headers",
                        "Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n"),
                Arguments.of(
                        "two spaces before chunked, with Content-Length",
                        "Transfer-Encoding:  chunked\r\nContent-Length: " + END_THEN_SMUGGLED.length() + "\r\n"),
                Arguments.of(
                        "tab before chunked, with Content-Length",
                        "Transfer-Encoding:\tchunked\r\nContent-Length: " + END_THEN_SMUGGLED.length() + "\r\n"),
                Arguments.of(
                        "trailing space after chunked, with Content-Length",
                        "Transfer-Encoding: chunked \r\nContent-Length: " + END_THEN_SMUGGLED.length() + "\r\n"),
                Arguments.of(
                        "tab before the colon, with Content-Length",
                        "Transfer-Encoding\t: chunked\r\nContent-Length: " + END_THEN_SMUGGLED.length() + "\r\n"),
                Arguments.of(
                        "space before the colon, with Content-Length",
                        "Transfer-Encoding : chunked\r\nContent-Length: " + END_THEN_SMUGGLED.length() + "\r\n"),
                Arguments.of(
                        "folded value, with Content-Length",
                        "Transfer-Encoding:\r\n chunked\r\nContent-Length: " + END_THEN_SMUGGLED.length() + "\r\n"));
    }

    @ParameterizedTest(name = "Transfer-Encoding {0}")
    @MethodSource("obfuscatedTransferEncodings")
    void obfuscatedTransferEncodingIsRefused(String description, String headers) {
        Outcome outcome = send("POST / HTTP/1.1\r\nHost: localhost\r\n" + headers + "\r\n" + END_THEN_SMUGGLED);

        assertRefused(outcome);
        assertThat(backend.hits.get())
                .as("the refused request must not reach the backend")
                .isZero();
        assertNothingSmuggledAndProxyStillServes();
    }

    static Stream<Arguments> brokenChunks() {
        return Stream.of(
                Arguments.of("non-hex chunk size 'zz' before data", "zz\r\nhello\r\n0\r\n\r\n" + SMUGGLED),
                Arguments.of("non-hex chunk size 'zz' as the last chunk", "zz\r\n\r\n" + SMUGGLED),
                Arguments.of("chunk size with a sign as the last chunk", "-5\r\n\r\n" + SMUGGLED),
                Arguments.of("chunk size '0x5'", "0x5\r\nhello\r\n0\r\n\r\n" + SMUGGLED),
                Arguments.of("chunk size overflowing 64 bits", "ffffffffffffffffff\r\n" + SMUGGLED + "\r\n0\r\n\r\n"),
                Arguments.of("chunk data longer than its size", "2\r\nhello\r\n0\r\n\r\n" + SMUGGLED));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("brokenChunks")
    void malformedChunkedBodyIsRefusedWithoutBlamingTheBackend(String description, String body) {
        Outcome outcome = send("POST /upload HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n" + body);

        assertRefused(outcome);
        assertNothingSmuggledAndProxyStillServes();
        await().during(Duration.ofMillis(200))
                .atMost(Duration.ofSeconds(2))
                .untilAsserted(() -> assertThat(errorsChargedToBackend())
                        .as("a client's broken body is not the backend's failure")
                        .isZero());
    }

    @Test
    void obsoleteLineFoldingIsRefused() throws Exception {
        // RFC 9112 5.2 allows unfolding, but a proxy sits between parsers: refused, as nginx and llhttp do.
        String body = END_THEN_SMUGGLED;
        Outcome outcome = send("POST /upload HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
                + "X-Padding: a\r\n Transfer-Encoding: chunked\r\n"
                + "Content-Length: " + body.length() + "\r\n\r\n" + body);

        assertThat(outcome.response().status()).as("%s", outcome.response()).isEqualTo(400);
        assertThat(backend.seen).noneMatch(seen -> seen.uri().equals("/upload"));
        assertThat(outcome.after()).isEmpty();
        assertNothingSmuggledAndProxyStillServes();
    }

    // ---- Oversized and malformed heads --------------------------------------------------------

    @Test
    void oversizedRequestLineIsRefused() {
        Outcome outcome = send("GET /" + "a".repeat(100 * 1024) + " HTTP/1.1\r\nHost: localhost\r\n\r\n");

        assertRefused(outcome);
        if (outcome.response().answered()) {
            assertThat(outcome.response().status()).isEqualTo(414);
        }
        assertThat(backend.hits.get()).isZero();
        assertNothingSmuggledAndProxyStillServes();
    }

    @Test
    void oversizedHeaderValueIsRefused() {
        Outcome outcome = send("GET / HTTP/1.1\r\nHost: localhost\r\nX-Big: " + "b".repeat(100 * 1024) + "\r\n\r\n");

        assertRefused(outcome);
        if (outcome.response().answered()) {
            assertThat(outcome.response().status()).isEqualTo(431);
        }
        assertThat(backend.hits.get()).isZero();
        assertNothingSmuggledAndProxyStillServes();
    }

    @Test
    void tooManyHeadersAreRefused() {
        StringBuilder request = new StringBuilder("GET / HTTP/1.1\r\nHost: localhost\r\n");
        for (int i = 0; i < 200; i++) {
            request.append("X-H").append(i).append(": v\r\n");
        }
        Outcome outcome = send(request.append("\r\n").toString());

        assertRefused(outcome);
        if (outcome.response().answered()) {
            assertThat(outcome.response().status()).isEqualTo(431);
        }
        assertThat(backend.hits.get()).isZero();
        assertNothingSmuggledAndProxyStillServes();
    }

    static Stream<Arguments> malformedHeads() {
        return Stream.of(
                Arguments.of("space in a header name", bytes("GET / HTTP/1.1\r\nHost: localhost\r\nX Bad: 1\r\n\r\n")),
                Arguments.of(
                        "control character in a header value",
                        bytes("GET / HTTP/1.1\r\nHost: localhost\r\nX-Bad: a\u0001b\r\n\r\n")),
                Arguments.of(
                        "NUL in a header value", bytes("GET / HTTP/1.1\r\nHost: localhost\r\nX-Bad: a\u0000b\r\n\r\n")),
                Arguments.of(
                        "bare CR inside a header value",
                        bytes("GET / HTTP/1.1\r\nHost: localhost\r\nX-Bad: a\rTransfer-Encoding: chunked\r\n\r\n")),
                Arguments.of(
                        "non-ASCII (UTF-8) bytes in the path",
                        "GET /caf\u00e9 HTTP/1.1\r\nHost: localhost\r\n\r\n".getBytes(StandardCharsets.UTF_8)),
                Arguments.of("bare LF line endings", bytes("GET / HTTP/1.1\nHost: localhost\nX-A: 1\n\n")));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("malformedHeads")
    void malformedRequestHeadIsRefused(String description, byte[] request) {
        Outcome outcome = send(request);

        assertRefused(outcome);
        if (outcome.response().answered()) {
            assertThat(outcome.response().status()).isEqualTo(400);
        }
        assertThat(backend.hits.get())
                .as("a malformed request must not reach the backend")
                .isZero();
        assertNothingSmuggledAndProxyStillServes();
    }

    @Test
    void absoluteFormTargetNamingAnotherHostIsServedByThePoolOnly() {
        RawHttp.Response response =
                RawHttp.exchange(proxy.port(), "GET http://evil.example/steal HTTP/1.1\r\nHost: evil.example\r\n\r\n");

        assertThat(response.answered()).as("answered: %s", response).isTrue();
        int status = response.status();
        if (status >= 400 && status < 500) {
            assertThat(backend.hits.get()).isZero();
        } else {
            assertThat(status).as("served by the pool backend: %s", response).isEqualTo(200);
            assertThat(response.bodyText()).isEqualTo(backend.name);
            TestBackend.Seen seen = backend.lastSeen();
            assertThat(seen.uri()).as("origin-form path at the backend").isEqualTo("/steal");
            assertThat(seen.header("Host")).isEqualTo("evil.example");
        }
        assertNothingSmuggledAndProxyStillServes();
    }

    // ---- Headers the backend sees on honest requests ------------------------------------------

    @Test
    void hopByHopHeadersAreNotForwardedToTheBackend() {
        RawHttp.Response response = RawHttp.exchange(
                proxy.port(),
                "GET /hop HTTP/1.1\r\nHost: localhost\r\n"
                        + "Connection: keep-alive, X-Secret-Hop\r\n"
                        + "X-Secret-Hop: 1\r\n"
                        + "Keep-Alive: timeout=5\r\n"
                        + "Proxy-Authorization: Basic eDp5\r\n"
                        + "Proxy-Connection: keep-alive\r\n"
                        + "TE: trailers\r\n"
                        + "Trailer: X-Checksum\r\n"
                        + "X-End-To-End: kept\r\n\r\n");

        assertThat(response.status()).as("%s", response).isEqualTo(200);
        TestBackend.Seen seen = backend.lastSeen();
        assertThat(seen.uri()).isEqualTo("/hop");
        assertThat(seen.header("X-Secret-Hop")).as("named by Connection").isNull();
        assertThat(seen.header("Keep-Alive")).isNull();
        assertThat(seen.header("Proxy-Authorization")).isNull();
        assertThat(seen.header("Proxy-Connection")).isNull();
        assertThat(seen.header("TE")).isNull();
        assertThat(seen.header("Trailer")).isNull();
        String connection = seen.header("Connection");
        if (connection != null) {
            assertThat(connection.toLowerCase())
                    .as("the proxy's own Connection header")
                    .doesNotContain("x-secret-hop");
        }
        assertThat(seen.header("X-End-To-End")).isEqualTo("kept");
    }

    @Test
    void connectionHeaderCannotStripContentLengthFromTheBody() throws Exception {
        RawHttp.Response response = RawHttp.exchange(
                proxy.port(),
                "POST /upload HTTP/1.1\r\nHost: localhost\r\nConnection: Content-Length\r\n"
                        + "Content-Length: 5\r\n\r\nhello");

        assertThat(response.status()).as("%s", response).isEqualTo(200);
        assertThat(response.bodyText()).isEqualTo("5 " + sha256("hello"));
        assertNothingSmuggledAndProxyStillServes();
    }

    @Test
    void connectionHeaderCannotStripTransferEncodingFromTheBody() throws Exception {
        RawHttp.Response response = RawHttp.exchange(
                proxy.port(),
                "POST /upload HTTP/1.1\r\nHost: localhost\r\nConnection: Transfer-Encoding\r\n"
                        + "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n");

        assertThat(response.status()).as("%s", response).isEqualTo(200);
        assertThat(response.bodyText()).isEqualTo("5 " + sha256("hello"));
        assertNothingSmuggledAndProxyStillServes();
    }

    @Test
    void xForwardedForAppendsTheClientAddressToTheIncomingChain() {
        RawHttp.Response response = RawHttp.exchange(
                proxy.port(), "GET /xff HTTP/1.1\r\nHost: localhost\r\nX-Forwarded-For: 203.0.113.9\r\n\r\n");

        assertThat(response.status()).isEqualTo(200);
        String xff = backend.lastSeen().header("X-Forwarded-For");
        assertThat(xff).startsWith("203.0.113.9").endsWith("127.0.0.1");
        assertThat(xff.replace(" ", "")).isEqualTo("203.0.113.9,127.0.0.1");
    }

    @Test
    void xForwardedForIsTheClientAddressWhenNoneCameIn() {
        RawHttp.Response response = RawHttp.exchange(proxy.port(), "GET /xff HTTP/1.1\r\nHost: localhost\r\n\r\n");

        assertThat(response.status()).isEqualTo(200);
        assertThat(backend.lastSeen().header("X-Forwarded-For")).isEqualTo("127.0.0.1");
    }

    @Test
    void aHostWithoutPortOrAnAbsoluteHttpsTargetDoesNotChangeTheForwardedPortOrProto() {
        RawHttp.Response plain = RawHttp.exchange(proxy.port(), "GET /xfp HTTP/1.1\r\nHost: example.com\r\n\r\n");
        assertThat(plain.status()).isEqualTo(200);
        TestBackend.Seen seen = backend.lastSeen();
        assertThat(seen.header("X-Forwarded-Port")).isEqualTo(String.valueOf(proxy.port()));
        assertThat(seen.header("X-Forwarded-Host")).isEqualTo("example.com");
        assertThat(seen.header("X-Forwarded-Server"))
                .as("nothing undocumented is added")
                .isNull();

        RawHttp.Response absolute = RawHttp.exchange(
                proxy.port(), "GET https://example.com:9443/xfp HTTP/1.1\r\nHost: example.com:9443\r\n\r\n");
        assertThat(absolute.status()).isEqualTo(200);
        assertThat(backend.lastSeen().header("X-Forwarded-Proto"))
                .as("the connection was plain http")
                .isEqualTo("http");
        assertThat(backend.lastSeen().header("X-Forwarded-Port")).isEqualTo(String.valueOf(proxy.port()));
    }

    @Test
    void xForwardedProtoHostAndPortDescribeThisHopNotWhatTheClientClaimed() {
        RawHttp.Response response = RawHttp.exchange(
                proxy.port(),
                "GET /xfp HTTP/1.1\r\nHost: shop.example:8443\r\n"
                        + "X-Forwarded-Proto: https\r\nX-Forwarded-Host: bank.example\r\nX-Forwarded-Port: 443\r\n\r\n");

        assertThat(response.status()).isEqualTo(200);
        TestBackend.Seen seen = backend.lastSeen();
        assertThat(seen.header("X-Forwarded-Proto")).as("the listener's scheme").isEqualTo("http");
        assertThat(seen.header("X-Forwarded-Host")).as("Host as sent").isEqualTo("shop.example:8443");
        assertThat(seen.header("X-Forwarded-Port"))
                .as("the port the client connected to, not Host's")
                .isEqualTo(String.valueOf(proxy.port()));
        assertThat(seen.header("Host")).as("Host is passed through").isEqualTo("shop.example:8443");
    }

    // ---- Helpers -------------------------------------------------------------------------------

    /** One answer plus whether the proxy then closed the connection, and any bytes it sent after. */
    private record Outcome(RawHttp.Response response, boolean closed, String after) {}

    private Outcome send(String request) {
        return send(bytes(request));
    }

    private Outcome send(byte[] request) {
        try (RawHttp connection = RawHttp.connect(proxy.port())) {
            connection.send(request);
            RawHttp.Response response = connection.readResponse();
            if (!response.answered() || response.closed() || response.timedOut()) {
                return new Outcome(response, response.closed(), "");
            }
            ByteArrayOutputStream after = new ByteArrayOutputStream();
            boolean closed = connection.closedByPeer(after);
            return new Outcome(response, closed, after.toString(StandardCharsets.ISO_8859_1));
        }
    }

    /**
     * Refused: a 4xx answer, or the connection closed (with no answer, or right after an answer that
     * is not a server error). Never a hang, never a second answer, never a kept-alive connection
     * after a request the proxy should not have accepted.
     */
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
                    .as(
                            "answered %s instead of a 4xx, so the connection must be closed right after; it stayed open"
                                    + " and then answered: '%s'",
                            response, outcome.after())
                    .isTrue();
            assertThat(response.status())
                    .as("a client's malformed request is not a server error: %s", response)
                    .isLessThan(500);
        }
        assertThat(outcome.after())
                .as("nothing may follow the refusal on the connection")
                .isEmpty();
    }

    private static void assertBadRequestAndClosed(Outcome outcome) {
        assertThat(outcome.response().status()).as("%s", outcome.response()).isEqualTo(400);
        assertThat(outcome.closed()).as("connection closed after the refusal").isTrue();
        assertThat(outcome.after()).isEmpty();
    }

    /** No request for /smuggled ever reaches the backend, and an honest request still gets through. */
    private void assertNothingSmuggledAndProxyStillServes() {
        HttpResponse<String> next = ProxyFixture.get(proxy, "/after");
        assertThat(next.statusCode()).isEqualTo(200);
        assertThat(next.body()).isEqualTo(backend.name);
        assertThat(backend.seen).anyMatch(s -> s.uri().equals("/after"));
        // A desynchronised backend connection would show the smuggled request shortly after: watch a moment.
        await().during(Duration.ofMillis(200))
                .atMost(Duration.ofSeconds(2))
                .until(() -> backend.seen.stream().noneMatch(s -> s.uri().contains("smuggled")));
    }

    /** roundhouse_errors_total summed over the series labelled with the pool backend. */
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

    private static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.ISO_8859_1);
    }

    private static String sha256(String text) throws Exception {
        return HexFormat.of()
                .formatHex(MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
    }
}
