package dev.roundhouse.proxy.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.roundhouse.proxy.RoundhouseProxy;
import dev.roundhouse.proxy.testing.Closeables;
import dev.roundhouse.proxy.testing.IdleCpu;
import dev.roundhouse.proxy.testing.ProxyFixture;
import dev.roundhouse.proxy.testing.Scrape;
import dev.roundhouse.proxy.testing.Transport;
import dev.roundhouse.testing.RawHttp;
import dev.roundhouse.testing.TestBackend;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A client's own malformed or oversized body, head or trailer is the client's fault: however many arrive, the
 * backend's circuit breaker hears of none of them, and the backend keeps serving everyone else.
 */
@ParameterizedClass(name = "over {0}")
@EnumSource(Transport.class)
class ClientFaultsAreNotChargedTest {

    @Parameter
    Transport transport;

    private static final String CHUNKED = "POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";

    /** Each fault with whether the client half-closes after it (a body that simply stops). */
    private record Fault(String request, boolean halfClose) {}

    private static final List<Fault> FAULTS = List.of(
            new Fault(CHUNKED + "5\r\nhello\r\nzz\r\n\r\n", false), // malformed chunk size
            new Fault(CHUNKED + "2\r\nhello\r\n0\r\n\r\n", false), // data longer than its size
            new Fault(CHUNKED + "5\r\nhello\r\n0\r\nX: " + "t".repeat(40_000) + "\r\n\r\n", false), // trailer too large
            new Fault(CHUNKED + "5\r\nhello\r\n0\r\nX: a\r\n b\r\n\r\n", false), // folded trailer
            new Fault(CHUNKED + "5\r\nhello\r\n0\r\n" + "T: 1\r\n".repeat(150) + "\r\n", false), // too many trailers
            new Fault(CHUNKED + "800\r\n" + "o".repeat(0x800) + "\r\n0\r\n\r\n", false), // over MAX_REQUEST_BODY
            new Fault("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly ten b", true), // cut short
            new Fault(CHUNKED + "5\r\nhello\r\n", true), // no last chunk
            new Fault("GET / HTTP/1.1\r\nHost: x\r\nA: b\r\n c\r\n\r\n", false), // obs-fold in the head
            new Fault("GET / HTTP/1.1\r\nHost: x\r\nX: " + "h".repeat(40_000) + "\r\n\r\n", false)); // head too large

    @RegisterExtension
    final Closeables closeables = new Closeables();

    @Test
    void fiftyOfThemLeaveTheBreakerClosedNothingChargedAndTheProxyIdle() {
        TestBackend backend = closeables.add(transport.start("kept"));
        // Breakers that would open after 5 failures in 10 calls: any charge would show.
        RoundhouseProxy proxy = closeables.add(ProxyFixture.start(transport.trusting(ProxyFixture.env(
                "BACKENDS",
                backend.url(),
                "HEALTH_CHECK_PATH",
                "/health",
                "MAX_REQUEST_BODY",
                "1KiB",
                "CB_MINIMUM_CALLS",
                "5",
                "CB_SLIDING_WINDOW_SIZE",
                "10"))));
        String key = proxy.pool().snapshot().backends().get(0).key();

        for (int i = 0; i < 50; i++) {
            Fault fault = FAULTS.get(i % FAULTS.size());
            try (RawHttp client = RawHttp.connect(proxy.port())) {
                client.send(fault.request());
                if (fault.halfClose()) {
                    client.shutdownOutput();
                }
                RawHttp.Response response = client.readResponse();
                assertThat(response.status())
                        .as("fault %d: %s", i % FAULTS.size(), response)
                        .isBetween(400, 499);
            }
        }

        // Every case of the corpora is followed by 300 ms of measured idleness; after all fifty, a few seconds.
        IdleCpu.assertIdleFor(Duration.ofSeconds(3), "fifty client faults");
        String scrape = ProxyFixture.metrics(proxy);
        assertThat(Scrape.value(scrape, "resilience4j_circuitbreaker_state{name=\"" + key + "\",state=\"closed\"}"))
                .as("the breaker is closed")
                .isEqualTo(1.0);
        assertThat(scrape.lines().filter(l -> l.startsWith("roundhouse_errors_total{") && l.contains(key)))
                .as("no error charged to the backend")
                .allMatch(l -> l.endsWith(" 0.0"));
        RawHttp.Response after = RawHttp.exchange(proxy.port(), "GET /after HTTP/1.1\r\nHost: x\r\n\r\n");
        assertThat(after.status()).isEqualTo(200);
        assertThat(after.bodyText()).isEqualTo("kept");
    }
}
