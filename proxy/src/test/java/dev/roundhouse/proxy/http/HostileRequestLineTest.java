package dev.roundhouse.proxy.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.roundhouse.proxy.RoundhouseProxy;
import dev.roundhouse.proxy.testing.IdleAfterwards;
import dev.roundhouse.proxy.testing.ProxyFixture;
import dev.roundhouse.testing.Http;
import dev.roundhouse.testing.RawHttp;
import dev.roundhouse.testing.RawHttp.RecordingBackend;
import java.io.ByteArrayOutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Request lines and protocols the proxy must not forward: NUL bytes, HTTP/0.9, the HTTP/2 preface and
 * other versions on the HTTP/1 port, malformed targets, CONNECT tunnels; and absolute-form targets
 * naming foreign hosts, which only ever reach the pool. Each is a 4xx or a closed connection, nothing
 * reaches a host outside the pool, and the proxy keeps serving.
 */
class HostileRequestLineTest {

    private RecordingBackend backend;
    private RoundhouseProxy proxy;

    @RegisterExtension
    static final IdleAfterwards idle = new IdleAfterwards();

    @BeforeEach
    void start() {
        backend = RecordingBackend.start();
        proxy = ProxyFixture.start(ProxyFixture.env("BACKENDS", backend.url(), "HEALTH_CHECK_PATH", "/health"));
    }

    @AfterEach
    void stop(TestInfo test) {
        try {
            if (proxy != null) {
                idle.handOver(proxy, test.getDisplayName());
            }
        } finally {
            if (backend != null) {
                backend.close();
            }
        }
    }

