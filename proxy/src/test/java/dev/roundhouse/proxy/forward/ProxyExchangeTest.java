package dev.roundhouse.proxy.forward;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.roundhouse.proxy.RoundhouseProxy;
import dev.roundhouse.proxy.testing.BlackholeBackend;
import dev.roundhouse.proxy.testing.Closeables;
import dev.roundhouse.proxy.testing.ProxyFixture;
import dev.roundhouse.proxy.testing.Scrape;
import dev.roundhouse.proxy.testing.ScriptedBackend;
import dev.roundhouse.proxy.testing.Transport;
import dev.roundhouse.testing.Http;
import dev.roundhouse.testing.RawHttp;
import dev.roundhouse.testing.ResponseStream;
import dev.roundhouse.testing.TestBackend;
import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.DoubleSupplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The proxy's HTTP/1.1 client ({@link ProxyExchange}), end to end: a real proxy on an ephemeral port in front of
 * raw-socket backends that write exactly the bytes a test needs. Response framing (chunked, close-delimited,
 * bodiless), interim and invalid responses, hop-by-hop fields both ways, keep-alive reuse and its failure modes,
 * timeouts and failover; over plain and TLS backends alike.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
@ParameterizedClass(name = "over {0}")
@EnumSource(Transport.class)
class ProxyExchangeTest {

    @Parameter
    Transport transport;

    private static final Duration READ_TIMEOUT = Duration.ofSeconds(10);

    @RegisterExtension
    final Closeables closeables = new Closeables();

    /** The backend connection that carried each scripted request, in order of arrival. */
    private final List<ScriptedBackend.Connection> carriers = new CopyOnWriteArrayList<>();

    private ScriptedBackend backend(ScriptedBackend.Script script) {
        return closeables.add(transport.scripted((request, connection) -> {
            carriers.add(connection);
            script.answer(request, connection);
        }));
    }

    private RoundhouseProxy proxy(String backends, String... env) {
        Map<String, String> environment = ProxyFixture.env(env);
        environment.put("BACKENDS", backends);
        environment.put("HEALTH_CHECK_PATH", "/health");
        return closeables.add(ProxyFixture.start(transport.trusting(environment)));
    }

    private static String get(String path) {
        return "GET " + path + " HTTP/1.1\r\nHost: localhost\r\n\r\n";
    }

    private static String ok(String body) {
        return "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " + body.length() + "\r\n\r\n" + body;
    }

    private static void awaitCount(String what, DoubleSupplier value, double expected) {
        await().atMost(Duration.ofSeconds(5))
                .pollInterval(Duration.ofMillis(20))
                .untilAsserted(() -> assertThat(value.getAsDouble()).as(what).isEqualTo(expected));
    }

    // ---- Chunked responses ----------------------------------------------------------------------

    private static final String CHUNKED_HEAD = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
            + "Transfer-Encoding: chunked\r\nTrailer: X-Checksum\r\n\r\n";
    private static final String CHUNKED_BODY = "5;name=value\r\nhello\r\n"
            + "2 ; quoted=\"a;b\"\r\n, \r\n"
            + "A\r\nchunked wo\r\n"
            + "3\r\nrld\r\n"
            + "0\r\nX-Checksum: 3e25960a\r\nX-Other-Trailer: 1\r\n\r\n";

