package dev.roundhouse.proxy.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.roundhouse.proxy.RoundhouseProxy;
import dev.roundhouse.proxy.testing.ProxyFixture;
import dev.roundhouse.proxy.testing.Transport;
import dev.roundhouse.testing.RawHttp;
import dev.roundhouse.testing.TestBackend;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Pipelined requests on one client connection. The direct path resumes the client connection's reads while a
 * request is in flight (to save two epoll_ctl calls per request), so a request that arrives during another must
 * still wait its turn, in Undertow's read listener, and be answered after it, in order.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
@ParameterizedClass(name = "over {0}")
@EnumSource(Transport.class)
class PipeliningTest {

    @Parameter
    Transport transport;

    private TestBackend backend;
    private RoundhouseProxy proxy;

    @BeforeEach
    void start() {
        backend = transport.start("a");
        proxy = ProxyFixture.start(
                transport.trusting(ProxyFixture.env("BACKENDS", backend.url(), "HEALTH_CHECK_PATH", "/health")));
    }

    @AfterEach
    void stop() {
        proxy.close();
        backend.close();
    }

    @Test
    void requestsSentTogetherAreAnsweredInOrder() {
        try (RawHttp client = RawHttp.connect(proxy.port())) {
            client.send("GET /slow?ms=200 HTTP/1.1\r\nHost: localhost\r\n\r\n"
                    + "GET /second HTTP/1.1\r\nHost: localhost\r\n\r\n"
                    + "GET /third HTTP/1.1\r\nHost: localhost\r\n\r\n");

            for (int i = 0; i < 3; i++) {
                assertThat(client.readResponse().status())
                        .as("response %d", i + 1)
                        .isEqualTo(200);
            }
        }
        assertThat(backend.seen)
                .extracting(TestBackend.Seen::uri)
                .filteredOn(uri -> !uri.equals("/health"))
                .containsExactly("/slow", "/second", "/third");
    }

    @Test
    void aRequestArrivingWhileAnotherIsInFlightWaitsItsTurn() {
        try (RawHttp client = RawHttp.connect(proxy.port())) {
            client.send("GET /slow?ms=300 HTTP/1.1\r\nHost: localhost\r\n\r\n");
            // the first is on its way to the slow backend before the second is written
            await().atMost(Duration.ofSeconds(5))
                    .until(() -> backend.seen.stream().anyMatch(s -> s.uri().equals("/slow")));
            client.send("GET /after HTTP/1.1\r\nHost: localhost\r\n\r\n");

            RawHttp.Response first = client.readResponse();
            RawHttp.Response second = client.readResponse();

            assertThat(first.status()).isEqualTo(200);
            assertThat(second.status()).isEqualTo(200);
        }
        assertThat(backend.seen)
                .extracting(TestBackend.Seen::uri)
                .filteredOn(uri -> !uri.equals("/health"))
                .containsExactly("/slow", "/after");
    }

    @Test
    void aClientThatClosesWhileItsRequestIsInFlightLeavesTheProxyServing() {
        try (RawHttp client = RawHttp.connect(proxy.port())) {
            client.send("GET /slow?ms=300 HTTP/1.1\r\nHost: localhost\r\n\r\n");
            await().atMost(Duration.ofSeconds(5))
                    .until(() -> backend.seen.stream().anyMatch(s -> s.uri().equals("/slow")));
        }

        assertThat(RawHttp.exchange(proxy.port(), "GET /next HTTP/1.1\r\nHost: localhost\r\n\r\n")
                        .status())
                .isEqualTo(200);
    }
}
