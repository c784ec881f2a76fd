package dev.roundhouse.proxy.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.roundhouse.proxy.RoundhouseProxy;
import dev.roundhouse.proxy.testing.Closeables;
import dev.roundhouse.proxy.testing.ProxyFixture;
import dev.roundhouse.proxy.testing.Transport;
import dev.roundhouse.testing.Http;
import dev.roundhouse.testing.RawHttp;
import dev.roundhouse.testing.RawHttp.RecordingBackend;
import java.io.ByteArrayOutputStream;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * MAX_REQUEST_BODY: a body over the limit gets 413 Payload Too Large. With a Content-Length the
 * answer comes before anything is forwarded; a chunked body is cut where it passes the limit, and
 * the backend never sees a complete request (it may have begun receiving one). Either way the
 * connection is closed, nothing hangs, and the proxy keeps serving. Without a limit, any size passes.
 */
@ParameterizedClass(name = "over {0}")
@EnumSource(Transport.class)
class BodyLimitTest {

    @Parameter
    Transport transport;

    private static final int LIMIT = 1024;
    private static final String SMUGGLED = "GET /smuggled HTTP/1.1\r\nHost: localhost\r\n\r\n";

    @RegisterExtension
    final Closeables closeables = new Closeables();

    private RecordingBackend backend;
    private RoundhouseProxy proxy;

    private void start(String... env) {
        backend = closeables.add(transport.recording());
        String[] all = new String[env.length + 4];
        all[0] = "BACKENDS";
        all[1] = backend.url();
        all[2] = "HEALTH_CHECK_PATH";
        all[3] = "/health";
        System.arraycopy(env, 0, all, 4, env.length);
        proxy = closeables.add(ProxyFixture.start(transport.trusting(ProxyFixture.env(all))));
    }

    private void startWithLimit() {
        start("MAX_REQUEST_BODY", "1KiB");
    }

    // ---- Content-Length known up front --------------------------------------------------------

    @Test
    void contentLengthOverTheLimitGets413BeforeAnythingIsForwarded() {
        startWithLimit();
        try (RawHttp client = RawHttp.connect(proxy.port())) {
            client.send("POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Length: " + (10 * 1024 * 1024) + "\r\n\r\n"
                    + "x".repeat(2 * LIMIT));
            RawHttp.Response response = client.readResponse();

            assertPayloadTooLarge(response);
            assertThat(response.bodyText())
                    .contains(Integer.toString(10 * 1024 * 1024))
                    .contains(Integer.toString(LIMIT));
            assertThat(client.closedByPeer(null))
                    .as("connection closed after the 413")
                    .isTrue();
        }
        assertThat(backend.started())
                .as("nothing of the request reached the backend")
                .isEmpty();
        await().atMost(Duration.ofSeconds(5))
                .untilAsserted(() -> assertThat(requestsCounted("none", "POST", 413))
                        .as("the refusal is counted")
                        .isEqualTo(1.0));
        assertProxyStillServes();
    }

    @Test
    void aClientStillSendingItsWholeBodyReadsThe413() throws Exception {
        startWithLimit();
        try (RawHttp client = RawHttp.connect(proxy.port())) {
            int length = 8 * 1024 * 1024;
            AtomicLong written = new AtomicLong();
            Thread writer = new Thread(
                    () -> {
                        client.send(
                                "PUT /upload HTTP/1.1\r\nHost: localhost\r\nContent-Length: " + length + "\r\n\r\n");
                        byte[] piece = new byte[64 * 1024];
                        for (int sent = 0; sent < length && !client.writeFailed(); sent += piece.length) {
                            client.send(piece);
                            written.addAndGet(piece.length);
                        }
                    },
                    "uploader");
            writer.start();
            RawHttp.Response response = client.readResponse();
            writer.join(Duration.ofSeconds(20).toMillis());

            assertThat(writer.isAlive())
                    .as("the upload ended (the proxy closed the connection)")
                    .isFalse();
            assertPayloadTooLarge(response);
            assertThat(client.writeFailed() || written.get() < length)
                    .as("the proxy did not read the whole 8 MiB body before closing")
                    .isTrue();
        }
        assertThat(backend.started()).isEmpty();
        assertProxyStillServes();
    }

