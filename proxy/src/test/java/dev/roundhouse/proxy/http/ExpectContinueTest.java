package dev.roundhouse.proxy.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.roundhouse.proxy.RoundhouseProxy;
import dev.roundhouse.proxy.testing.Closeables;
import dev.roundhouse.proxy.testing.IdleAfterwards;
import dev.roundhouse.proxy.testing.ProxyFixture;
import dev.roundhouse.proxy.testing.Transport;
import dev.roundhouse.testing.RawHttp;
import dev.roundhouse.testing.RawHttp.RecordingBackend;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code Expect: 100-continue}: the proxy answers it itself once a backend has the request head (nginx and Envoy
 * do the same), so a client that waits for the 100 before sending its body is never left waiting, and the backend
 * never sees the expectation. When no backend can take the request, the client is answered without sending its body.
 */
@ParameterizedClass(name = "over {0}")
@EnumSource(Transport.class)
class ExpectContinueTest {

    @Parameter
    Transport transport;

    @RegisterExtension
    final Closeables closeables = new Closeables();

    @RegisterExtension
    static final IdleAfterwards idle = new IdleAfterwards();

    @ParameterizedTest(name = "{0} body")
    @ValueSource(strings = {"Content-Length", "chunked"})
    void aClientThatWaitsForTheContinueGetsItThenItsBodyIsForwarded(String framing) {
        RecordingBackend backend = closeables.add(transport.recording());
        RoundhouseProxy proxy = idle.track(ProxyFixture.start(
                transport.trusting(ProxyFixture.env("BACKENDS", backend.url(), "HEALTH_CHECK_PATH", "/health"))));

        try (RawHttp client = RawHttp.connect(proxy.port())) {
            boolean chunked = framing.equals("chunked");
            client.send("POST /upload HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                    + (chunked ? "Transfer-Encoding: chunked\r\n" : "Content-Length: 11\r\n") + "\r\n");

            assertThat(client.readRawLine())
                    .as("the interim answer, before any body byte was sent")
                    .isEqualTo("HTTP/1.1 100 Continue");
            assertThat(client.readRawLine()).isEmpty();
            client.send(chunked ? "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n" : "hello world");
            RawHttp.Response response = client.readResponse();

            assertThat(response.status()).as("%s", response).isEqualTo(200);
        }
        assertThat(backend.received()).singleElement().satisfies(r -> {
            assertThat(r.complete()).isTrue();
            assertThat(r.bodyText()).isEqualTo("hello world");
            assertThat(r.header("Expect")).as("this proxy answered it").isNull();
        });
    }

    @Test
    void withNoBackendToTakeItTheClientIsAnsweredWithoutSendingItsBody() {
        RoundhouseProxy proxy = idle.track(ProxyFixture.start(transport.trusting(ProxyFixture.env(
                "BACKENDS", transport.url(1), "HEALTH_CHECK_PATH", "/health", "CONNECT_RETRIES", "0"))));

        try (RawHttp client = RawHttp.connect(proxy.port())) {
            client.send("POST /upload HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5000\r\n\r\n");

            String statusLine = client.readRawLine();
            assertThat(statusLine).as("no 100: the body would go nowhere").startsWith("HTTP/1.1 503 ");
            ByteArrayOutputStream rest = new ByteArrayOutputStream();
            assertThat(client.closedByPeer(rest))
                    .as("the unsent body ends the connection")
                    .isTrue();
            assertThat(rest.toString(StandardCharsets.ISO_8859_1)).doesNotContain("100 Continue");
        }
    }

    @Test
    void anHttp10ClientIsNotSentAContinue() {
        RecordingBackend backend = closeables.add(transport.recording());
        RoundhouseProxy proxy = idle.track(ProxyFixture.start(
                transport.trusting(ProxyFixture.env("BACKENDS", backend.url(), "HEALTH_CHECK_PATH", "/health"))));

        try (RawHttp client = RawHttp.connect(proxy.port()).readTimeout(Duration.ofSeconds(5))) {
            client.send("POST /upload HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhi");
            RawHttp.Response response = client.readResponse();

            assertThat(response.status()).as("%s", response).isEqualTo(200);
            assertThat(response.interim())
                    .as("RFC 9110 15.2: no 1xx to an HTTP/1.0 client")
                    .isEmpty();
        }
        assertThat(backend.received())
                .singleElement()
                .satisfies(r -> assertThat(r.bodyText()).isEqualTo("hi"));
    }
}
