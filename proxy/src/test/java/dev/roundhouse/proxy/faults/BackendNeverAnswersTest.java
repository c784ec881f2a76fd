package dev.roundhouse.proxy.faults;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.roundhouse.proxy.RoundhouseProxy;
import dev.roundhouse.proxy.pool.Backend;
import dev.roundhouse.proxy.testing.Closeables;
import dev.roundhouse.proxy.testing.ProxyFixture;
import dev.roundhouse.proxy.testing.Scrape;
import dev.roundhouse.proxy.testing.ScriptedBackend;
import dev.roundhouse.proxy.testing.Transport;
import dev.roundhouse.testing.Http;
import dev.roundhouse.testing.RawHttp;
import dev.roundhouse.testing.ResponseStream;
import dev.roundhouse.testing.TestBackend;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Fault: a backend accepts connections and reads requests but never answers (a hung process, a full accept queue
 * behind a load balancer, a deadlock). Each request on it must end with 504 once the request timeout passes, the
 * proxy must close its connection to it, the breaker must count the timeout and open, and requests on the healthy
 * backend must go on meanwhile without waiting for the hung ones.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
@ParameterizedClass(name = "over {0}")
@EnumSource(Transport.class)
class BackendNeverAnswersTest {

    @Parameter
    Transport transport;

    private static final Duration REQUEST_TIMEOUT = Duration.ofMillis(1500);
    /** A generous bound for a request on a healthy backend while others hang: well under the request timeout. */
    private static final Duration HEALTHY_BOUND = Duration.ofMillis(1000);
    /** How late a 504 may come after the request timeout (timer granularity, a loaded CI machine). */
    private static final Duration LATE = Duration.ofMillis(1500);

    @RegisterExtension
    final Closeables closeables = new Closeables();

    /** Reads every request, never answers; remembers whether the proxy closed the connection. */
    private ScriptedBackend silent() {
        return closeables.add(transport.scripted((request, connection) -> {
            if (request.target().startsWith("/stall-mid-body")) {
                connection.write("HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n");
                connection.write(new byte[10_000]);
            }
            connection.hangUntilPeerCloses(Duration.ofSeconds(30));
        }));
    }

    private RoundhouseProxy proxy(String... backends) {
        return closeables.add(ProxyFixture.start(transport.trusting(ProxyFixture.env(
                "BACKENDS", String.join(",", backends),
                "HEALTH_CHECK_PATH", "/health",
                "REQUEST_TIMEOUT", REQUEST_TIMEOUT.toMillis() + "ms",
                "CB_SLIDING_WINDOW_SIZE", "4",
                "CB_MINIMUM_CALLS", "4",
                "CB_FAILURE_RATE_THRESHOLD", "50",
                "CB_WAIT_IN_OPEN", "5m",
                // Connects under way count toward the connect-failure limit, and a request that would start one
                // more goes to another backend (BlackholedBackendTest). Four TLS handshakes at once on a loaded
                // machine reach it, and one request meant for the silent backend then lands on the healthy one:
                // off here, where every connect succeeds and the answers are what never come.
                "CB_CONSECUTIVE_CONNECT_FAILURES", "0"))));
    }

    private static CompletableFuture<Timed> sendAsync(RoundhouseProxy proxy, String path) {
        long start = System.nanoTime();
        return Http.client()
                .sendAsync(
                        HttpRequest.newBuilder(URI.create(ProxyFixture.url(proxy, path)))
                                .timeout(Duration.ofSeconds(20))
                                .GET()
                                .build(),
                        HttpResponse.BodyHandlers.ofString())
                .thenApply(r -> new Timed(r.statusCode(), r.body(), Duration.ofNanos(System.nanoTime() - start)));
    }

    private record Timed(int status, String body, Duration took) {}