    @ParameterizedTest(name = "written {0}")
    @ValueSource(strings = {"at once", "a byte at a time"})
    void aChunkedResponseWithExtensionsAndTrailersReachesTheClientWholeWithoutItsTrailers(String how) {
        ScriptedBackend chunked = backend((request, connection) -> {
            byte[] all = (CHUNKED_HEAD + CHUNKED_BODY).getBytes(StandardCharsets.ISO_8859_1);
            if (how.equals("at once")) {
                connection.write(all);
            } else {
                for (byte b : all) { // every decoder state split across reads
                    connection.write(new byte[] {b});
                }
            }
        });
        RoundhouseProxy proxy = proxy(chunked.url());

        try (RawHttp client = RawHttp.connect(proxy.port()).readTimeout(READ_TIMEOUT)) {
            RawHttp.Response first = client.send(get("/chunked")).readResponse();
            assertThat(first.status()).as("%s", first).isEqualTo(200);
            assertThat(first.bodyText()).isEqualTo("hello, chunked world");
            assertThat(first.closed()).isFalse();

            // The second answer is read byte for byte to the close, trailers included if there were any.
            client.send("GET /chunked HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
            ByteArrayOutputStream raw = new ByteArrayOutputStream();
            assertThat(client.closedByPeer(raw)).isTrue();
            String text = raw.toString(StandardCharsets.ISO_8859_1);
            assertThat(decodedBody(text)).as("%s", text).isEqualTo("hello, chunked world");
            assertThat(text)
                    .as("neither the Trailer field nor the trailer fields are forwarded")
                    .doesNotContainIgnoringCase("X-Checksum")
                    .doesNotContainIgnoringCase("X-Other-Trailer");
            assertThat(text).doesNotContain(";name=value");
        }
        assertThat(carriers)
                .as("the decoder found the exact end of each response, so the connection was reused")
                .hasSize(2)
                .containsOnly(carriers.get(0));
        assertThat(Scrape.errors(proxy, "upstream_reset", chunked.url())).isZero();
    }

    @Test
    void aLargeChunkedResponseSpanningManyBuffersReachesTheClientWhole() {
        byte[] body = pattern(300_000);
        ScriptedBackend chunked = backend((request, connection) -> {
            connection.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
            for (int from = 0; from < body.length; from += 70_000) {
                byte[] data = Arrays.copyOfRange(body, from, Math.min(body.length, from + 70_000));
                connection
                        .write(Integer.toHexString(data.length) + "\r\n")
                        .write(data)
                        .write("\r\n");
            }
            connection.write("0\r\n\r\n");
        });
        RoundhouseProxy proxy = proxy(chunked.url());

        try (ResponseStream response = ResponseStream.get(proxy.port(), "/big", READ_TIMEOUT)) {
            assertThat(response.status()).isEqualTo(200);
            assertThat(response.readToEnd()).as("%s", response).isEqualTo(ResponseStream.End.COMPLETE);
            assertThat(response.body()).isEqualTo(body);
        }
    }

    static Stream<Arguments> malformedChunks() {
        return Stream.of(
                Arguments.of("non-hex chunk size", "zz\r\nhello\r\n0\r\n\r\n", "good"),
                Arguments.of("chunk size '0x5'", "0x5\r\nhello\r\n0\r\n\r\n", "good"),
                Arguments.of("signed chunk size", "-5\r\nhello\r\n0\r\n\r\n", "good"),
                Arguments.of("empty chunk size", "\r\nhello\r\n0\r\n\r\n", "good"),
                Arguments.of("chunk size of 17 hex digits", "10000000000000000\r\nhello\r\n0\r\n\r\n", "good"),
                // the two bytes the size announced are relayed before the missing CRLF shows
                Arguments.of("chunk data longer than its size", "2\r\nhello\r\n0\r\n\r\n", "goodhe"),
                Arguments.of("CR not followed by LF after the size", "5\rhello\r\n0\r\n\r\n", "good"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("malformedChunks")
    void aMalformedChunkCutsTheClientResponseAndIsCountedAsAnUpstreamReset(
            String description, String malformed, String mostRelayed) {
        ScriptedBackend broken = backend((request, connection) -> {
            connection.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\ngood\r\n" + malformed);
            connection.hangUntilPeerCloses(Duration.ofSeconds(20));
        });
        RoundhouseProxy proxy = proxy(broken.url());

        try (ResponseStream response = ResponseStream.get(proxy.port(), "/bad-chunk", READ_TIMEOUT)) {
            ResponseStream.End end = response.readToEnd();
            assertThat(end)
                    .as("the client must see the response cut, never complete: %s", response)
                    .isIn(ResponseStream.End.CLOSED, ResponseStream.End.RESET);
            String body = new String(response.body(), StandardCharsets.ISO_8859_1);
            assertThat(mostRelayed).as("nothing but valid chunk data relayed").startsWith(body);
        }
        awaitCount("upstream_reset errors", () -> Scrape.errors(proxy, "upstream_reset", broken.url()), 1.0);
        await().atMost(Duration.ofSeconds(5)).until(() -> carriers.get(0).closedByPeer());
        assertThat(proxy.pool()
                        .snapshot()
                        .backend(broken.url())
                        .breaker()
                        .getMetrics()
                        .getNumberOfFailedCalls())
                .isEqualTo(1);
    }

    /** A chunked body decoded from the raw bytes of one answer (or the bytes after the head when not chunked). */
    private static String decodedBody(String raw) {
        int headEnd = raw.indexOf("\r\n\r\n");
        String head = raw.substring(0, headEnd).toLowerCase();
        String rest = raw.substring(headEnd + 4);
        if (!head.contains("transfer-encoding: chunked")) {
            return rest;
        }
        StringBuilder body = new StringBuilder();
        int p = 0;
        while (true) {
            int lineEnd = rest.indexOf("\r\n", p);
            int size =
                    Integer.parseInt(rest.substring(p, lineEnd).split(";", 2)[0].trim(), 16);
            p = lineEnd + 2;
            if (size == 0) {
                return body.toString();
            }
            body.append(rest, p, p + size);
            p += size + 2;
        }
    }

    private static byte[] pattern(int length) {
        byte[] bytes = new byte[length];
        for (int i = 0; i < length; i++) {
            bytes[i] = (byte) (i * 31 + 7);
        }
        return bytes;
    }

    // ---- Close-delimited responses --------------------------------------------------------------

    @Test
    void aResponseDelimitedByTheBackendClosingReachesTheClientWhole() {
        byte[] body = pattern(100_000);
        ScriptedBackend closing = backend((request, connection) -> {
            if (request.target().equals("/until-close")) {
                connection
                        .write("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n\r\n")
                        .write(body)
                        .close();
            } else {
                connection.write(ok("next"));
            }
        });
        RoundhouseProxy proxy = proxy(closing.url());

        try (RawHttp client = RawHttp.connect(proxy.port()).readTimeout(READ_TIMEOUT)) {
            RawHttp.Response response = client.send(get("/until-close")).readResponse();
            assertThat(response.status()).as("%s", response).isEqualTo(200);
            assertThat(response.closed())
                    .as("re-framed for the client, whose connection stays open")
                    .isFalse();
            assertThat(response.body()).isEqualTo(body);

            RawHttp.Response next = client.send(get("/next")).readResponse();
            assertThat(next.bodyText()).isEqualTo("next");
        }
        assertThat(carriers).hasSize(2).doesNotHaveDuplicates();
        assertThat(Scrape.errors(proxy, "upstream_reset", closing.url())).isZero();
        awaitCount("the request recorded as a success", () -> Scrape.requests(proxy, closing.url(), "GET", 200), 2.0);
    }

    /**
     * A reset is not a close: a close-delimited body ended by a reset is cut, and the client must see it cut rather
     * than complete (the Content-Length and chunked cases are in BackendResetMidResponseTest).
     */
    @Test
    void aCloseDelimitedResponseEndedByAResetReachesTheClientCut() throws Exception {
        CountDownLatch clientSawPart = new CountDownLatch(1);
        ScriptedBackend resetting = backend((request, connection) -> {
            connection
                    .write("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n\r\n")
                    .write(pattern(50_000));
            clientSawPart.await(20, TimeUnit.SECONDS);
            connection.reset();
        });
        RoundhouseProxy proxy = proxy(resetting.url());

        try (ResponseStream response = ResponseStream.get(proxy.port(), "/until-reset", READ_TIMEOUT)) {
            assertThat(response.status()).as("%s", response).isEqualTo(200);
            assertThat(response.readAtLeast(50_000)).isEqualTo(ResponseStream.End.OPEN);
            clientSawPart.countDown();

            assertThat(response.readToEnd())
                    .as("a body the backend reset must not end as complete: %s", response)
                    .isIn(ResponseStream.End.CLOSED, ResponseStream.End.RESET);
            assertThat(response.body()).isEqualTo(pattern(50_000));
        }
        awaitCount("upstream_reset errors", () -> Scrape.errors(proxy, "upstream_reset", resetting.url()), 1.0);
    }

    // ---- Responses without a body ---------------------------------------------------------------

    @Test
    void headNoContentAndNotModifiedResponsesEndWithoutABodyAndTheirConnectionsAreNotReused() {
        ScriptedBackend bodiless = backend((request, connection) -> {
            switch (request.target()) {
                case "/head" ->
                    connection.write("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n\r\n");
                case "/head-chunked" -> connection.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
                case "/head-empty" -> connection.write("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
                case "/no-content" -> connection.write("HTTP/1.1 204 No Content\r\nX-Kind: 204\r\n\r\n");
                case "/not-modified" -> connection.write("HTTP/1.1 304 Not Modified\r\nETag: \"v1\"\r\n\r\n");
                default -> connection.write(ok("next"));
            }
        });
        RoundhouseProxy proxy = proxy(bodiless.url());

        try (RawHttp client = RawHttp.connect(proxy.port()).readTimeout(READ_TIMEOUT)) {
            RawHttp.Response head = client.send("HEAD /head HTTP/1.1\r\nHost: localhost\r\n\r\n")
                    .readResponse(true);
            assertThat(head.status()).as("%s", head).isEqualTo(200);
            assertThat(head.header("Content-Length"))
                    .as("the length of the GET's body is kept")
                    .isEqualTo("11");

            RawHttp.Response headChunked = client.send("HEAD /head-chunked HTTP/1.1\r\nHost: localhost\r\n\r\n")
                    .readResponse(true);
            assertThat(headChunked.status()).as("%s", headChunked).isEqualTo(200);

            RawHttp.Response headEmpty = client.send("HEAD /head-empty HTTP/1.1\r\nHost: localhost\r\n\r\n")
                    .readResponse(true);
            assertThat(headEmpty.status()).as("%s", headEmpty).isEqualTo(200);

            RawHttp.Response noContent = client.send(get("/no-content")).readResponse();
            assertThat(noContent.status()).as("%s", noContent).isEqualTo(204);
            assertThat(noContent.header("X-Kind")).isEqualTo("204");

            RawHttp.Response notModified = client.send(get("/not-modified")).readResponse();
            assertThat(notModified.status()).as("%s", notModified).isEqualTo(304);
            assertThat(notModified.header("ETag")).isEqualTo("\"v1\"");

            // Had any of them sent body bytes, or framing the client reads as a body, this answer would be garbled.
            RawHttp.Response next = client.send(get("/next")).readResponse();
            assertThat(next.status()).as("%s", next).isEqualTo(200);
            assertThat(next.bodyText()).isEqualTo("next");
            assertThat(client.closedByPeer(null))
                    .as("the client connection is kept alive")
                    .isFalse();
        }
        // A backend might send a body after a response that has none by rule, and the next request on the
        // connection would read it as its own response: only a HEAD answered with Content-Length: 0 is known clean.
        assertThat(carriers).as("the backend connection of each request").hasSize(6);
        assertThat(carriers.get(1))
                .as("after a HEAD with a length, a new connection")
                .isNotSameAs(carriers.get(0));
        assertThat(carriers.get(2))
                .as("after a HEAD without a length, a new connection")
                .isNotSameAs(carriers.get(1));
        assertThat(carriers.get(3))
                .as("after a HEAD with Content-Length: 0, the same one")
                .isSameAs(carriers.get(2));
        assertThat(carriers.get(4)).as("after a 204, a new connection").isNotSameAs(carriers.get(3));
        assertThat(carriers.get(5)).as("after a 304, a new connection").isNotSameAs(carriers.get(4));
    }

    @Test
    void aNotModifiedWithTheContentLengthOfTheRepresentationEndsWithoutABody() {
        // RFC 9110 8.6: a 304 may carry the Content-Length a 200 would have had.
        ScriptedBackend bodiless = backend((request, connection) -> connection.write(
                request.target().equals("/not-modified")
                        ? "HTTP/1.1 304 Not Modified\r\nETag: \"v1\"\r\nContent-Length: 11\r\n\r\n"
                        : ok("next")));
        RoundhouseProxy proxy = proxy(bodiless.url());

        try (RawHttp client = RawHttp.connect(proxy.port()).readTimeout(READ_TIMEOUT)) {
            RawHttp.Response notModified = client.send(get("/not-modified")).readResponse();
            assertThat(notModified.status()).as("%s", notModified).isEqualTo(304);
            assertThat(notModified.closed()).isFalse();

            RawHttp.Response next = client.send(get("/next")).readResponse();
            assertThat(next.status()).as("%s", next).isEqualTo(200);
            assertThat(next.bodyText()).isEqualTo("next");
        }
        assertThat(carriers).hasSize(2).doesNotHaveDuplicates();
    }

    // ---- Interim responses ----------------------------------------------------------------------

    @ParameterizedTest(name = "written {0}")
    @ValueSource(strings = {"with the final one", "apart from the final one"})
    void interimResponsesArePassedOnBeforeTheFinalOne(String how) {
        String interim = "HTTP/1.1 100 Continue\r\n\r\n"
                + "HTTP/1.1 103 Early Hints\nLink: </style.css>; rel=preload\n\n"; // bare LF, as nginx accepts
        String last = "HTTP/1.1 200 OK\r\nX-Final: yes\r\nContent-Length: 5\r\n\r\nfinal";
        ScriptedBackend hinting = backend((request, connection) -> {
            if (how.equals("with the final one")) {
                connection.write(interim + last);
            } else {
                connection.write(interim).write("HTTP/1.1 200 OK\r\nX-Fi").write(last.substring(21));
            }
        });
        RoundhouseProxy proxy = proxy(hinting.url());

        try (RawHttp client = RawHttp.connect(proxy.port()).readTimeout(READ_TIMEOUT)) {
            RawHttp.Response first = client.send(get("/hints")).readResponse();
            assertThat(first.status()).as("%s", first).isEqualTo(200);
            assertThat(first.bodyText()).isEqualTo("final");
            assertThat(first.header("X-Final")).isEqualTo("yes");
            assertThat(first.header("Link"))
                    .as("the interim answer's fields stay out of the final one")
                    .isNull();
            assertThat(first.interim())
                    .extracting(RawHttp.Interim::status)
                    .as("the 103, not the 100 this proxy did not ask for")
                    .containsExactly(103);
            assertThat(first.interim().get(0).header("Link")).isEqualTo("</style.css>; rel=preload");

            // The second one read raw, to see the exact bytes.
            client.send("GET /hints HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
            ByteArrayOutputStream raw = new ByteArrayOutputStream();
            assertThat(client.closedByPeer(raw)).isTrue();
            String text = raw.toString(StandardCharsets.ISO_8859_1);
            assertThat(text)
                    .as("the first line the client sees")
                    .startsWith("HTTP/1.1 103 Early Hints\r\n"
                            + "Link: </style.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\n");
            assertThat(text).doesNotContain(" 100 ").contains("X-Final: yes").endsWith("final");
        }
        assertThat(carriers)
                .as("a connection that carried interim answers is not reused")
                .hasSize(2)
                .doesNotHaveDuplicates();
    }

    @Test
    void anHttp10ClientGetsNoInterimResponse() {
        ScriptedBackend hinting = backend((request, connection) ->
                connection.write("HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n" + ok("final")));
        RoundhouseProxy proxy = proxy(hinting.url());

        RawHttp.Response response = RawHttp.exchange(proxy.port(), "GET /hints HTTP/1.0\r\n\r\n");

        assertThat(response.status()).as("%s", response).isEqualTo(200);
        assertThat(response.interim())
                .as("RFC 9110 15.2: no 1xx to an HTTP/1.0 client")
                .isEmpty();
        assertThat(response.bodyText()).isEqualTo("final");
    }

    // ---- Invalid responses ----------------------------------------------------------------------

    static Stream<Arguments> invalidResponses() {
        StringBuilder huge = new StringBuilder("HTTP/1.1 200 OK\r\n");
        for (int i = 0; i < 20; i++) {
            huge.append("X-Big-")
                    .append(i)
                    .append(": ")
                    .append("h".repeat(1000))
                    .append("\r\n");
        }
        return Stream.of(
                Arguments.of(
                        "an unexpected 101",
                        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"),
                Arguments.of("a malformed status line", "HTTP/1.1 OK 200\r\nContent-Length: 2\r\n\r\nok"),
                Arguments.of("not HTTP at all", "SSH-2.0-OpenSSH_9.6\r\n\r\n"),
                Arguments.of("a head larger than the buffer (20 KB of headers)", huge + "Content-Length: 2\r\n\r\nok"),
                Arguments.of(
                        "Content-Length with Transfer-Encoding",
                        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"),
                Arguments.of(
                        "conflicting Content-Lengths",
                        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok!"),
                Arguments.of(
                        "obsolete line folding",
                        "HTTP/1.1 200 OK\r\nX-A: 1\r\n folded\r\nContent-Length: 2\r\n\r\nok"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("invalidResponses")
    void anInvalidResponseHeadGets502AndIsCountedAgainstTheBackend(String description, String answer) {
        ScriptedBackend invalid = backend((request, connection) -> {
            if (request.target().equals("/invalid")) {
                connection.write(answer);
                connection.hangUntilPeerCloses(Duration.ofSeconds(20));
            } else {
                connection.write(ok("fine"));
            }
        });
        RoundhouseProxy proxy = proxy(invalid.url());

        RawHttp.Response response = RawHttp.exchange(proxy.port(), get("/invalid"));

        assertThat(response.status()).as("%s", response).isEqualTo(502);
        assertThat(response.bodyText()).contains("bad gateway");
        assertThat(Scrape.errors(proxy, "upstream_reset", invalid.url())).isEqualTo(1.0);
        awaitCount(
                "the 502 recorded against the backend", () -> Scrape.requests(proxy, invalid.url(), "GET", 502), 1.0);
        assertThat(invalid.requestsStartingWith("GET /invalid"))
                .as("not sent again")
                .isEqualTo(1);
        await("the connection that carried it is closed")
                .atMost(Duration.ofSeconds(5))
                .until(() -> carriers.get(0).closedByPeer());
        HttpResponse<String> after = ProxyFixture.get(proxy, "/after");
        assertThat(after.statusCode()).isEqualTo(200);
        assertThat(after.body()).isEqualTo("fine");
    }

    // ---- Hop-by-hop fields ----------------------------------------------------------------------

    @Test
    void hopByHopResponseFieldsAreNotForwardedButEndToEndOnesAre() {
        ScriptedBackend hops = backend((request, connection) -> connection.write("HTTP/1.1 200 OK\r\n"
                + "Connection: close, X-Foo\r\nX-Foo: secret\r\nKeep-Alive: timeout=5, max=100\r\n"
                + "Proxy-Connection: keep-alive\r\nX-End-To-End: kept\r\nContent-Length: 2\r\n\r\nok"));
        RoundhouseProxy proxy = proxy(hops.url());

        try (RawHttp client = RawHttp.connect(proxy.port()).readTimeout(READ_TIMEOUT)) {
            for (int i = 0; i < 2; i++) {
                RawHttp.Response response = client.send(get("/hops-" + i)).readResponse();
                assertThat(response.status()).as("%s", response).isEqualTo(200);
                assertThat(response.bodyText()).isEqualTo("ok");
                assertThat(response.header("X-Foo")).as("named by Connection").isNull();
                assertThat(response.header("Keep-Alive")).isNull();
                assertThat(response.header("Proxy-Connection")).isNull();
                assertThat(response.header("X-End-To-End")).isEqualTo("kept");
                String connection = response.header("Connection");
                assertThat(connection == null ? "" : connection.toLowerCase())
                        .as("the backend's Connection: close is about the backend's connection only")
                        .doesNotContain("close")
                        .doesNotContain("x-foo");
                assertThat(response.closed()).isFalse();
            }
        }
    }

    @Test
    void hopByHopRequestFieldsDoNotReachTheBackendHostPassesAndXForwardedForIsAppended() {
        ScriptedBackend recording = backend((request, connection) -> connection.write(ok("seen")));
        RoundhouseProxy proxy = proxy(recording.url());

        RawHttp.Response response = RawHttp.exchange(
                proxy.port(),
                "GET /request-fields?q=1&r=a%20b HTTP/1.1\r\n"
                        + "Host: shop.example:8080\r\n"
                        + "Connection: keep-alive, x-hop-one\r\nConnection: X-Hop-Two\r\n"
                        + "X-Hop-One: 1\r\nX-Hop-Two: 2\r\n"
                        + "Keep-Alive: timeout=5\r\nProxy-Connection: keep-alive\r\nTE: trailers\r\nTrailer: X-Sum\r\n"
                        + "Proxy-Authorization: Basic eDp5\r\n"
                        + "X-Forwarded-For: 203.0.113.9\r\nX-Forwarded-For: 198.51.100.7\r\n"
                        + "X-Forwarded-Proto: https\r\nX-Forwarded-Host: bank.example\r\nX-Forwarded-Port: 443\r\n"
                        + "X-Forwarded-Server: bank.example\r\n"
                        + "X-End-To-End: kept\r\nAuthorization: Bearer t\r\n\r\n");

        assertThat(response.status()).as("%s", response).isEqualTo(200);
        ScriptedBackend.Request seen = recording.requests.get(0);
        assertThat(seen.line()).isEqualTo("GET /request-fields?q=1&r=a%20b");
        Map<String, String> headers = seen.headers();
        assertThat(headers)
                .doesNotContainKeys(
                        "connection",
                        "x-hop-one",
                        "x-hop-two",
                        "keep-alive",
                        "proxy-connection",
                        "te",
                        "trailer",
                        "proxy-authorization");
        assertThat(headers.get("host")).isEqualTo("shop.example:8080");
        assertThat(headers.get("x-forwarded-for").replace(" ", "")).isEqualTo("203.0.113.9,198.51.100.7,127.0.0.1");
        assertThat(headers.get("x-forwarded-proto")).isEqualTo("http");
        assertThat(headers.get("x-forwarded-host"))
                .as("the client's Host as sent")
                .isEqualTo("shop.example:8080");
        assertThat(headers.get("x-forwarded-port"))
                .as("the port the client connected to")
                .isEqualTo(String.valueOf(proxy.port()));
        assertThat(headers).as("nothing undocumented").doesNotContainKey("x-forwarded-server");
        assertThat(headers.get("x-end-to-end")).isEqualTo("kept");
        assertThat(headers.get("authorization")).isEqualTo("Bearer t");
    }

    @Test
    void aRequestWithoutHostGetsTheBackendsAuthority() {
        ScriptedBackend recording = backend((request, connection) -> connection.write(ok("seen")));
        RoundhouseProxy proxy = proxy(recording.url());

        RawHttp.Response response = RawHttp.exchange(proxy.port(), "GET /no-host HTTP/1.0\r\n\r\n");

        assertThat(response.status()).as("%s", response).isEqualTo(200);
        ScriptedBackend.Request seen = recording.requests.get(0);
        assertThat(seen.headers().get("host"))
                .isEqualTo(URI.create(recording.url()).getAuthority());
        assertThat(seen.headers().get("x-forwarded-for")).isEqualTo("127.0.0.1");
    }

    // ---- Keep-alive connections to the backend --------------------------------------------------

    @Test
    void sequentialRequestsReuseOneBackendConnection() {
        ScriptedBackend counting = backend((request, connection) -> connection.write(ok(request.target())));
        RoundhouseProxy proxy = proxy(counting.url());

        try (RawHttp client = RawHttp.connect(proxy.port()).readTimeout(READ_TIMEOUT)) {
            for (int i = 0; i < 20; i++) {
                RawHttp.Response response = client.send(get("/seq-" + i)).readResponse();
                assertThat(response.status()).isEqualTo(200);
                assertThat(response.bodyText()).isEqualTo("/seq-" + i);
            }
        }
        assertThat(counting.requests).hasSize(20);
        assertThat(carriers).hasSize(20).containsOnly(carriers.get(0));
    }

    @Test
    void requestsOnFreshClientConnectionsOpenAtMostOneBackendConnectionPerIoThread() {
        ScriptedBackend counting = backend((request, connection) -> connection.write(ok("x")));
        RoundhouseProxy proxy = proxy(counting.url());

        for (int i = 0; i < 20; i++) {
            RawHttp.Response response = RawHttp.exchange(proxy.port(), get("/fresh-" + i));
            assertThat(response.status()).isEqualTo(200);
        }
        // The proxy runs one I/O thread per processor, each with its own pool.
        assertThat(counting.connections.size())
                .isBetween(1, Math.max(1, Runtime.getRuntime().availableProcessors()));
    }

    @Test
    void aBackendThatClosesEachConnectionAfterAKeepAliveResponseDoesNotFailTheNextRequest() {
        ScriptedBackend closing = backend(
                (request, connection) -> connection.write(ok(request.target())).close());
        RoundhouseProxy proxy = proxy(closing.url());

        try (RawHttp client = RawHttp.connect(proxy.port()).readTimeout(READ_TIMEOUT)) {
            for (int i = 0; i < 10; i++) {
                RawHttp.Response response = client.send(get("/then-close-" + i)).readResponse();
                assertThat(response.status()).as("request %d: %s", i, response).isEqualTo(200);
                assertThat(response.bodyText()).isEqualTo("/then-close-" + i);
            }
        }
        assertThat(carriers).hasSize(10).doesNotHaveDuplicates();
        assertThat(Scrape.errors(proxy, "upstream_reset", closing.url()))
                .as("an idle close is no failure")
                .isZero();
    }

    @Test
    void anIdleConnectionTheBackendClosesIsNoticedAndClosedBeforeTheNextRequest() {
        // A half-close: the backend's FIN, then it waits to see whether the proxy closes its end too.
        ScriptedBackend halfClosing = backend((request, connection) -> {
            connection.write(ok(request.target())).shutdownOutput();
            connection.hangUntilPeerCloses(Duration.ofSeconds(20));
        });
        RoundhouseProxy proxy = proxy(halfClosing.url());

        try (RawHttp client = RawHttp.connect(proxy.port()).readTimeout(READ_TIMEOUT)) {
            assertThat(client.send(get("/first")).readResponse().bodyText()).isEqualTo("/first");
            await("the proxy closes the idle connection on the backend's FIN")
                    .atMost(Duration.ofSeconds(5))
                    .until(() -> carriers.get(0).closedByPeer());

            RawHttp.Response second = client.send(get("/second")).readResponse();
            assertThat(second.status()).as("%s", second).isEqualTo(200);
            assertThat(second.bodyText()).isEqualTo("/second");
        }
        assertThat(carriers).hasSize(2).doesNotHaveDuplicates();
        assertThat(halfClosing.requestsStartingWith("GET /second")).isEqualTo(1);
        assertThat(Scrape.errors(proxy, "upstream_reset", halfClosing.url())).isZero();
    }

    /**
     * The race every keep-alive client meets: the backend closes an idle connection just as a request goes out on
     * it (its keep-alive timeout). Nothing was answered, the method is idempotent: a fresh connection must carry it.
     */
    @Test
    void aGetSentOnAKeepAliveConnectionTheBackendClosesUnansweredIsRetriedOnAFreshConnection() {
        Map<ScriptedBackend.Connection, Integer> served = new HashMap<>();
        ScriptedBackend racing = backend((request, connection) -> {
            int n;
            synchronized (served) {
                n = served.merge(connection, 1, Integer::sum);
            }
            if (n == 1) {
                connection.write(ok(request.target()));
            } else {
                connection.close(); // the second request on a connection meets its idle timeout
            }
        });
        RoundhouseProxy proxy = proxy(racing.url());

        try (RawHttp client = RawHttp.connect(proxy.port()).readTimeout(READ_TIMEOUT)) {
            for (int i = 0; i < 3; i++) {
                RawHttp.Response response = client.send(get("/race-" + i)).readResponse();
                assertThat(response.status()).as("request %d: %s", i, response).isEqualTo(200);
                assertThat(response.bodyText()).isEqualTo("/race-" + i);
            }
        }
        assertThat(racing.requestsStartingWith("GET /race-1"))
                .as("sent on the stale connection, then a fresh one")
                .isEqualTo(2);
        assertThat(proxy.pool()
                        .snapshot()
                        .backend(racing.url())
                        .breaker()
                        .getMetrics()
                        .getNumberOfFailedCalls())
                .as("a keep-alive race is not the backend failing")
                .isZero();
    }

    @Test
    void aBackendThatAnswersConnectionCloseGetsANewConnectionForTheNextRequest() {
        // The backend keeps its end open: only the proxy closing it makes the next request take a new one.
        ScriptedBackend closing = backend((request, connection) -> {
            connection.write("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok");
            connection.hangUntilPeerCloses(Duration.ofSeconds(20));
        });
        RoundhouseProxy proxy = proxy(closing.url());

        try (RawHttp client = RawHttp.connect(proxy.port()).readTimeout(READ_TIMEOUT)) {
            for (int i = 0; i < 3; i++) {
                RawHttp.Response response = client.send(get("/close-" + i)).readResponse();
                assertThat(response.status()).as("%s", response).isEqualTo(200);
                assertThat(response.bodyText()).isEqualTo("ok");
            }
        }
        assertThat(carriers).hasSize(3).doesNotHaveDuplicates();
        await("the proxy closed each of them")
                .atMost(Duration.ofSeconds(5))
                .until(() -> carriers.stream().allMatch(ScriptedBackend.Connection::closedByPeer));
    }

    @Test
    void anHttp10BackendConnectionIsNotReused() {
        ScriptedBackend old = backend((request, connection) -> {
            connection.write("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok");
            connection.hangUntilPeerCloses(Duration.ofSeconds(20));
        });
        RoundhouseProxy proxy = proxy(old.url());

        try (RawHttp client = RawHttp.connect(proxy.port()).readTimeout(READ_TIMEOUT)) {
            for (int i = 0; i < 2; i++) {
                RawHttp.Response response = client.send(get("/old-" + i)).readResponse();
                assertThat(response.status()).as("%s", response).isEqualTo(200);
            }
        }
        assertThat(carriers).hasSize(2).doesNotHaveDuplicates();
    }

    @Test
    void aBackendThatSendsMoreThanItsContentLengthDoesNotGetItsConnectionReused() {
        ScriptedBackend overlong = backend((request, connection) -> connection.write(
                "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nsmuggled"));
        RoundhouseProxy proxy = proxy(overlong.url());

        try (RawHttp client = RawHttp.connect(proxy.port()).readTimeout(READ_TIMEOUT)) {
            for (int i = 0; i < 2; i++) {
                RawHttp.Response response = client.send(get("/over-" + i)).readResponse();
                assertThat(response.status()).as("%s", response).isEqualTo(200);
                assertThat(response.bodyText())
                        .as("never the extra bytes as the next answer")
                        .isEqualTo("ok");
            }
        }
        assertThat(carriers).hasSize(2).doesNotHaveDuplicates();
    }

    // ---- Timeouts and failover ------------------------------------------------------------------

    @Test
    void aBackendThatNeverAnswersGets504AtTheRequestTimeoutAndItsConnectionIsClosed() {
        ScriptedBackend silent =
                backend((request, connection) -> connection.hangUntilPeerCloses(Duration.ofSeconds(20)));
        RoundhouseProxy proxy = proxy(silent.url(), "REQUEST_TIMEOUT", "500ms");

        long start = System.nanoTime();
        RawHttp.Response response = RawHttp.exchange(proxy.port(), get("/silent"));
        Duration took = Duration.ofNanos(System.nanoTime() - start);

        assertThat(response.status()).as("%s", response).isEqualTo(504);
        assertThat(response.bodyText()).contains("gateway timeout");
        assertThat(took).isBetween(Duration.ofMillis(450), Duration.ofMillis(2500));
        assertThat(Scrape.errors(proxy, "timeout", silent.url())).isEqualTo(1.0);
        assertThat(silent.requestsStartingWith("GET /silent"))
                .as("a timed-out request is not sent again")
                .isEqualTo(1);
        await().atMost(Duration.ofSeconds(5)).until(() -> carriers.get(0).closedByPeer());
    }

    @Test
    void aRefusedConnectionFailsOverToTheNextBackend() {
        TestBackend dead = closeables.add(transport.start("dead"));
        ScriptedBackend alive = backend((request, connection) -> connection.write(ok("alive")));
        RoundhouseProxy proxy = proxy(dead.url() + "," + alive.url());
        dead.stop(); // once the proxy holds its ports, so the freed one cannot be the proxy's

        for (int i = 0; i < 4; i++) {
            HttpResponse<String> response = ProxyFixture.get(proxy, "/failover-" + i);
            assertThat(response.statusCode()).isEqualTo(200);
            assertThat(response.body()).isEqualTo("alive");
        }
        assertThat(Scrape.errors(proxy, "connect", dead.url())).isGreaterThanOrEqualTo(1.0);
        assertThat(Scrape.errors(proxy, "upstream_reset", dead.url())).isZero();
    }

    @Test
    void aConnectThatHangsFailsOverToTheNextBackendAtTheConnectTimeout() throws Exception {
        String hanging = transport.url(closeables.add(BlackholeBackend.start()).port());
        ScriptedBackend alive = backend((request, connection) -> connection.write(ok("alive")));
        RoundhouseProxy proxy =
                proxy(hanging + "," + alive.url(), "CONNECT_TIMEOUT", "300ms", "REQUEST_TIMEOUT", "10s");

        long start = System.nanoTime();
        RawHttp.Response response = RawHttp.exchange(proxy.port(), get("/connect-timeout"));
        Duration took = Duration.ofNanos(System.nanoTime() - start);

        assertThat(response.status()).as("%s", response).isEqualTo(200);
        assertThat(response.bodyText()).isEqualTo("alive");
        assertThat(took)
                .as("failed over at the connect timeout")
                .isBetween(Duration.ofMillis(250), Duration.ofMillis(2500));
        assertThat(Scrape.errors(proxy, "connect", hanging)).isEqualTo(1.0);
    }

    // ---- One engine for every request ------------------------------------------------------------

    @Test
    void requestsWithAndWithoutABodyShareTheKeptAliveBackendConnection() {
        ScriptedBackend recording = backend((request, connection) ->
                connection.write(ok(request.method() + " " + new String(request.body(), StandardCharsets.UTF_8))));
        RoundhouseProxy proxy = proxy(recording.url());

        try (RawHttp client = RawHttp.connect(proxy.port()).readTimeout(READ_TIMEOUT)) {
            assertThat(client.send(get("/a")).readResponse().bodyText()).isEqualTo("GET ");
            assertThat(client.send("POST /b HTTP/1.1\r\nHost: localhost\r\nContent-Length: 7\r\n\r\n{\"x\":1}")
                            .readResponse()
                            .bodyText())
                    .isEqualTo("POST {\"x\":1}");
            assertThat(client.send("POST /c HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n")
                            .readResponse()
                            .bodyText())
                    .isEqualTo("POST ");
            assertThat(client.send(get("/d")).readResponse().bodyText()).isEqualTo("GET ");
        }
        assertThat(recording.requests)
                .extracting(ScriptedBackend.Request::line)
                .containsExactly("GET /a", "POST /b", "POST /c", "GET /d");
        assertThat(carriers).as("one engine, one connection pool").hasSize(4).containsOnly(carriers.get(0));
        HttpResponse<String> viaClient = Http.send(HttpRequest.newBuilder(URI.create(ProxyFixture.url(proxy, "/e")))
                .timeout(READ_TIMEOUT)
                .PUT(HttpRequest.BodyPublishers.ofString("put"))
                .build());
        assertThat(viaClient.body()).isEqualTo("PUT put");
    }
}