    static Stream<Arguments> refusedRequests() {
        return Stream.of(
                Arguments.of("NUL in the path", "GET /a\u0000b HTTP/1.1\r\nHost: localhost\r\n\r\n"),
                Arguments.of("NUL in the query", "GET /a?b=\u0000 HTTP/1.1\r\nHost: localhost\r\n\r\n"),
                Arguments.of("NUL in a header name", "GET / HTTP/1.1\r\nHost: localhost\r\nX\u0000Y: 1\r\n\r\n"),
                Arguments.of("HTTP/0.9 request", "GET /\r\n"),
                Arguments.of("HTTP/0.9 request and a blank line", "GET /nine\r\n\r\n"),
                // (The HTTP/2 connection preface starts cleartext HTTP/2: Http2Test, Http2AttacksTest.)
                Arguments.of("HTTP/2.0 in a request line", "GET /two HTTP/2.0\r\nHost: localhost\r\n\r\n"),
                Arguments.of("HTTP/3 in a request line", "GET /three HTTP/3\r\nHost: localhost\r\n\r\n"),
                Arguments.of("lower-case protocol name", "GET /lower http/1.1\r\nHost: localhost\r\n\r\n"),
                Arguments.of("asterisk target with GET", "GET * HTTP/1.1\r\nHost: localhost\r\n\r\n"),
                Arguments.of("fragment in the target", "GET /page#frag HTTP/1.1\r\nHost: localhost\r\n\r\n"),
                Arguments.of("tab between method and target", "GET\t/tab HTTP/1.1\r\nHost: localhost\r\n\r\n"),
                Arguments.of(
                        "two spaces between method and target", "GET  /two-spaces HTTP/1.1\r\nHost: localhost\r\n\r\n"),
                Arguments.of("space inside the method", "G ET / HTTP/1.1\r\nHost: localhost\r\n\r\n"),
                Arguments.of("two Host headers", "GET /hosts HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\n\r\n"),
                Arguments.of("HTTP/1.1 without Host", "GET /no-host HTTP/1.1\r\n\r\n"),
                Arguments.of(
                        "CONNECT to a foreign host",
                        "CONNECT evil.example:443 HTTP/1.1\r\nHost: evil.example:443\r\n\r\n"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("refusedRequests")
    void isRefusedAndNeverReachesTheBackend(String description, String request) {
        Outcome outcome = send(request);

        assertRefused(outcome);
        assertThat(backend.started())
                .as("a refused request must not reach the backend")
                .isEmpty();
        assertProxyStillServes();
    }

    @Test
    void connectGets405WithTheMethodsAllowed() {
        String authority = "127.0.0.1:" + backend.url().substring(backend.url().lastIndexOf(':') + 1);
        Outcome outcome = send("CONNECT " + authority + " HTTP/1.1\r\nHost: " + authority + "\r\n\r\n");

        assertThat(outcome.response().status()).as("%s", outcome.response()).isEqualTo(405);
        assertThat(outcome.response().header("Allow")).contains("GET").doesNotContain("CONNECT");
        assertThat(outcome.closed()).isTrue();
        assertThat(backend.started()).as("no tunnel to the backend either").isEmpty();
        assertProxyStillServes();
    }

    @Test
    void absoluteFormTargetsNamingForeignHostsReachOnlyThePool() throws Exception {
        // A listener standing in for the foreign host: it must never see a connection.
        try (ServerSocket foreign = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            AtomicInteger foreignConnections = new AtomicInteger();
            Thread watcher = new Thread(
                    () -> {
                        while (!foreign.isClosed()) {
                            try (Socket ignored = foreign.accept()) {
                                foreignConnections.incrementAndGet();
                            } catch (Exception e) {
                                return;
                            }
                        }
                    },
                    "foreign-host");
            watcher.setDaemon(true);
            watcher.start();
            String foreignHost = "127.0.0.1:" + foreign.getLocalPort();
            String[] targets = {
                "http://" + foreignHost + "/steal?x=1",
                "https://" + foreignHost + "/steal",
                "http://user:pass@" + foreignHost + "/steal",
                "http://" + foreignHost
            };

            for (String target : targets) {
                RawHttp.Response response = RawHttp.exchange(
                        proxy.port(),
                        "GET " + target + " HTTP/1.1\r\nHost: " + foreignHost + "\r\nConnection: close\r\n\r\n");
                assertThat(response.answered()).as("answered: %s", response).isTrue();
                if (response.status() == 200) {
                    assertThat(response.bodyText())
                            .as("served by the pool backend")
                            .isEqualTo("ok");
                } else {
                    assertThat(response.status()).as("%s", response).isBetween(400, 499);
                }
            }

            assertThat(backend.received())
                    .allSatisfy(r -> assertThat(r.target())
                            .as("origin-form at the backend")
                            .startsWith("/")
                            .doesNotContain(foreignHost)
                            .doesNotContain("user"));
            assertProxyStillServes();
            assertThat(foreignConnections.get())
                    .as("connections to the host the request line named")
                    .isZero();
        }
    }

    // ---- Helpers -------------------------------------------------------------------------------

    private record Outcome(RawHttp.Response response, boolean closed, String after) {}

    private Outcome send(String request) {
        try (RawHttp connection = RawHttp.connect(proxy.port())) {
            connection.send(request.getBytes(StandardCharsets.ISO_8859_1));
            RawHttp.Response response = connection.readResponse();
            if (!response.answered() || response.closed() || response.timedOut()) {
                return new Outcome(response, response.closed(), "");
            }
            ByteArrayOutputStream after = new ByteArrayOutputStream();
            boolean closed = connection.closedByPeer(after);
            return new Outcome(response, closed, after.toString(StandardCharsets.ISO_8859_1));
        }
    }

    /** A 4xx, or the connection closed; never a hang, a server error, or a kept-alive connection after it. */
    private static void assertRefused(Outcome outcome) {
        RawHttp.Response response = outcome.response();
        assertThat(response.timedOut())
                .as("the proxy neither answered nor closed: %s", response)
                .isFalse();
        if (response.answered() && response.status() != 505) { // 505: a version other than HTTP/1.x
            assertThat(response.status()).as("%s", response).isBetween(400, 499);
        }
        assertThat(outcome.closed())
                .as("connection closed after the refusal: %s", response)
                .isTrue();
        assertThat(outcome.after()).isEmpty();
    }

    private void assertProxyStillServes() {
        HttpResponse<String> next = Http.get(ProxyFixture.url(proxy, "/after"));
        assertThat(next.statusCode()).isEqualTo(200);
        assertThat(next.body()).isEqualTo("ok");
        await().atMost(Duration.ofSeconds(2)).until(() -> backend.started().contains("GET /after HTTP/1.1"));
    }
}
