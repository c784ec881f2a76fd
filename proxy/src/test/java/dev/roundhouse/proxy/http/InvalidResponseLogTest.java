package dev.roundhouse.proxy.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.roundhouse.proxy.RoundhouseProxy;
import dev.roundhouse.proxy.testing.Closeables;
import dev.roundhouse.proxy.testing.LogCapture;
import dev.roundhouse.proxy.testing.ProxyFixture;
import dev.roundhouse.proxy.testing.ScriptedBackend;
import dev.roundhouse.proxy.testing.Transport;
import dev.roundhouse.testing.RawHttp;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/** A backend answering every request invalidly yields a log line every ten seconds, never a line (or a trace) each. */
@ParameterizedClass(name = "over {0}")
@EnumSource(Transport.class)
class InvalidResponseLogTest {

    @Parameter
    Transport transport;

    @RegisterExtension
    final Closeables closeables = new Closeables();

    @Test
    void manyInvalidResponsesToRequestsWithAndWithoutBodiesLogOneLineAndNoStackTrace() {
        ScriptedBackend backend = closeables.add(transport.scripted((request, connection) -> connection
                .write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 53\r\n\r\nok")
                .close()));
        RoundhouseProxy proxy = closeables.add(ProxyFixture.start(transport.trusting(ProxyFixture.env(
                "BACKENDS",
                backend.url(),
                "HEALTH_CHECK_PATH",
                "/health",
                "CB_MINIMUM_CALLS",
                "100",
                "CB_SLIDING_WINDOW_SIZE",
                "100"))));
        LogCapture log = closeables.add(LogCapture.all());

        for (int i = 0; i < 30; i++) {
            String request = i % 2 == 0
                    ? "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
                    : "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi";
            assertThat(RawHttp.exchange(proxy.port(), request).status()).isEqualTo(502);
        }

        assertThat(log.count("Invalid response from backend"))
                .as("%s", log.lines())
                .isEqualTo(1);
        assertThat(log.lines()).as("no stack trace from any logger").noneMatch(l -> l.contains("[thrown:"));
    }
}
