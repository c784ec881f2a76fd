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
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Slow-header (slowloris) clients and idle connections: REQUEST_HEADER_TIMEOUT bounds the time from a
 * request's first byte to the end of its headers, KEEP_ALIVE_TIMEOUT the time a connection may sit
 * with no request. Such connections are closed (no request reaches the backend), and while many are
 * open the proxy keeps serving others. A body slower than REQUEST_TIMEOUT is cut as the client's
 * fault (408), never handed to the backend as complete nor counted against it. Bounds are generous: a close must come well before the slow
 * request could have finished, not at a precise moment.
 */
@ParameterizedClass(name = "over {0}")
@EnumSource(Transport.class)
class SlowClientTest {

    @Parameter
    Transport transport;

    /** A bound far above the timeouts used here, and far below the time the slow requests take. */
    private static final Duration WITHIN = Duration.ofSeconds(8);

    @RegisterExtension
    final Closeables closeables = new Closeables();

    private RecordingBackend backend;
    private RoundhouseProxy proxy;

    private void start(String headerTimeout, String keepAliveTimeout) {
        backend = closeables.add(transport.recording());
        proxy = closeables.add(ProxyFixture.start(transport.trusting(ProxyFixture.env(
                "BACKENDS",
                backend.url(),
                "HEALTH_CHECK_PATH",
                "/health",
                "REQUEST_HEADER_TIMEOUT",
                headerTimeout,
                "KEEP_ALIVE_TIMEOUT",
                keepAliveTimeout))));
    }

    @Test
    void headersSentByteByByteSlowerThanTheTimeoutGetTheConnectionClosed() throws Exception {
        start("500ms", "1m");
        // 100 ms a byte: these headers would take over 12 s to arrive.
        String head = "GET /slow HTTP/1.1\r\nHost: localhost\r\nX-Padding: " + "p".repeat(80) + "\r\n\r\n";
        try (RawHttp client = RawHttp.connect(proxy.port()).readTimeout(WITHIN)) {
            AtomicBoolean allWritten = new AtomicBoolean();
            Thread slow = new Thread(() -> allWritten.set(client.trickle(head, Duration.ofMillis(100))), "slowloris");
            long start = System.nanoTime();
            slow.start();

            ByteArrayOutputStream answer = new ByteArrayOutputStream();
            boolean closed = client.closedByPeer(answer);
            Duration took = Duration.ofNanos(System.nanoTime() - start);
            slow.join(Duration.ofSeconds(20).toMillis());

            assertThat(closed).as("closed within %s", WITHIN).isTrue();
            assertThat(took)
                    .as("closed long before the headers could have arrived")
                    .isLessThan(WITHIN);
            assertThat(allWritten)
                    .as("the proxy did not wait for the whole head")
                    .isFalse();
            String text = answer.toString(StandardCharsets.ISO_8859_1);
            assertThat(text.isEmpty() || text.startsWith("HTTP/1.1 408"))
                    .as("nothing, or a 408: '%s'", text)
                    .isTrue();
        }
        assertThat(backend.started())
                .as("the slow request never reached the backend")
                .isEmpty();
        assertProxyServes("/after");
    }

    @Test
    void aPartialRequestLineFollowedBySilenceIsClosed() {
        start("500ms", "1m");
        try (RawHttp client = RawHttp.connect(proxy.port()).readTimeout(WITHIN)) {
            client.send("GET /partial HT");
            ByteArrayOutputStream answer = new ByteArrayOutputStream();

            assertThat(client.closedByPeer(answer))
                    .as("closed within %s", WITHIN)
                    .isTrue();
            String text = answer.toString(StandardCharsets.ISO_8859_1);
            assertThat(text.isEmpty() || text.startsWith("HTTP/1.1 408"))
                    .as("nothing, or a 408: '%s'", text)
                    .isTrue();
        }
        assertThat(backend.started()).isEmpty();
        assertProxyServes("/after");
    }

    @Test
    void aClientSlowerThanUsualButWithinTheTimeoutIsServed() {
        start("5s", "1m");
        try (RawHttp client = RawHttp.connect(proxy.port())) {
            // About 0.4 s for the whole head, well inside the 5 s allowed.
            assertThat(client.trickle("GET /patient HTTP/1.1\r\nHost: localhost\r\n\r\n", Duration.ofMillis(10)))
                    .isTrue();
            RawHttp.Response response = client.readResponse();

            assertThat(response.status()).as("%s", response).isEqualTo(200);
        }
        assertThat(backend.received()).anyMatch(r -> r.target().equals("/patient"));
    }