    @Test
    void aRequestToASilentBackendGets504AtTheTimeoutAndItsConnectionIsClosed() throws Exception {
        ScriptedBackend silent = silent();
        TestBackend healthy = closeables.add(transport.start("healthy"));
        RoundhouseProxy proxy = proxy(silent.url(), healthy.url()); // the first pick is the silent one

        Timed answer = sendAsync(proxy, "/hang").get(20, TimeUnit.SECONDS);

        assertThat(answer.status()).as("%s", answer).isEqualTo(504);
        assertThat(answer.body()).contains("gateway timeout");
        assertThat(answer.took())
                .as("504 after the request timeout, not before and not much later")
                .isGreaterThanOrEqualTo(REQUEST_TIMEOUT.minusMillis(50))
                .isLessThan(REQUEST_TIMEOUT.plus(LATE));
        assertThat(silent.requestsStartingWith("GET /hang")).isEqualTo(1);
        assertThat(healthy.hits.get())
                .as("a timed out request is never retried")
                .isZero();
        ScriptedBackend.Connection hung = silent.connections.get(0);
        await().atMost(Duration.ofSeconds(3))
                .pollInterval(Duration.ofMillis(10))
                .untilAsserted(() -> assertThat(hung.closedByPeer())
                        .as("the proxy closed its connection to the silent backend")
                        .isTrue());
        assertThat(Scrape.errors(proxy, "timeout", silent.url())).isEqualTo(1.0);
        Scrape.awaitRequests(proxy, silent.url(), "GET", 504, 1.0);
        Backend backend = proxy.pool().snapshot().backend(silent.url());
        assertThat(backend.breaker().getMetrics().getNumberOfFailedCalls()).isEqualTo(1);

        // The next request goes to the healthy backend, then the silent one again on a new connection.
        assertThat(ProxyFixture.get(proxy, "/next").body()).isEqualTo("healthy");
    }

    @Test
    void requestsOnTheHealthyBackendAreNotHeldUpAndTheBreakerCutsTheSilentOneOff() throws Exception {
        ScriptedBackend silent = silent();
        TestBackend healthy = closeables.add(transport.start("healthy"));
        RoundhouseProxy proxy = proxy(silent.url(), healthy.url());

        // Eight at once: round-robin gives four to each backend.
        List<CompletableFuture<Timed>> inFlight = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            inFlight.add(sendAsync(proxy, "/wave-" + i));
        }
        List<Timed> answers = new ArrayList<>();
        for (CompletableFuture<Timed> f : inFlight) {
            answers.add(f.get(20, TimeUnit.SECONDS));
        }

        assertThat(answers).filteredOn(t -> t.status() == 200).hasSize(4).allSatisfy(t -> {
            assertThat(t.body()).isEqualTo("healthy");
            assertThat(t.took())
                    .as("a healthy backend's answer while others hang")
                    .isLessThan(HEALTHY_BOUND);
        });
        assertThat(answers)
                .filteredOn(t -> t.status() == 504)
                .hasSize(4)
                .allSatisfy(t -> assertThat(t.took())
                        .isGreaterThanOrEqualTo(REQUEST_TIMEOUT.minusMillis(50))
                        .isLessThan(REQUEST_TIMEOUT.plus(LATE)));
        await().atMost(Duration.ofSeconds(3))
                .pollInterval(Duration.ofMillis(10))
                .untilAsserted(() -> assertThat(silent.connections)
                        .hasSize(4)
                        .allSatisfy(c -> assertThat(c.closedByPeer())
                                .as("connection closed by the proxy")
                                .isTrue()));
        assertThat(Scrape.errors(proxy, "timeout", silent.url())).isEqualTo(4.0);

