package dev.roundhouse.proxy.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import dev.roundhouse.proxy.RoundhouseProxy;
import dev.roundhouse.proxy.testing.Closeables;
import dev.roundhouse.proxy.testing.Http2Frames;
import dev.roundhouse.proxy.testing.ProxyFixture;
import dev.roundhouse.proxy.testing.ScriptedBackend;
import dev.roundhouse.proxy.testing.Transport;
import dev.roundhouse.testing.RawHttp;
import dev.roundhouse.testing.TestBackend;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Every response the proxy sends is counted once in {@code roundhouse_requests_total}, with the status the client
 * got and {@code backend="none"} when no backend was involved: one request of each kind, and the counters' deltas
 * compared with what the clients received. (The 503s, the redirect to HTTPS and the answers before any pool is
 * loaded, which do not depend on how backends are reached: {@link ProxyAnswersCountedTest}.)
 */
@ParameterizedClass(name = "over {0}")
@EnumSource(Transport.class)
class EveryResponseCountedTest {

    @Parameter
    Transport transport;

    /** Short, so that a backend that never answers and a body that never arrives end the test quickly. */
    private static final Duration REQUEST_TIMEOUT = Duration.ofMillis(1500);

    private static final Duration WAIT = Duration.ofSeconds(10);

    @RegisterExtension
    final Closeables closeables = new Closeables();

    /** One request, raw, the status it gets, and whether its backend (else the proxy) is charged with it. */
    private record Case(String name, String request, int status, boolean viaBackend) {}

    @Test
    void everyResponseIsCountedOnceWithTheStatusTheClientGot() throws IOException {
        TestBackend backend = closeables.add(transport.start("counted"));
        RoundhouseProxy proxy = closeables.add(ProxyFixture.start(transport.trusting(ProxyFixture.env(
                "BACKENDS", backend.url(), "HEALTH_CHECK_PATH", "/health", "MAX_REQUEST_BODY", "16"))));
        String tooManyFields = "X-F: 1\r\n".repeat(200);
        List<Case> cases = List.of(
                new Case("served", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 200, true),
                new Case("HEAD", "HEAD / HTTP/1.1\r\nHost: x\r\n\r\n", 200, true),
                new Case(
                        "POST with a body", "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi", 200, true),
                new Case("CONNECT", "CONNECT x.example:443 HTTP/1.1\r\nHost: x.example:443\r\n\r\n", 405, false),
                new Case(
                        "a field line without a colon",
                        "GET / HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n",
                        400,
                        false),
                new Case(
                        "two Content-Lengths",
                        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n" + "Content-Length: 2\r\n\r\nab",
                        400,
                        false),
                new Case(
                        "Content-Length and Transfer-Encoding",
                        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
                                + "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                        400,
                        false),
                new Case(
                        "too many header fields", "GET / HTTP/1.1\r\nHost: x\r\n" + tooManyFields + "\r\n", 431, false),
                new Case(
                        "a header field too large",
                        "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + "a".repeat(70_000) + "\r\n\r\n",
                        431,
                        false),
                // Requests only ever go to pool backends, whatever the target names.
                new Case(
                        "absolute form naming another host",
                        "GET http://elsewhere.example/ HTTP/1.1\r\n" + "Host: x\r\n\r\n",
                        200,
                        true),
                new Case(
                        "request line too long",
                        "GET /" + "a".repeat(70_000) + " HTTP/1.1\r\nHost: x\r\n\r\n",
                        414,
                        false),
                new Case("unsupported HTTP version", "GET / HTTP/2.7\r\nHost: x\r\n\r\n", 505, false),
                new Case("unknown expectation", "GET / HTTP/1.1\r\nHost: x\r\nExpect: teapot\r\n\r\n", 417, false),
                new Case(
                        "body over MAX_REQUEST_BODY",
                        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n" + "x".repeat(100),
                        413,
                        false),
                new Case(
                        "malformed chunked body",
                        "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                                + "\r\nzz\r\nhi\r\n0\r\n\r\n",
                        400,
                        false),
                new Case(
                        "chunked body over MAX_REQUEST_BODY",
                        "POST /echo HTTP/1.1\r\nHost: x\r\n" + "Transfer-Encoding: chunked\r\n\r\n40\r\n"
                                + "y".repeat(64) + "\r\n0\r\n\r\n",
                        413,
                        false));

        CountedAnswers counted = CountedAnswers.of(proxy);
        for (Case c : cases) {
            RawHttp.Response response = RawHttp.exchange(proxy.port(), c.request());
            assertThat(response.status()).as("%s: %s", c.name(), response).isEqualTo(c.status());
            String method = c.request().substring(0, c.request().indexOf(' '));
            counted.got(c.name(), c.viaBackend() ? backend.url() : "none", method, response.status());
        }
        // A chunked body cut short: the client gives up sending, and gets an answer or a closed connection. The
        // request went out with the first bytes of its body, so the answer is the proxy's refusal (400) or, when the
        // backend answered before the body ended, the backend's (200): each is counted as whose it is.
        try (RawHttp client = RawHttp.connect(proxy.port())) {
            RawHttp.Response response = client.send(
                            "POST /echo HTTP/1.1\r\nHost: x\r\n" + "Transfer-Encoding: chunked\r\n\r\n10\r\nonly-half")
                    .shutdownOutput()
                    .readResponse();
            if (response.answered()) {
                String answeredBy = response.status() == 200 ? backend.url() : "none";
                counted.got("chunked body cut short", answeredBy, "POST", response.status());
            } else {
                counted.noted("chunked body cut short -> closed");
            }
        }
        // HTTP/2 clients (h2c with prior knowledge): a stream answered by the backend, and one the proxy refuses.
        int served = http2Status(proxy, Http2Frames.requestBlock("GET", "/over-h2"));
        assertThat(served).as("an HTTP/2 request the backend answers").isEqualTo(200);
        counted.got("HTTP/2 request", backend.url(), "GET", served);
        int refused = http2Status(proxy, Http2Frames.requestBlock("GET", "/over-h2", "x-a", "a\r\nx-b: b"));
        assertThat(refused).as("an HTTP/2 request with CR LF in a field value").isEqualTo(400);
        counted.got("HTTP/2 request with CR LF in a field value", "none", "GET", refused);

        counted.awaitCountedOnce();
    }

