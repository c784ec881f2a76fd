package dev.roundhouse.proxy.faults;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
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
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Fault: a backend resets its connection (TCP RST) in the middle of a response, or before it. Whatever the client
 * received must say so: a cut body is never made to look complete (no missing bytes behind a valid frame, no last
 * chunk), a GET nothing was sent for goes to another backend, a POST gets 502, the error is counted against the
 * right backend with the right type, and the proxy goes on serving.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
@ParameterizedClass(name = "over {0}")
@EnumSource(Transport.class)
class BackendResetMidResponseTest {

    @Parameter
    Transport transport;

    private static final int TOTAL = 1_000_000;
    private static final int SENT_BEFORE_RESET = 200_000;
    private static final Duration READ_TIMEOUT = Duration.ofSeconds(10);

    @RegisterExtension
    final Closeables closeables = new Closeables();

    /** Released by the test once the client has seen part of the body: then the backend resets. */
    private final CountDownLatch release = new CountDownLatch(1);

    /** The body every scripted response would have had, had it been complete. */
    private static byte[] pattern(int length) {
        byte[] bytes = new byte[length];
        for (int i = 0; i < length; i++) {
            bytes[i] = (byte) (i * 31 + 7);
        }
        return bytes;
    }

    private static final byte[] BODY = pattern(TOTAL);