        // Four timeouts in a window of four: the breaker is open and the silent backend gets nothing more.
        Backend backend = proxy.pool().snapshot().backend(silent.url());
        assertThat(backend.breaker().getState()).isEqualTo(CircuitBreaker.State.OPEN);
        assertThat(ProxyFixture.metrics(proxy))
                .contains("resilience4j_circuitbreaker_state{name=\"" + silent.url() + "\",state=\"open\"} 1.0");
        int accepted = silent.accepted.get();
        for (int i = 0; i < 10; i++) {
            Timed t = sendAsync(proxy, "/after-" + i).get(20, TimeUnit.SECONDS);
            assertThat(t.status()).isEqualTo(200);
            assertThat(t.body()).isEqualTo("healthy");
            assertThat(t.took()).isLessThan(HEALTHY_BOUND);
        }
        assertThat(silent.accepted.get())
                .as("connections to the silent backend once its breaker is open")
                .isEqualTo(accepted);
        assertThat(proxy.pool()
                        .snapshot()
                        .backend(healthy.url())
                        .breaker()
                        .getMetrics()
                        .getNumberOfFailedCalls())
                .isZero();
    }

    /**
     * A timed out request must cost nothing later. Undertow's proxy learns that the timed out backend request
     * failed only when the backend connection finally closes (after its 10 s clean-close drain), and then closes
     * the client connection the request came on, cutting whatever that connection carries by then. So the 504 says
     * {@code Connection: close}, and requests on following connections, sent for longer than that drain, all
     * succeed. The client here behaves as HTTP says: it reuses a connection unless told to close it.
     */
    @Test
    void aTimedOutRequestCostsNoLaterRequestOnTheSameClient() {
        ScriptedBackend silent = silent();
        TestBackend healthy = closeables.add(transport.start("healthy"));
        // One request in ten goes to the silent backend; after its first timeout its breaker opens for good.
        RoundhouseProxy proxy = closeables.add(ProxyFixture.start(transport.trusting(ProxyFixture.env(
                "BACKENDS", silent.url() + ";weight=1," + healthy.url() + ";weight=9",
                "HEALTH_CHECK_PATH", "/health",
                "REQUEST_TIMEOUT", REQUEST_TIMEOUT.toMillis() + "ms",
                "CB_SLIDING_WINDOW_SIZE", "1",
                "CB_MINIMUM_CALLS", "1",
                "CB_WAIT_IN_OPEN", "5m"))));

        long timedOutAt = 0;
        RawHttp.Response answerToTimeout = null;
        int requests = 0;
        int connections = 1;
        RawHttp connection = RawHttp.connect(proxy.port());
        try {
            while (timedOutAt == 0
                    || System.nanoTime() - timedOutAt < Duration.ofSeconds(12).toNanos()) {
                requests++;
                var response = connection
                        .send("GET /r" + requests + " HTTP/1.1\r\nHost: localhost\r\n\r\n")
                        .readResponse();
                if (response.status() == 504 && timedOutAt == 0) {
                    timedOutAt = System.nanoTime();
                    answerToTimeout = response;
                } else {
                    assertThat(response.status())
                            .as(
                                    "request %d, %d ms after the timeout, on connection %d: %s",
                                    requests,
                                    timedOutAt == 0 ? -1 : (System.nanoTime() - timedOutAt) / 1_000_000,
                                    connections,
                                    response)
                            .isEqualTo(200);
                }
                if ("close".equalsIgnoreCase(response.header("Connection")) || response.closed()) {
                    connection.close();
                    connection = RawHttp.connect(proxy.port());
                    connections++;
                }
                if (timedOutAt == 0) {
                    assertThat(requests)
                            .as("requests before one reached the silent backend")
                            .isLessThan(100);
                }
            }
        } finally {
            connection.close();
        }
        assertThat(answerToTimeout.header("Connection"))
                .as("%s", answerToTimeout)
                .isEqualToIgnoringCase("close");
        assertThat(silent.requests).hasSize(1);
        assertThat(Scrape.errors(proxy, "timeout", silent.url())).isEqualTo(1.0);
        assertThat(silent.connections.get(0).closedByPeer()).isTrue();
    }

    /**
     * The backend starts answering, then stalls: at the request timeout the client sees the body cut (never
     * completed, never padded), and it counts as the backend's timeout.
     */
    @Test
    void aBackendThatStallsMidBodyIsCutAtTheTimeoutAndCountedAsATimeout() {
        ScriptedBackend silent = silent();
        RoundhouseProxy proxy = proxy(silent.url());
        long start = System.nanoTime();

        try (ResponseStream response = ResponseStream.get(proxy.port(), "/stall-mid-body", Duration.ofSeconds(10))) {
            assertThat(response.status()).isEqualTo(200);
            ResponseStream.End end = response.readToEnd();
            Duration took = Duration.ofNanos(System.nanoTime() - start);

            assertThat(end).as("%s", response).isIn(ResponseStream.End.CLOSED, ResponseStream.End.RESET);
            assertThat(response.bodyLength()).isEqualTo(10_000);
            assertThat(took)
                    .isGreaterThanOrEqualTo(REQUEST_TIMEOUT.minusMillis(50))
                    .isLessThan(REQUEST_TIMEOUT.plus(LATE));
        }
        await().atMost(Duration.ofSeconds(3))
                .pollInterval(Duration.ofMillis(10))
                .untilAsserted(() -> assertThat(Scrape.errors(proxy, "timeout", silent.url()))
                        .isEqualTo(1.0));
        assertThat(Scrape.errors(proxy, "upstream_reset", silent.url())).isZero();
        assertThat(proxy.pool()
                        .snapshot()
                        .backend(silent.url())
                        .breaker()
                        .getMetrics()
                        .getNumberOfFailedCalls())
                .isEqualTo(1);
        await().atMost(Duration.ofSeconds(3))
                .pollInterval(Duration.ofMillis(10))
                .untilAsserted(() ->
                        assertThat(silent.connections.get(0).closedByPeer()).isTrue());
    }
}
