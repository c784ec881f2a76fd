package dev.roundhouse.proxy.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.roundhouse.proxy.RoundhouseProxy;
import dev.roundhouse.proxy.testing.Closeables;
import dev.roundhouse.proxy.testing.Http2Frames;
import dev.roundhouse.proxy.testing.IdleAfterwards;
import dev.roundhouse.proxy.testing.ProxyFixture;
import dev.roundhouse.testing.RawHttp.RecordingBackend;
import dev.roundhouse.testing.TestBackend;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * An HTTP/2 client's request goes on to an HTTP/1.1 backend as a head of text and a body framed by Content-Length:
 * whatever HTTP/2 itself does not rule out must not turn into something else on that hop (RFC 9113 section 8.2.1,
 * 8.1.1). A {@code content-length} that disagrees with the DATA sent resets the stream, CR, LF or NUL in a field, a
 * name or the path is answered 400, and nothing of either reaches the backend as a request; request trailers never
 * carry fields a backend would act on.
 */
class Http2DowngradeTest {

    private static final Duration WAIT = Duration.ofSeconds(10);
    /** {@code :status 400}, as an indexed field of HPACK's static table (RFC 7541 appendix A, index 12). */
    private static final int STATUS_400 = 0x80 | 12;

    private static final int PROTOCOL_ERROR = 0x1;

    @RegisterExtension
    final Closeables closeables = new Closeables();

    @RegisterExtension
    static final IdleAfterwards idle = new IdleAfterwards();

    private record Setup(RecordingBackend backend, RoundhouseProxy proxy) {}

    private Setup recording() {
        RecordingBackend backend = closeables.add(RecordingBackend.start());
        RoundhouseProxy proxy = idle.track(
                ProxyFixture.start(ProxyFixture.env("BACKENDS", backend.url(), "HEALTH_CHECK_PATH", "/health")));
        return new Setup(backend, proxy);
    }

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    /** The stream is answered 400, and nothing of it reaches the backend as a request of its own. */
    private static void refused(Http2Frames h2, RecordingBackend backend) throws IOException {
        Http2Frames.Frame head = h2.await(Http2Frames.HEADERS, 1, WAIT);
        assertThat(head).as("an answer on the stream").isNotNull();
        assertThat(head.payload()[0] & 0xff)
                .as("the answer's :status is 400: %s", head)
                .isEqualTo(STATUS_400);
        nothingReached(backend);
    }

    /**
     * A malformed message, refused as RFC 9113 section 8.1.1 has it: the stream reset with PROTOCOL_ERROR, and
     * nothing of it reaches the backend as a request of its own.
     */
    private static void reset(Http2Frames h2, RecordingBackend backend) throws IOException {
        Http2Frames.Frame reset = h2.await(Http2Frames.RST_STREAM, 1, WAIT);
        assertThat(reset).as("the stream reset").isNotNull();
        assertThat(reset.errorCode()).as("PROTOCOL_ERROR").isEqualTo(PROTOCOL_ERROR);
        nothingReached(backend);
    }

    private static void nothingReached(RecordingBackend backend) {
        await().during(Duration.ofMillis(300))
                .atMost(Duration.ofSeconds(3))
                .untilAsserted(() -> assertThat(backend.received())
                        .as("what reached the backend")
                        .noneMatch(RecordingBackend.Received::complete)
                        .noneMatch(r -> r.target().equals("/smuggled")));
    }

    /** Opens stream 1 with a POST that declares {@code length} bytes of content, DATA to follow. */
    private static void postWithLength(Http2Frames h2, int length) throws IOException {
        h2.send(
                Http2Frames.HEADERS,
                Http2Frames.END_HEADERS,
                1,
                Http2Frames.requestBlock("POST", "/cl", "content-length", Integer.toString(length)));
    }

    private static final String SMUGGLED = "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n";

    @Test
    void dataBeyondTheContentLengthResetsTheStreamAndIsNeverReadAsARequest() throws IOException {
        Setup s = recording();
        try (Http2Frames h2 = Http2Frames.connect(s.proxy().port())) {
            postWithLength(h2, 5);
            h2.send(Http2Frames.DATA, Http2Frames.END_STREAM, 1, ascii("hello" + SMUGGLED));
            reset(h2, s.backend());
        }
    }