    @Test
    void manySlowClientsAtOnceDoNotStopOthersFromBeingServed() throws Exception {
        start("3s", "1m");
        int slowCount = 100;
        List<RawHttp> slow = new ArrayList<>();
        for (int i = 0; i < slowCount; i++) {
            slow.add(closeables.add(RawHttp.connect(proxy.port()).readTimeout(WITHIN)));
        }
        String head = "POST /slow HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1\r\nX-Padding: " + "p".repeat(200)
                + "\r\n\r\nx";
        AtomicBoolean stop = new AtomicBoolean();
        // One thread drips a byte to every slow connection every 50 ms, for as long as any is open.
        Thread dripper = new Thread(
                () -> {
                    for (int i = 0; i < head.length() && !stop.get(); i++) {
                        byte[] b = {(byte) head.charAt(i)};
                        boolean anyOpen = false;
                        for (RawHttp c : slow) {
                            if (!c.writeFailed()) {
                                c.send(b);
                                anyOpen |= !c.writeFailed();
                            }
                        }
                        if (!anyOpen) {
                            return;
                        }
                        try {
                            Thread.sleep(50); // the slow clients' pace, not synchronisation
                        } catch (InterruptedException e) {
                            return;
                        }
                    }
                },
                "slowloris-dripper");
        dripper.start();
        try {
            for (int i = 0; i < 20; i++) {
                assertProxyServes("/normal-" + i);
            }
        } finally {
            // Every slow connection is closed by the proxy within the bound (a read on each waits for it).
            for (RawHttp c : slow) {
                assertThat(c.closedByPeer(null))
                        .as("slow connection closed by the proxy")
                        .isTrue();
            }
            stop.set(true);
            dripper.join(Duration.ofSeconds(20).toMillis());
        }
        assertThat(backend.started())
                .as("no slow request reached the backend")
                .noneMatch(line -> line.contains("/slow"));
        assertProxyServes("/after");
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"Transfer-Encoding: chunked", "Content-Length: 100"})
    void aBodySlowerThanTheRequestTimeoutIsCutAsTheClientsFaultNotTheBackends(String framing) {
        backend = closeables.add(transport.recording());
        proxy = closeables.add(ProxyFixture.start(transport.trusting(
                ProxyFixture.env("BACKENDS", backend.url(), "HEALTH_CHECK_PATH", "/health", "REQUEST_TIMEOUT", "1s"))));
        try (RawHttp client = RawHttp.connect(proxy.port()).readTimeout(WITHIN)) {
            // The head and part of the body, then nothing: the request timeout passes while the body is unfinished.
            client.send("POST /upload HTTP/1.1\r\nHost: localhost\r\n" + framing + "\r\n\r\n"
                    + (framing.contains("chunked") ? "5\r\nhello\r\n" : "hello"));
            RawHttp.Response response = client.readResponse();

            assertThat(response.timedOut())
                    .as("answered or closed within %s: %s", WITHIN, response)
                    .isFalse();
            if (response.answered()) {
                assertThat(response.status())
                        .as("the client was too slow: %s", response)
                        .isEqualTo(408);
            }
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> !backend.received().isEmpty());
        assertThat(backend.received())
                .as("the cut body reached the backend incomplete")
                .noneMatch(RecordingBackend.Received::complete);
        assertThat(errorsChargedToBackend())
                .as("a slow client is not the backend's failure")
                .isZero();
        assertProxyServes("/after");
    }

    @Test
    void anIdleKeepAliveConnectionIsClosedAfterItsTimeout() {
        start("20s", "500ms");
        try (RawHttp client = RawHttp.connect(proxy.port()).readTimeout(WITHIN)) {
            for (String path : List.of("/first", "/second")) {
                client.send("GET " + path + " HTTP/1.1\r\nHost: localhost\r\n\r\n");
                RawHttp.Response response = client.readResponse();
                assertThat(response.status()).as("%s", response).isEqualTo(200);
                assertThat(response.header("Connection")).as("kept alive").isNotEqualToIgnoringCase("close");
            }
            long start = System.nanoTime();

            assertThat(client.closedByPeer(null))
                    .as("the idle connection is closed within %s", WITHIN)
                    .isTrue();
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(WITHIN);
        }
        assertThat(backend.received())
                .extracting(RecordingBackend.Received::target)
                .containsExactly("/first", "/second");
    }

    @Test
    void aConnectionThatNeverSendsARequestIsClosedAfterTheKeepAliveTimeout() {
        start("20s", "500ms");
        try (RawHttp client = RawHttp.connect(proxy.port()).readTimeout(WITHIN)) {
            assertThat(client.closedByPeer(null)).as("closed within %s", WITHIN).isTrue();
        }
        assertProxyServes("/after");
    }

    private double errorsChargedToBackend() {
        String label = "backend=\"" + proxy.pool().snapshot().backends().get(0).key() + "\"";
        double sum = 0;
        for (String line : ProxyFixture.metrics(proxy).split("\n")) {
            if (line.startsWith("roundhouse_errors_total{") && line.contains(label)) {
                sum += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        return sum;
    }

    private void assertProxyServes(String path) {
        HttpResponse<String> response = Http.get(ProxyFixture.url(proxy, path));
        assertThat(response.statusCode()).as("GET %s", path).isEqualTo(200);
        assertThat(response.body()).isEqualTo("ok");
    }
}