    private ScriptedBackend resetting() {
        return closeables.add(transport.scripted((request, connection) -> {
            switch (request.target()) {
                case "/cut-length" -> {
                    connection.write("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: "
                            + TOTAL + "\r\n\r\n");
                    connection.write(Arrays.copyOf(BODY, SENT_BEFORE_RESET));
                    release.await(20, TimeUnit.SECONDS);
                    connection.reset();
                }
                case "/cut-chunked" -> {
                    connection.write("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                            + "Transfer-Encoding: chunked\r\n\r\n");
                    for (int chunk = 0; chunk < 4; chunk++) {
                        byte[] data = Arrays.copyOfRange(BODY, chunk * 50_000, (chunk + 1) * 50_000);
                        connection.write(Integer.toHexString(data.length) + "\r\n");
                        connection.write(data);
                        connection.write("\r\n");
                    }
                    release.await(20, TimeUnit.SECONDS);
                    connection.reset();
                }
                case "/cut-head" -> {
                    connection.write("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\n");
                    connection.reset();
                }
                case "/early" -> connection.reset(); // the request was read, nothing was answered
                default -> connection.write("HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nscripted");
            }
        }));
    }

    /** A proxy whose first pick is {@code first} (smooth round-robin starts with the first of equal weights). */
    private RoundhouseProxy proxy(String first, String second) {
        return closeables.add(ProxyFixture.start(transport.trusting(ProxyFixture.env(
                "BACKENDS", first + "," + second,
                "HEALTH_CHECK_PATH", "/health",
                "REQUEST_TIMEOUT", "20s"))));
    }

    private static Backend backend(RoundhouseProxy proxy, String url) {
        return proxy.pool().snapshot().backend(url);
    }

    @Test
    void aContentLengthBodyCutByAResetReachesTheClientCutAndIsCountedAgainstTheBackend() {
        ScriptedBackend broken = resetting();
        TestBackend healthy = closeables.add(transport.start("healthy"));
        RoundhouseProxy proxy = proxy(broken.url(), healthy.url());

        try (ResponseStream response = ResponseStream.get(proxy.port(), "/cut-length", READ_TIMEOUT)) {
            assertThat(response.status()).as("%s", response).isEqualTo(200);
            assertThat(response.contentLength()).isEqualTo(TOTAL);
            assertThat(response.readAtLeast(SENT_BEFORE_RESET / 2)).isEqualTo(ResponseStream.End.OPEN);

            release.countDown();
            ResponseStream.End end = response.readToEnd();

            assertThat(end)
                    .as("how the client saw the cut body end: %s", response)
                    .isIn(ResponseStream.End.CLOSED, ResponseStream.End.RESET);
            assertThat(response.bodyLength()).isLessThan(TOTAL).isGreaterThanOrEqualTo(SENT_BEFORE_RESET / 2);
            assertThat(response.body())
                    .as("the bytes that did arrive are the backend's")
                    .isEqualTo(Arrays.copyOf(BODY, (int) response.bodyLength()));
        }
        assertCountedAsResetOf(proxy, broken.url(), 200);
        assertThat(healthy.hits.get())
                .as("a response already started is never sent again elsewhere")
                .isZero();
        assertKeepsServing(proxy, broken);
    }

    @Test
    void aChunkedBodyCutByAResetNeverGetsItsLastChunk() {
        ScriptedBackend broken = resetting();
        TestBackend healthy = closeables.add(transport.start("healthy"));
        RoundhouseProxy proxy = proxy(broken.url(), healthy.url());

        try (ResponseStream response = ResponseStream.get(proxy.port(), "/cut-chunked", READ_TIMEOUT)) {
            assertThat(response.status()).as("%s", response).isEqualTo(200);
            assertThat(response.chunked()).isTrue();
            assertThat(response.readAtLeast(100_000)).isEqualTo(ResponseStream.End.OPEN);

            release.countDown();
            ResponseStream.End end = response.readToEnd();

            assertThat(end)
                    .as("a chunked body cut upstream must not end with a last chunk: %s", response)
                    .isIn(ResponseStream.End.CLOSED, ResponseStream.End.RESET);
            assertThat(response.bodyLength()).isLessThanOrEqualTo(200_000);
            assertThat(response.body()).isEqualTo(Arrays.copyOf(BODY, (int) response.bodyLength()));
        }
        assertCountedAsResetOf(proxy, broken.url(), 200);
        assertThat(healthy.hits.get()).isZero();
        assertKeepsServing(proxy, broken);
    }

    /** The JDK client, as applications use it, gets an exception for a cut body, never a short one. */
    @Test
    void aCutBodyIsAnErrorForAnOrdinaryHttpClient() throws Exception {
        ScriptedBackend broken = resetting();
        TestBackend healthy = closeables.add(transport.start("healthy"));
        RoundhouseProxy proxy = proxy(broken.url(), healthy.url());
        HttpRequest request = HttpRequest.newBuilder(URI.create(ProxyFixture.url(proxy, "/cut-length")))
                .timeout(READ_TIMEOUT)
                .GET()
                .build();

        HttpResponse<InputStream> response = Http.client().send(request, HttpResponse.BodyHandlers.ofInputStream());
        try (InputStream body = response.body()) {
            assertThat(response.statusCode()).isEqualTo(200);
            assertThat(body.readNBytes(1000)).isEqualTo(Arrays.copyOf(BODY, 1000));
            release.countDown();

            assertThatThrownBy(body::readAllBytes).isInstanceOf(IOException.class);
        }
        assertCountedAsResetOf(proxy, broken.url(), 200);
        assertKeepsServing(proxy, broken);
    }

    @Test
    void aResetBeforeAnyAnswerSendsAGetToAnotherBackendAndAnswersAPostWith502() {
        ScriptedBackend broken = resetting();
        TestBackend healthy = closeables.add(transport.start("healthy"));
        RoundhouseProxy proxy = proxy(broken.url(), healthy.url());

        HttpResponse<String> get = ProxyFixture.get(proxy, "/early");

        assertThat(get.statusCode()).isEqualTo(200);
        assertThat(get.body())
                .as("retried on the other backend: nothing had been sent to the client")
                .isEqualTo("healthy");
        assertThat(broken.requestsStartingWith("GET /early")).isEqualTo(1);
        assertThat(Scrape.errors(proxy, "upstream_reset", broken.url())).isEqualTo(1.0);
        Scrape.awaitRequests(proxy, healthy.url(), "GET", 200, 1.0);

        // Turns alternate whatever the retries: the GET had the broken backend's turn, the next request has the
        // healthy one's, and the POST after it the broken one's again. A POST it may have acted on is not repeated.
        assertThat(ProxyFixture.get(proxy, "/between").body()).isEqualTo("healthy");
        HttpResponse<String> post = Http.send(HttpRequest.newBuilder(URI.create(ProxyFixture.url(proxy, "/early")))
                .timeout(READ_TIMEOUT)
                .POST(HttpRequest.BodyPublishers.ofString("{\"order\":1}"))
                .build());

        assertThat(post.statusCode()).isEqualTo(502);
        assertThat(post.body()).contains("bad gateway");
        assertThat(broken.requestsStartingWith("POST /early")).isEqualTo(1);
        assertThat(new String(broken.requests.get(broken.requests.size() - 1).body(), StandardCharsets.UTF_8))
                .isEqualTo("{\"order\":1}");
        assertThat(healthy.seen).noneMatch(s -> s.method().equals("POST"));
        assertThat(Scrape.errors(proxy, "upstream_reset", broken.url())).isEqualTo(2.0);
        Scrape.awaitRequests(proxy, broken.url(), "POST", 502, 1.0);
        assertThat(backend(proxy, broken.url()).breaker().getMetrics().getNumberOfFailedCalls())
                .isEqualTo(2);
        assertKeepsServing(proxy, broken);
    }

    /**
     * Reset right after the status line and headers. Whether the proxy had read them before the reset is a race
     * it cannot control: if not, the GET went nowhere and is retried on the other backend; if so, Undertow has
     * begun the response (the status and headers wait in its buffer for the first body byte) and can only close
     * the client's connection. Either way the client never gets a complete-looking answer from the broken backend,
     * and the reset is counted once against it.
     */
    @Test
    void aResetRightAfterTheHeadersNeverLooksLikeAnAnswer() {
        ScriptedBackend broken = resetting();
        TestBackend healthy = closeables.add(transport.start("healthy"));
        RoundhouseProxy proxy = proxy(broken.url(), healthy.url());

        try (ResponseStream response = ResponseStream.get(proxy.port(), "/cut-head", READ_TIMEOUT)) {
            ResponseStream.End end = response.readToEnd();
            System.out.println("Reset right after the headers: " + response);
            if (end == ResponseStream.End.COMPLETE) {
                assertThat(response.status()).as("%s", response).isEqualTo(200);
                assertThat(new String(response.body(), StandardCharsets.UTF_8))
                        .as("retried elsewhere")
                        .isEqualTo("healthy");
            } else {
                assertThat(end).as("%s", response).isIn(ResponseStream.End.CLOSED, ResponseStream.End.RESET);
                assertThat(response.bodyLength()).isZero();
                assertThat(healthy.hits.get()).isZero();
            }
        }
        await().atMost(Duration.ofSeconds(5))
                .pollInterval(Duration.ofMillis(20))
                .untilAsserted(() -> assertThat(Scrape.errors(proxy, "upstream_reset", broken.url()))
                        .isEqualTo(1.0));
        assertThat(backend(proxy, broken.url()).breaker().getMetrics().getNumberOfFailedCalls())
                .isEqualTo(1);
        assertKeepsServing(proxy, broken);
    }

    /** The control: a client that hangs up mid-body is not the backend's failure. */
    @Test
    void aClientThatHangsUpMidBodyIsNotCountedAgainstTheBackend() {
        TestBackend bulk = closeables.add(transport.start("bulk"));
        RoundhouseProxy proxy = closeables.add(ProxyFixture.start(
                transport.trusting(ProxyFixture.env("BACKENDS", bulk.url(), "HEALTH_CHECK_PATH", "/health"))));

        try (ResponseStream response =
                ResponseStream.get(proxy.port(), "/download?bytes=" + (64 << 20), READ_TIMEOUT)) {
            assertThat(response.status()).isEqualTo(200);
            assertThat(response.readAtLeast(100_000)).isEqualTo(ResponseStream.End.OPEN);
        } // hung up with most of the body still to come

        await().atMost(Duration.ofSeconds(10))
                .pollInterval(Duration.ofMillis(20))
                .untilAsserted(() -> assertThat(Scrape.requests(proxy, bulk.url(), "GET", 200))
                        .isEqualTo(1.0));
        assertThat(Scrape.errors(proxy, "upstream_reset", bulk.url())).isZero();
        assertThat(Scrape.errors(proxy, "timeout", bulk.url())).isZero();
        assertThat(backend(proxy, bulk.url()).breaker().getMetrics().getNumberOfFailedCalls())
                .isZero();
        assertThat(ProxyFixture.get(proxy, "/").body()).isEqualTo("bulk");
    }

    /**
     * One upstream_reset against the backend, one failed call on its breaker, and the request itself recorded
     * (which also shows the exchange completed, so shutdown does not wait for it).
     */
    private static void assertCountedAsResetOf(RoundhouseProxy proxy, String backend, int status) {
        await().atMost(Duration.ofSeconds(5))
                .pollInterval(Duration.ofMillis(20))
                .untilAsserted(() -> assertThat(Scrape.requests(proxy, backend, "GET", status))
                        .as("the cut request is recorded once it ended")
                        .isEqualTo(1.0));
        assertThat(Scrape.errors(proxy, "upstream_reset", backend))
                .as("upstream_reset errors of %s", backend)
                .isEqualTo(1.0);
        var breaker = backend(proxy, backend).breaker().getMetrics();
        assertThat(breaker.getNumberOfFailedCalls())
                .as("failed calls on the breaker of %s", backend)
                .isEqualTo(1);
        assertThat(breaker.getNumberOfSuccessfulCalls())
                .as("successful calls on the breaker of %s", backend)
                .isZero();
    }

    /**
     * Ten more requests: all answered 200, by either backend, and counted as the successes they are (no new error,
     * no failed call on either breaker beyond those already there).
     */
    private static void assertKeepsServing(RoundhouseProxy proxy, ScriptedBackend broken) {
        double resetsBefore = Scrape.errors(proxy, "upstream_reset", broken.url());
        Backend brokenBackend = backend(proxy, broken.url());
        int failedBefore = brokenBackend.breaker().getMetrics().getNumberOfFailedCalls();
        int succeededBefore = brokenBackend.breaker().getMetrics().getNumberOfSuccessfulCalls();
        for (int i = 0; i < 10; i++) {
            HttpResponse<String> r = ProxyFixture.get(proxy, "/after-" + i);
            assertThat(r.statusCode()).as("request %d after the reset", i).isEqualTo(200);
            assertThat(r.body()).isIn("scripted", "healthy");
        }
        // Connections the proxy closes after a complete answer (the client asks, or a chunked request body)
        // are not cut answers either.
        for (int i = 0; i < 2; i++) {
            RawHttp.Response closing = RawHttp.exchange(
                    proxy.port(),
                    "GET /after-close-" + i + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
            assertThat(closing.status()).as("%s", closing).isEqualTo(200);
            RawHttp.Response chunked = RawHttp.exchange(
                    proxy.port(),
                    "POST /after-chunked-" + i + " HTTP/1.1\r\n"
                            + "Host: localhost\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n");
            assertThat(chunked.status()).as("%s", chunked).isEqualTo(200);
        }
        assertThat(broken.requests).anyMatch(r -> r.target().startsWith("/after-"));
        assertThat(Scrape.errors(proxy, "upstream_reset", broken.url())).isEqualTo(resetsBefore);
        assertThat(brokenBackend.breaker().getMetrics().getNumberOfFailedCalls())
                .isEqualTo(failedBefore);
        // A relayed answer's success is recorded when its exchange completes, which can follow the client's last byte.
        await().atMost(Duration.ofSeconds(10))
                .pollInterval(Duration.ofMillis(20))
                .untilAsserted(
                        () -> assertThat(brokenBackend.breaker().getMetrics().getNumberOfSuccessfulCalls())
                                .as("complete answers count as successes")
                                .isGreaterThan(succeededBefore));
        for (Backend b : proxy.pool().snapshot().backends()) {
            if (b != brokenBackend) {
                assertThat(b.breaker().getMetrics().getNumberOfFailedCalls())
                        .as("failed calls of %s", b)
                        .isZero();
            }
        }
    }
}
