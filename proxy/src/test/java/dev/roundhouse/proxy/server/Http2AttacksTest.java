package dev.roundhouse.proxy.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.roundhouse.proxy.RoundhouseProxy;
import dev.roundhouse.proxy.codec.Http2FrameScanner;
import dev.roundhouse.proxy.codec.HttpLimits;
import dev.roundhouse.proxy.testing.Closeables;
import dev.roundhouse.proxy.testing.Http2Frames;
import dev.roundhouse.proxy.testing.IdleAfterwards;
import dev.roundhouse.proxy.testing.ProxyFixture;
import dev.roundhouse.testing.TestBackend;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The known attacks on HTTP/2 servers, each sent by a client of its own at the frame level: the proxy limits the
 * client as Envoy and nginx do (the connection closed, or the stream refused), its backend does not pay for it, and
 * the next client is served as usual.
 */
class Http2AttacksTest {

    private static final Duration WAIT = Duration.ofSeconds(10);
    private static final int SETTINGS_MAX_CONCURRENT_STREAMS = 0x3;
    private static final int SETTINGS_MAX_HEADER_LIST_SIZE = 0x6;
    private static final int ENHANCE_YOUR_CALM = 0xb;
    private static final int PROTOCOL_ERROR = 0x1;

    @RegisterExtension
    final Closeables closeables = new Closeables();

    private TestBackend backend;
    private RoundhouseProxy proxy;

    @RegisterExtension
    static final IdleAfterwards idle = new IdleAfterwards();

    @BeforeEach
    void start() {
        backend = closeables.add(TestBackend.start("backend"));
        proxy = ProxyFixture.start(ProxyFixture.env("BACKENDS", backend.url(), "HEALTH_CHECK_PATH", "/health"));
    }

    /** After each attack, a well-behaved client on a new connection is answered. */
    @AfterEach
    void theNextClientIsServed(TestInfo test) throws IOException {
        try (Http2Frames h2 = Http2Frames.connect(proxy.port())) {
            h2.request(1, true, "/after");
            Http2Frames.Frame data = h2.await(Http2Frames.DATA, 1, WAIT);
            assertThat(data).as("the next client's answer").isNotNull();
            assertThat(new String(data.payload(), StandardCharsets.US_ASCII)).isEqualTo("backend");
        } finally {
            idle.handOver(proxy, test.getDisplayName());
        }
        assertThat(backend.seen).extracting(TestBackend.Seen::uri).contains("/after");
    }

    @Test
    void theLimitsAreAnnounced() throws IOException {
        try (Http2Frames h2 = Http2Frames.connect(proxy.port())) {
            Http2Frames.Frame settings = h2.await(Http2Frames.SETTINGS, 0, WAIT);
            assertThat(settings.setting(SETTINGS_MAX_CONCURRENT_STREAMS)).isEqualTo(HttpLimits.MAX_CONCURRENT_STREAMS);
            assertThat(settings.setting(SETTINGS_MAX_HEADER_LIST_SIZE))
                    .isEqualTo(HttpLimits.MAX_HTTP2_HEADER_LIST_BYTES);
        }
    }

    /** CVE-2023-44487: streams opened and reset at once, each costing the server a request's work. */
    @Test
    void rapidResetClosesTheConnectionAfterItsLimit() throws IOException {
        int attempts = 1000;
        try (Http2Frames h2 = Http2Frames.connect(proxy.port())) {
            try {
                for (int i = 0; i < attempts; i++) {
                    h2.request(1 + 2 * i, true, "/reset");
                    h2.send(Http2Frames.RST_STREAM, 0, 1 + 2 * i, Http2Frames.errorPayload(Http2Frames.CANCEL));
                }
            } catch (IOException closedUnderUs) {
                // the proxy closed the connection while the attack went on
            }
            Http2Frames.Frame goAway = h2.await(Http2Frames.GOAWAY, 0, WAIT);
            assertThat(h2.closedWithin(WAIT)).as("closed").isTrue();
            // The GOAWAY goes out before the close, but a client still writing when the connection closes may lose
            // it to the reset that follows (the kernel drops what it had not read): when it arrived, it says why.
            if (goAway != null) {
                assertThat(goAway.errorCode()).as("ENHANCE_YOUR_CALM").isEqualTo(ENHANCE_YOUR_CALM);
            }
        }
        assertThat(backend.requests())
                .as("requests that reached the backend")
                .isLessThanOrEqualTo(HttpLimits.MAX_RESETS_PER_WINDOW + HttpLimits.MAX_CONCURRENT_STREAMS);
    }