    @Test
    void aBackendsAnswersFailuresAndTimeoutsAreCountedAgainstItAndASlowBodyAgainstNone() {
        ScriptedBackend backend = closeables.add(transport.scripted((request, connection) -> {
            switch (request.target()) {
                case "/error" ->
                    connection.write("HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\n\r\noops");
                case "/close" -> connection.close();
                case "/garbage" -> connection.write("this is not HTTP\r\n\r\n").close();
                case "/hang", "/slow-body" -> connection.hangUntilPeerCloses(Duration.ofSeconds(30));
                default -> connection.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
            }
        }));
        RoundhouseProxy proxy = closeables.add(ProxyFixture.start(transport.trusting(ProxyFixture.env(
                "BACKENDS",
                backend.url(),
                "HEALTH_CHECK_PATH",
                "/health",
                "REQUEST_TIMEOUT",
                REQUEST_TIMEOUT.toMillis() + "ms"))));
        CountedAnswers counted = CountedAnswers.of(proxy);

        answered(counted, "a backend's 200", "GET /ok", backend.url(), 200);
        answered(counted, "a backend's own 500, passed through", "GET /error", backend.url(), 500);
        answered(counted, "a backend that closes without answering", "GET /close", backend.url(), 502);
        answered(counted, "a backend that answers garbage", "POST /garbage", backend.url(), 502);
        answered(counted, "a backend that never answers", "GET /hang", backend.url(), 504);
        counted.bodyThatNeverArrives("/slow-body");

        counted.awaitCountedOnce();
    }

    private static void answered(CountedAnswers counted, String what, String line, String backend, int status) {
        boolean post = line.startsWith("POST ");
        counted.exchange(
                what,
                line + " HTTP/1.1\r\nHost: x\r\n" + (post ? "Content-Length: 2\r\n\r\nhi" : "\r\n"),
                backend,
                status);
    }

    /**
     * Sends one request on stream 1 of a new h2c connection (prior knowledge) and reads its answer to the end: the
     * {@code :status} the client got.
     */
    private static int http2Status(RoundhouseProxy proxy, byte[] requestBlock) throws IOException {
        try (Http2Frames h2 = Http2Frames.connect(proxy.port())) {
            h2.send(Http2Frames.HEADERS, Http2Frames.END_HEADERS | Http2Frames.END_STREAM, 1, requestBlock);
            Http2Frames.Frame head = h2.await(Http2Frames.HEADERS, 1, WAIT);
            assertThat(head).as("an answer on the stream").isNotNull();
            int status = status(head.payload());
            Instant deadline = Instant.now().plus(WAIT);
            for (Http2Frames.Frame last = head; (last.flags() & Http2Frames.END_STREAM) == 0; ) {
                last = h2.await(Http2Frames.DATA, 1, Duration.between(Instant.now(), deadline));
                if (last == null) {
                    throw new AssertionError("the answer on stream 1 did not end within " + WAIT);
                }
            }
            return status;
        }
    }

    /** The {@code :status} at the head of a response's header block: an indexed field of HPACK's static table. */
    private static int status(byte[] block) {
        int first = block[0] & 0xff;
        assertThat(first & 0x80)
                .as("an indexed :status field first (byte 0x%02x)", first)
                .isNotZero();
        return switch (first & 0x7f) {
            case 8 -> 200;
            case 9 -> 204;
            case 10 -> 206;
            case 11 -> 304;
            case 12 -> 400;
            case 13 -> 404;
            case 14 -> 500;
            default -> throw new AssertionError("not a :status field: index " + (first & 0x7f));
        };
    }
}
