package dev.roundhouse.proxy.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.roundhouse.proxy.RoundhouseProxy;
import dev.roundhouse.proxy.testing.Closeables;
import dev.roundhouse.proxy.testing.IdleAfterwards;
import dev.roundhouse.proxy.testing.ProxyFixture;
import dev.roundhouse.proxy.testing.Scrape;
import dev.roundhouse.testing.RawHttp;
import dev.roundhouse.testing.RawHttp.RecordingBackend;
import java.io.ByteArrayOutputStream;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The gate under Undertow's parser: where heads are on a connection (past bodies), heads that arrive in pieces, and
 * a refused head among pipelined ones answered in its turn, with nothing after it read as a request.
 */
class RequestHeadGateTest {

    @RegisterExtension
    final Closeables closeables = new Closeables();

    private RecordingBackend backend;
    private RoundhouseProxy proxy;

    @RegisterExtension
    static final IdleAfterwards idle = new IdleAfterwards();

    @BeforeEach
    void start() {
        backend = closeables.add(RecordingBackend.start());
        proxy = ProxyFixture.start(ProxyFixture.env("BACKENDS", backend.url(), "HEALTH_CHECK_PATH", "/health"));
    }

    @AfterEach
    void idleAfterwards(TestInfo test) {
        idle.handOver(proxy, test.getDisplayName());
    }

    @Test
    void aRefusedHeadAmongPipelinedOnesIsAnsweredInItsTurnAndEndsTheConnection() {
        try (RawHttp client = RawHttp.connect(proxy.port())) {
            client.send("GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
                    + "GET /b HTTP/1.1\r\nHost: x\r\nA: 1\r\n folded\r\n\r\n"
                    + "GET /c HTTP/1.1\r\nHost: x\r\n\r\n");

            assertThat(client.readResponse().status()).as("/a").isEqualTo(200);
            RawHttp.Response refused = client.readResponse();
            assertThat(refused.status()).as("/b: %s", refused).isEqualTo(400);
            assertThat(refused.bodyText()).contains("obsolete line folding");
            ByteArrayOutputStream after = new ByteArrayOutputStream();
            assertThat(client.closedByPeer(after)).isTrue();
            assertThat(after.size()).as("no answer to /c").isZero();
        }
        await().during(Duration.ofMillis(200))
                .atMost(Duration.ofSeconds(2))
                .untilAsserted(() -> assertThat(backend.started()).containsExactly("GET /a HTTP/1.1"));
        Scrape.awaitRequests(proxy, "none", "GET", 400, 1.0); // the refusal is counted
    }

    @Test
    void aHeadArrivingAByteAtATimeIsCheckedWhole() {
        try (RawHttp client = RawHttp.connect(proxy.port())) {
            assertThat(client.trickle("GET /slow HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n\r\n", Duration.ofMillis(1)))
                    .isTrue();
            assertThat(client.readResponse().status()).isEqualTo(200);

            assertThat(client.trickle(
                            "GET /slow-bad HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n\tfolded\r\n\r\n", Duration.ofMillis(1)))
                    .isTrue();
            assertThat(client.readResponse().status()).isEqualTo(400);
        }
        assertThat(backend.started()).containsExactly("GET /slow HTTP/1.1");
    }

    @Test
    void bodyBytesThatLookLikeAHeadAreBodyBytes() {
        String body = "GET /hidden HTTP/1.1\r\nHost: x\r\nA: 1\r\n folded\r\n\r\n";
        try (RawHttp client = RawHttp.connect(proxy.port())) {
            client.send("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: " + body.length() + "\r\n\r\n" + body
                    + "GET /next HTTP/1.1\r\nHost: x\r\n\r\n");

            assertThat(client.readResponse().status()).isEqualTo(200);
            assertThat(client.readResponse().status()).isEqualTo(200);
        }
        assertThat(backend.received())
                .extracting(RecordingBackend.Received::requestLine)
                .containsExactly("POST /upload HTTP/1.1", "GET /next HTTP/1.1");
        assertThat(backend.received().get(0).bodyText()).isEqualTo(body);
    }

    @Test
    void aFewEmptyLinesBeforeARequestLineAreDroppedAndMoreAreRefused() {
        RawHttp.Response four = RawHttp.exchange(proxy.port(), "\r\n\r\n\r\n\r\nGET /four HTTP/1.1\r\nHost: x\r\n\r\n");
        RawHttp.Response five =
                RawHttp.exchange(proxy.port(), "\r\n\r\n\r\n\r\n\r\nGET /five HTTP/1.1\r\nHost: x\r\n\r\n");

        assertThat(four.status()).as("%s", four).isEqualTo(200);
        assertThat(five.status()).as("%s", five).isEqualTo(400);
        assertThat(backend.started()).containsExactly("GET /four HTTP/1.1");
    }

    @Test
    void anEmptyLineAfterABodyIsDroppedToo() {
        // Old clients send a CRLF after a POST body; RFC 9112 2.2 asks servers to ignore it.
        try (RawHttp client = RawHttp.connect(proxy.port())) {
            client.send(
                    "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n");

            assertThat(client.readResponse().status()).isEqualTo(200);
            assertThat(client.readResponse().status()).isEqualTo(200);
        }
        assertThat(backend.started()).containsExactly("POST /a HTTP/1.1", "GET /b HTTP/1.1");
    }

    @Test
    void aLargeHeadOverSeveralReadsIsServedAndOneOverTheLimitGets431() {
        String big = "GET /big HTTP/1.1\r\nHost: x\r\n" + ("X-Pad: " + "p".repeat(1000) + "\r\n").repeat(30) + "\r\n";
        String tooBig =
                "GET /too-big HTTP/1.1\r\nHost: x\r\n" + ("X-Pad: " + "p".repeat(1000) + "\r\n").repeat(33) + "\r\n";

        RawHttp.Response served = RawHttp.exchange(proxy.port(), big);
        RawHttp.Response refused = RawHttp.exchange(proxy.port(), tooBig);

        assertThat(big.length()).as("over one read buffer").isGreaterThan(ProxyServer.BUFFER_BYTES);
        assertThat(served.status()).as("%s", served).isEqualTo(200);
        assertThat(refused.status()).as("%s", refused).isEqualTo(431);
        assertThat(backend.received())
                .singleElement()
                .satisfies(r -> assertThat(r.header("X-Pad")).hasSize(30 * 1001 - 1));
    }
}