    /** A stream over the connection's limit is refused (not processed, safe to retry); the others are served. */
    @Test
    void aStreamOverTheConcurrentLimitIsRefused() throws IOException {
        int limit = HttpLimits.MAX_CONCURRENT_STREAMS;
        try (Http2Frames h2 = Http2Frames.connect(proxy.port())) {
            for (int i = 0; i <= limit; i++) {
                h2.request(1 + 2 * i, true, "/slow?ms=1000");
            }
            int over = 1 + 2 * limit;
            Http2Frames.Frame reset = h2.await(Http2Frames.RST_STREAM, over, WAIT);
            assertThat(reset).as("RST_STREAM on stream %d", over).isNotNull();
            assertThat(reset.errorCode()).as("REFUSED_STREAM").isEqualTo(Http2Frames.REFUSED_STREAM);
            // Every stream within the limit is answered, in whatever order the backend gets to them: the proxy sends
            // them on at once, each on a connection of its own.
            for (int i = 0; i < limit; i++) {
                assertThat(h2.await(Http2Frames.DATA, 1 + 2 * i, Duration.ofSeconds(30)))
                        .as("stream %d within the limit answered", 1 + 2 * i)
                        .isNotNull();
            }
        }
        assertThat(backend.requests()).isEqualTo(limit);
    }

    /** A header block that never ends, in CONTINUATION frames, large ones or empty ones (CVE-2024-27316 and kin). */
    @Test
    void aContinuationFloodClosesTheConnection() throws IOException {
        ByteArrayOutputStream field = new ByteArrayOutputStream();
        Http2Frames.literal(field, "x-flood", "a".repeat(8000));
        try (Http2Frames h2 = Http2Frames.connect(proxy.port())) {
            h2.send(Http2Frames.HEADERS, Http2Frames.END_STREAM, 1, Http2Frames.requestBlock("GET", "/flood-large"));
            floodUntilClosed(h2, () -> h2.send(Http2Frames.CONTINUATION, 0, 1, field.toByteArray()));
        }
        try (Http2Frames h2 = Http2Frames.connect(proxy.port())) {
            h2.send(Http2Frames.HEADERS, Http2Frames.END_STREAM, 1, Http2Frames.requestBlock("GET", "/flood-empty"));
            floodUntilClosed(h2, () -> h2.send(Http2Frames.CONTINUATION, 0, 1, new byte[0]));
        }
        assertThat(backend.seen).as("requests that reached the backend").isEmpty();
    }

    /** SETTINGS and PING frames each demand an answer; a client that sends them without end is closed. */
    @Test
    void aSettingsOrPingFloodClosesTheConnection() throws IOException {
        try (Http2Frames h2 = Http2Frames.connect(proxy.port())) {
            floodUntilClosed(h2, () -> h2.send(Http2Frames.SETTINGS, 0, 0, new byte[0]));
        }
        try (Http2Frames h2 = Http2Frames.connect(proxy.port())) {
            floodUntilClosed(h2, () -> h2.send(Http2Frames.PING, 0, 0, new byte[8]));
        }
    }