    @Test
    void dataBeyondTheContentLengthInALaterFrameLeavesTheBackendAnIncompleteRequest() throws IOException {
        Setup s = recording();
        try (Http2Frames h2 = Http2Frames.connect(s.proxy().port())) {
            postWithLength(h2, 5);
            h2.send(Http2Frames.DATA, 0, 1, ascii("hello"));
            await().atMost(WAIT)
                    .untilAsserted(() -> assertThat(s.backend().started()).isNotEmpty());
            h2.send(Http2Frames.DATA, Http2Frames.END_STREAM, 1, ascii(SMUGGLED));
            reset(h2, s.backend());
        }
    }

    @Test
    void dataShorterThanTheContentLengthResetsTheStream() throws IOException {
        Setup s = recording();
        try (Http2Frames h2 = Http2Frames.connect(s.proxy().port())) {
            postWithLength(h2, 10);
            h2.send(Http2Frames.DATA, Http2Frames.END_STREAM, 1, ascii("hello"));
            reset(h2, s.backend());
        }
    }

    @Test
    void dataThatMatchesTheContentLengthIsForwarded() throws IOException {
        Setup s = recording();
        try (Http2Frames h2 = Http2Frames.connect(s.proxy().port())) {
            postWithLength(h2, 10);
            h2.send(Http2Frames.DATA, 0, 1, ascii("hello"));
            h2.send(Http2Frames.DATA, Http2Frames.END_STREAM, 1, ascii("world"));
            assertThat(h2.await(Http2Frames.DATA, 1, WAIT))
                    .as("the backend's answer")
                    .isNotNull();
            assertThat(s.backend().received())
                    .singleElement()
                    .satisfies(r -> assertThat(r.bodyText()).isEqualTo("helloworld"));
        }
    }

    @Test
    void crLfOrNulInAFieldValueIsRefused() throws IOException {
        for (String value : new String[] {"a\r\nTransfer-Encoding: chunked", "a\nb", "a\rb", "a\0b"}) {
            Setup s = recording();
            try (Http2Frames h2 = Http2Frames.connect(s.proxy().port())) {
                h2.send(
                        Http2Frames.HEADERS,
                        Http2Frames.END_HEADERS | Http2Frames.END_STREAM,
                        1,
                        Http2Frames.requestBlock("GET", "/smuggled", "x-a", value));
                refused(h2, s.backend());
            }
        }
    }

    @Test
    void transferEncodingATeOtherThanTrailersAContentLengthNotDigitsOrAUserinfoAuthorityIsRefused() throws IOException {
        String[][] cases = {
            {"transfer-encoding", "chunked"},
            {"te", "gzip"},
            {":authority", "good.example@evil.example"},
            {"content-length", "-1"},
            {"content-length", "+5"},
            {"content-length", "5, 5"}
        };
        for (String[] field : cases) {
            Setup s = recording();
            try (Http2Frames h2 = Http2Frames.connect(s.proxy().port())) {
                ByteArrayOutputStream block = new ByteArrayOutputStream();
                Http2Frames.literal(block, ":method", "GET");
                Http2Frames.literal(block, ":scheme", "http");
                Http2Frames.literal(block, ":path", "/smuggled");
                Http2Frames.literal(block, ":authority", field[0].equals(":authority") ? field[1] : "localhost");
                if (!field[0].equals(":authority")) {
                    Http2Frames.literal(block, field[0], field[1]);
                }
                h2.send(Http2Frames.HEADERS, Http2Frames.END_HEADERS | Http2Frames.END_STREAM, 1, block.toByteArray());
                Http2Frames.Frame answer = h2.await(Http2Frames.HEADERS, 1, Duration.ofSeconds(3));
                if (answer != null) {
                    assertThat(answer.payload()[0] & 0xff).as(field[0]).isEqualTo(STATUS_400);
                }
                await().during(Duration.ofMillis(300))
                        .atMost(Duration.ofSeconds(3))
                        .untilAsserted(() ->
                                assertThat(s.backend().started()).as(field[0]).isEmpty());
            }
        }
    }