    @Test
    void expectContinueOverTheLimitGets413InsteadOf100() {
        startWithLimit();
        try (RawHttp client = RawHttp.connect(proxy.port())) {
            client.send(
                    "POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5000\r\nExpect: 100-continue\r\n\r\n");

            String statusLine = client.readRawLine();
            assertThat(statusLine)
                    .as("the first line of the answer: no 100 Continue, the body is refused")
                    .startsWith("HTTP/1.1 413 ");
            ByteArrayOutputStream rest = new ByteArrayOutputStream();
            assertThat(client.closedByPeer(rest))
                    .as("connection closed after the 413")
                    .isTrue();
            assertThat(rest.toString(StandardCharsets.ISO_8859_1))
                    .contains("payload too large")
                    .doesNotContain("HTTP/1.1 100");
        }
        assertThat(backend.started()).isEmpty();
        assertProxyStillServes();
    }

    @Test
    void contentLengthAtTheLimitIsForwardedWhole() {
        startWithLimit();
        String body = "a".repeat(LIMIT);
        RawHttp.Response response = RawHttp.exchange(
                proxy.port(),
                "POST /upload HTTP/1.1\r\nHost: localhost\r\n" + "Content-Length: " + LIMIT + "\r\n\r\n" + body);

        assertThat(response.status()).as("%s", response).isEqualTo(200);
        assertThat(backend.received()).singleElement().satisfies(r -> {
            assertThat(r.complete()).isTrue();
            assertThat(r.bodyText()).isEqualTo(body);
        });
    }

    // ---- Chunked bodies that grow past the limit ----------------------------------------------

    @Test
    void chunkedBodyPassingTheLimitMidStreamGets413AndTheBackendNoCompleteRequest() {
        startWithLimit();
        try (RawHttp client = RawHttp.connect(proxy.port())) {
            client.send("POST /upload HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n" + "200\r\n"
                    + "a".repeat(512) + "\r\n");
            // The request is on its way to the backend before the body passes the limit.
            await().atMost(Duration.ofSeconds(10)).until(() -> backend.started().contains("POST /upload HTTP/1.1"));
            client.send("400\r\n" + "b".repeat(LIMIT) + "\r\n"); // 1536 bytes in all; the client then stalls
            RawHttp.Response response = client.readResponse();

            assertPayloadTooLarge(response);
            assertThat(client.closedByPeer(null))
                    .as("connection closed after the 413")
                    .isTrue();
        }
        assertNoCompleteUploadAndNothingOverTheLimit();
        assertNothingChargedToTheBackend();
        assertProxyStillServes();
    }

    @Test
    void chunkedBodyOverTheLimitSentAtOnceGets413AndNothingSmuggled() {
        startWithLimit();
        try (RawHttp client = RawHttp.connect(proxy.port())) {
            client.send("POST /upload HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n" + "800\r\n"
                    + "c".repeat(2 * LIMIT) + "\r\n0\r\n\r\n" + SMUGGLED);
            RawHttp.Response response = client.readResponse();

            assertPayloadTooLarge(response);
            ByteArrayOutputStream after = new ByteArrayOutputStream();
            assertThat(client.closedByPeer(after))
                    .as("connection closed after the 413")
                    .isTrue();
            assertThat(after.size())
                    .as("no answer to the request that followed")
                    .isZero();
        }
        assertNoCompleteUploadAndNothingOverTheLimit();
        assertNothingChargedToTheBackend();
        assertProxyStillServes();
    }

    @Test
    void chunkedBodyAtTheLimitIsForwardedWhole() {
        startWithLimit();
        String half = "d".repeat(LIMIT / 2);
        RawHttp.Response response = RawHttp.exchange(
                proxy.port(),
                "POST /upload HTTP/1.1\r\nHost: localhost\r\n" + "Transfer-Encoding: chunked\r\n\r\n200\r\n" + half
                        + "\r\n200\r\n" + half + "\r\n0\r\n\r\n");

        assertThat(response.status()).as("%s", response).isEqualTo(200);
        assertThat(backend.received()).singleElement().satisfies(r -> {
            assertThat(r.complete()).isTrue();
            assertThat(r.bodyText()).isEqualTo(half + half);
        });
    }

    // ---- No limit by default ------------------------------------------------------------------