    /** A small header block that decodes to a huge header list through the HPACK dynamic table. */
    @Test
    void anHpackBombClosesTheConnection() throws IOException {
        ByteArrayOutputStream block = new ByteArrayOutputStream();
        block.writeBytes(Http2Frames.requestBlock("GET", "/bomb"));
        Http2Frames.indexedLiteral(block, "x-bomb", "b".repeat(4000));
        for (int i = 0; i < 10_000; i++) {
            Http2Frames.indexed(block, 62); // 1 byte each, 4 KB decoded each: 40 MB in all
        }
        try (Http2Frames h2 = Http2Frames.connect(proxy.port())) {
            byte[] bytes = block.toByteArray();
            assertThat(bytes.length).isLessThan(16_384); // one frame of the default size
            h2.send(Http2Frames.HEADERS, Http2Frames.END_STREAM | Http2Frames.END_HEADERS, 1, bytes);
            Http2Frames.Frame goAway = h2.await(Http2Frames.GOAWAY, 0, WAIT);
            assertThat(goAway).as("GOAWAY").isNotNull();
            assertThat(goAway.errorCode()).as("PROTOCOL_ERROR").isEqualTo(PROTOCOL_ERROR);
            assertThat(h2.closedWithin(WAIT)).isTrue();
        }
        assertThat(backend.requests()).isZero();
    }

    /** A client that never opens its flow-control window gets no more than the window, whatever the backend sends. */
    @Test
    void aClientThatReadsNothingGetsOnlyItsWindow() throws IOException {
        try (Http2Frames h2 = Http2Frames.connect(proxy.port())) {
            h2.request(1, true, "/download?bytes=10000000");
            long received = 0;
            Instant until = Instant.now().plusSeconds(3);
            while (Instant.now().isBefore(until)) {
                Http2Frames.Frame frame = h2.await(Http2Frames.DATA, 1, Duration.between(Instant.now(), until));
                if (frame != null) {
                    received += frame.payload().length;
                }
            }
            assertThat(received).as("DATA bytes without a WINDOW_UPDATE").isLessThanOrEqualTo(65_535);
            assertThat(h2.closed()).isFalse();
        }
    }

    /** Bytes that are no frames after the preface: a protocol error, the connection closed. */
    @Test
    void garbageAfterThePrefaceClosesTheConnection() throws IOException {
        try (Http2Frames h2 = Http2Frames.connect(proxy.port())) {
            h2.send(0x42, 0xff, 1 << 30, "not a frame at all".repeat(50).getBytes(StandardCharsets.US_ASCII));
            h2.send(Http2Frames.HEADERS, 0xff, 2, new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff});
            assertThat(h2.closedWithin(WAIT)).isTrue();
        }
        assertThat(backend.seen).isEmpty();
    }

    /** An HTTP/2 connection with no stream in flight is closed after the keep-alive timeout, as HTTP/1.1's is. */
    @Test
    void anIdleConnectionIsClosedAfterTheKeepAliveTimeout() throws IOException {
        RoundhouseProxy shortLived = closeables.add(ProxyFixture.start(ProxyFixture.env(
                "BACKENDS", backend.url(), "HEALTH_CHECK_PATH", "/health", "KEEP_ALIVE_TIMEOUT", "1s")));
        try (Http2Frames h2 = Http2Frames.connect(shortLived.port())) {
            h2.request(1, true, "/once");
            assertThat(h2.await(Http2Frames.DATA, 1, WAIT)).isNotNull();
            assertThat(h2.closedWithin(WAIT)).as("closed within %s", WAIT).isTrue();
        }
    }

    private interface Send {
        void frame() throws IOException;
    }

    /** Sends frames until the proxy closes the connection, at most a bounded number, and asserts that it did. */
    private static void floodUntilClosed(Http2Frames h2, Send send) throws IOException {
        int sent = 0;
        try {
            for (; sent < 100 * Http2FrameScanner.MAX_CONTROL_FRAMES; sent++) {
                send.frame();
            }
        } catch (IOException closedUnderUs) {
            // expected: the proxy closed the connection
        }
        assertThat(h2.closedWithin(WAIT))
                .as("closed after %d frames sent", sent)
                .isTrue();
    }
}