    @Test
    void aFieldNameHttp2DoesNotAllowIsRefused() throws IOException {
        for (String name : new String[] {"X-Upper", "x a", "x-a\r\nx-b"}) {
            Setup s = recording();
            try (Http2Frames h2 = Http2Frames.connect(s.proxy().port())) {
                h2.send(
                        Http2Frames.HEADERS,
                        Http2Frames.END_HEADERS | Http2Frames.END_STREAM,
                        1,
                        Http2Frames.requestBlock("GET", "/smuggled", name, "v"));
                Http2Frames.Frame answer = h2.await(Http2Frames.HEADERS, 1, Duration.ofSeconds(3));
                if (answer == null) {
                    // refused below HTTP: the stream reset or the connection closed, which is as good
                    assertThat(s.backend().started()).as(name).isEmpty();
                    continue;
                }
                assertThat(answer.payload()[0] & 0xff).as(name).isEqualTo(STATUS_400);
                assertThat(s.backend().started()).as(name).isEmpty();
            }
        }
    }

    @Test
    void aPathThatWouldBreakTheRequestLineIsRefused() throws IOException {
        for (String path : new String[] {"/smuggled HTTP/1.1\r\nX-Injected: 1\r\n\r\nGET /x", "/a b", "/a\0"}) {
            Setup s = recording();
            try (Http2Frames h2 = Http2Frames.connect(s.proxy().port())) {
                h2.send(
                        Http2Frames.HEADERS,
                        Http2Frames.END_HEADERS | Http2Frames.END_STREAM,
                        1,
                        Http2Frames.requestBlock("GET", path));
                Http2Frames.Frame answer = h2.await(Http2Frames.HEADERS, 1, Duration.ofSeconds(3));
                if (answer != null) {
                    assertThat(answer.payload()[0] & 0xff).as(path).isEqualTo(STATUS_400);
                }
                await().during(Duration.ofMillis(300))
                        .atMost(Duration.ofSeconds(3))
                        .untilAsserted(
                                () -> assertThat(s.backend().started()).as(path).isEmpty());
            }
        }
    }

    /**
     * Request trailers reach an HTTP/2 backend (gRPC and checksums use them), but never fields that must be known
     * before the content (RFC 9110 section 6.5.1): framing, routing, authentication, controls.
     */
    @Test
    void requestTrailersToAnHttp2BackendNeverCarryFieldsThatBelongInTheHead() throws IOException {
        TestBackend backend = closeables.add(TestBackend.startHttp2("t", null));
        RoundhouseProxy proxy = idle.track(ProxyFixture.start(
                ProxyFixture.env("BACKENDS", backend.url() + ";protocol=h2c", "HEALTH_CHECK_PATH", "/health")));
        try (Http2Frames h2 = Http2Frames.connect(proxy.port())) {
            h2.send(
                    Http2Frames.HEADERS,
                    Http2Frames.END_HEADERS,
                    1,
                    Http2Frames.requestBlock("POST", "/trailers", "te", "trailers"));
            h2.send(Http2Frames.DATA, 0, 1, ascii("0123456789"));
            ByteArrayOutputStream trailer = new ByteArrayOutputStream();
            Http2Frames.literal(trailer, "x-checksum", "c0ffee");
            Http2Frames.literal(trailer, "content-length", "99");
            Http2Frames.literal(trailer, "host", "evil.example");
            Http2Frames.literal(trailer, "authorization", "Bearer stolen");
            Http2Frames.literal(trailer, "cookie", "session=1");
            Http2Frames.literal(trailer, "content-type", "text/evil");
            Http2Frames.literal(trailer, "x-forwarded-for", "10.0.0.1");
            h2.send(Http2Frames.HEADERS, Http2Frames.END_HEADERS | Http2Frames.END_STREAM, 1, trailer.toByteArray());

            Http2Frames.Frame data = h2.await(Http2Frames.DATA, 1, WAIT);
            assertThat(data).isNotNull();
            assertThat(new String(data.payload(), StandardCharsets.US_ASCII)).isEqualTo("t c0ffee 10");
        }
        assertThat(backend.lastRequestTrailerNames).containsExactly("x-checksum");
    }
}
