package dev.roundhouse.proxy.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.roundhouse.proxy.RoundhouseProxy;
import dev.roundhouse.proxy.testing.Closeables;
import dev.roundhouse.proxy.testing.Http2Frames;
import dev.roundhouse.proxy.testing.LogCapture;
import dev.roundhouse.proxy.testing.ProxyFixture;
import dev.roundhouse.testing.RawHttp.RecordingBackend;
import java.io.IOException;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Some malformed HTTP/2 header blocks (a field name with CR LF, a {@code content-length} list) fail inside Undertow's
 * HTTP/2 parser, which logs "UT005090: Unexpected failure" at ERROR with a 25-line stack trace and closes the
 * connection. The client is refused either way; what must not happen is that any client can write stack traces into
 * the proxy's log as fast as it can open connections. The message stays, at most one in 10 s, as the proxy's own
 * rate-limited messages.
 */
class MalformedHttp2LogTest {

    private static final int CONNECTIONS = 12;

    @RegisterExtension
    final Closeables closeables = new Closeables();

    @Test
    void aClientRepeatingAMalformedHeaderBlockCannotFloodTheLog() throws IOException {
        RecordingBackend backend = closeables.add(RecordingBackend.start());
        RoundhouseProxy proxy = closeables.add(
                ProxyFixture.start(ProxyFixture.env("BACKENDS", backend.url(), "HEALTH_CHECK_PATH", "/health")));
        try (LogCapture log = LogCapture.all()) {
            for (int i = 0; i < CONNECTIONS; i++) {
                try (Http2Frames h2 = Http2Frames.connect(proxy.port())) {
                    h2.send(
                            Http2Frames.HEADERS,
                            Http2Frames.END_HEADERS | Http2Frames.END_STREAM,
                            1,
                            Http2Frames.requestBlock("GET", "/", "x-a\r\nx-b", "v"));
                    // Undertow logs before it closes the connection: once closed, this attempt's line is in.
                    assertThat(h2.closedWithin(Duration.ofSeconds(10)))
                            .as("attempt %d: the connection is closed", i)
                            .isTrue();
                }
            }
            assertThat(log.count("UT005090"))
                    .as(
                            "Undertow's unexpected-failure lines for %d malformed header blocks: %s",
                            CONNECTIONS, log.lines())
                    .isLessThanOrEqualTo(1);
            assertThat(backend.started()).as("what reached the backend").isEmpty();
        }
    }
}