    @Test
    void withoutALimitLargeBodiesPassWhole() {
        start();
        int size = 3 * 1024 * 1024; // over Undertow's own 2 MiB default, which must not apply
        String body = "e".repeat(size);
        RawHttp.Response fixed = RawHttp.exchange(
                proxy.port(),
                "PUT /upload HTTP/1.1\r\nHost: localhost\r\n" + "Content-Length: " + size + "\r\n\r\n" + body);
        RawHttp.Response chunked = RawHttp.exchange(
                proxy.port(),
                "PUT /upload HTTP/1.1\r\nHost: localhost\r\n" + "Transfer-Encoding: chunked\r\n\r\n"
                        + Integer.toHexString(size) + "\r\n" + body + "\r\n0\r\n\r\n");

        assertThat(fixed.status()).as("%s", fixed).isEqualTo(200);
        assertThat(chunked.status()).as("%s", chunked).isEqualTo(200);
        assertThat(backend.received()).hasSize(2).allSatisfy(r -> {
            assertThat(r.complete()).isTrue();
            assertThat(r.body()).hasSize(size);
        });
    }

    // ---- Helpers -------------------------------------------------------------------------------

    private static void assertPayloadTooLarge(RawHttp.Response response) {
        assertThat(response.status()).as("%s", response).isEqualTo(413);
        assertThat(response.header("Content-Type")).startsWith("text/plain");
        assertThat(response.bodyText())
                .startsWith("payload too large")
                .contains(Integer.toString(LIMIT))
                .hasSizeLessThan(200);
        assertThat(response.header("Connection")).isEqualToIgnoringCase("close");
    }

    /** The backend may have begun receiving the request, but never got it whole, nor more than the limit. */
    private void assertNoCompleteUploadAndNothingOverTheLimit() {
        // What the backend got is settled once its connection ended; watch a moment for a late completion.
        await().during(Duration.ofMillis(300))
                .atMost(Duration.ofSeconds(5))
                .untilAsserted(() -> assertThat(backend.received()).allSatisfy(r -> {
                    assertThat(r.complete())
                            .as("a cut body must not reach the backend as a complete request: %s", r)
                            .isFalse();
                    assertThat(r.body().length).isLessThanOrEqualTo(LIMIT);
                }));
        assertThat(backend.started()).doesNotContain("GET /smuggled HTTP/1.1");
    }

    private void assertNothingChargedToTheBackend() {
        await().atMost(Duration.ofSeconds(5))
                .untilAsserted(() -> assertThat(requestsCounted(null, "POST", 413))
                        .as("the 413 is counted")
                        .isEqualTo(1.0));
        assertThat(errorsChargedToBackend())
                .as("a client's oversized body is not the backend's failure")
                .isZero();
    }

    private void assertProxyStillServes() {
        HttpResponse<String> next = Http.get(ProxyFixture.url(proxy, "/after"));
        assertThat(next.statusCode()).isEqualTo(200);
        assertThat(next.body()).isEqualTo("ok");
        assertThat(backend.received()).anyMatch(r -> r.target().equals("/after") && r.complete());
    }

    /** roundhouse_errors_total summed over the series labelled with the pool backend. */
    private double errorsChargedToBackend() {
        String label = "backend=\"" + proxy.pool().snapshot().backends().get(0).key() + "\"";
        return sum("roundhouse_errors_total{", label);
    }

    /** roundhouse_requests_total for a method and status, for one backend label or (null) all. */
    private double requestsCounted(String backendLabel, String method, int status) {
        String[] parts = backendLabel == null
                ? new String[] {"method=\"" + method + "\"", "status=\"" + status + "\""}
                : new String[] {
                    "backend=\"" + backendLabel + "\"", "method=\"" + method + "\"", "status=\"" + status + "\""
                };
        return sum("roundhouse_requests_total{", parts);
    }

    private double sum(String prefix, String... labels) {
        double sum = 0;
        lines:
        for (String line : ProxyFixture.metrics(proxy).split("\n")) {
            if (!line.startsWith(prefix)) {
                continue;
            }
            for (String label : labels) {
                if (!line.contains(label)) {
                    continue lines;
                }
            }
            sum += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
        }
        return sum;
    }
}
