package dev.roundhouse.proxy.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import dev.roundhouse.proxy.RoundhouseProxy;
import dev.roundhouse.proxy.testing.Closeables;
import dev.roundhouse.proxy.testing.CrudApiServer;
import dev.roundhouse.proxy.testing.ProxyFixture;
import dev.roundhouse.testing.Http;
import dev.roundhouse.testing.RawHttp;
import dev.roundhouse.testing.ServerPem;
import dev.roundhouse.testing.TestBackend;
import java.io.IOException;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The answers the proxy gives itself whatever its backends speak, each counted once in
 * {@code roundhouse_requests_total} with {@code backend="none"} and the status the client got: every 503 reason that
 * is cheap to bring about ({@code docs/health.md}), and the 308 to HTTPS. The rest: {@link EveryResponseCountedTest}.
 */
class ProxyAnswersCountedTest {

    private static final String GET = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";

    @RegisterExtension
    final Closeables closeables = new Closeables();

    @TempDir
    Path dir;

    /** The request is answered 503 with {@code reason}, and that is noted as the proxy's own answer. */
    private static void unavailable(CountedAnswers counted, RoundhouseProxy proxy, String reason) {
        RawHttp.Response response = RawHttp.exchange(proxy.port(), GET);
        assertThat(response.status()).as("%s", response).isEqualTo(503);
        assertThat(response.bodyText()).as("%s", response).contains(reason);
        counted.got(reason, "none", "GET", response.status());
    }

    @Test
    void noPoolLoadedYet() {
        CrudApiServer api = closeables.add(CrudApiServer.start(0)); // without the ConfigMap: no pool ever arrives
        int apiPort = api.port();
        RoundhouseProxy proxy = closeables.add(ProxyFixture.start(
                ProxyFixture.env("POOL_CONFIGMAP", "web-pool", "POD_NAMESPACE", "shop"),
                () -> CrudApiServer.client(apiPort)));
        CountedAnswers counted = CountedAnswers.of(proxy);

        unavailable(counted, proxy, "service unavailable: no pool loaded yet");

        counted.awaitCountedOnce();
    }

    @Test
    void noBackendAvailable() throws IOException {
        Path pool = Files.writeString(dir.resolve("pool.json"), "{\"version\": 1, \"backends\": []}");
        RoundhouseProxy proxy = closeables.add(ProxyFixture.start(ProxyFixture.env("POOL_FILE", pool.toString())));
        CountedAnswers counted = CountedAnswers.of(proxy);

        unavailable(counted, proxy, "service unavailable: no backend available");

        counted.awaitCountedOnce();
    }

    @Test
    void noBackendCouldBeReachedThenEveryBreakerOpen() {
        TestBackend gone = closeables.add(TestBackend.start("gone"));
        RoundhouseProxy proxy = closeables.add(ProxyFixture.start(ProxyFixture.env(
                "BACKENDS",
                gone.url(),
                "HEALTH_CHECK_PATH",
                "/health",
                "CB_CONSECUTIVE_CONNECT_FAILURES",
                "1",
                "CB_WAIT_IN_OPEN",
                "5m")));
        // Stopped once the proxy holds its ports: it cannot then bind the freed port and proxy to itself.
        gone.stop();
        CountedAnswers counted = CountedAnswers.of(proxy);

        // The one connect is refused, which opens the breaker at once: the next request finds it open.
        unavailable(counted, proxy, "service unavailable: no backend could be reached (1 tried)");
        unavailable(counted, proxy, "service unavailable: every backend's circuit breaker is open");

        counted.awaitCountedOnce();
    }

    @Test
    void aRedirectToHttpsIsCountedAsTheProxysAndAnHttpsRequestAsTheBackends() throws Exception {
        TestBackend backend = closeables.add(TestBackend.start("backend"));
        ServerPem pem = ServerPem.make(dir, "site", ServerPem.Spec.ec("dns:localhost"));
        RoundhouseProxy proxy = closeables.add(ProxyFixture.start(ProxyFixture.env(
                "BACKENDS",
                backend.url(),
                "HEALTH_CHECK_PATH",
                "/health",
                "TLS_PORT",
                "0",
                "TLS_CERT_FILE",
                pem.cert().toString(),
                "TLS_KEY_FILE",
                pem.key().toString(),
                "TLS_REDIRECT",
                "true")));
        CountedAnswers counted = CountedAnswers.of(proxy);

        RawHttp.Response redirect =
                RawHttp.exchange(proxy.port(), "POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi");
        assertThat(redirect.status()).as("%s", redirect).isEqualTo(308);
        counted.got("plain HTTP, redirected", "none", "POST", redirect.status());
        HttpClient client = Http.trusting(pem.trustPem(), HttpClient.Version.HTTP_1_1);
        HttpResponse<String> served = Http.get(client, "https://localhost:" + proxy.httpsPort() + "/p");
        assertThat(served.statusCode()).isEqualTo(200);
        counted.got("over HTTPS", backend.url(), "GET", served.statusCode());

        counted.awaitCountedOnce();
    }

    /**
     * Through an HTTP/2 backend ({@code StreamExchange}): its 200 and its own 500, a timeout, a body that does not
     * arrive in time, and a protocol switch, which cannot be forwarded to it.
     */
    @Test
    void throughAnHttp2Backend() {
        TestBackend backend = closeables.add(TestBackend.startHttp2("h2c", null));
        RoundhouseProxy proxy = closeables.add(ProxyFixture.start(ProxyFixture.env(
                "BACKENDS",
                backend.url() + ";protocol=h2c",
                "HEALTH_CHECK_PATH",
                "/health",
                "REQUEST_TIMEOUT",
                "1500ms")));
        CountedAnswers counted = CountedAnswers.of(proxy);

        counted.exchange("the backend's 200", GET, backend.url(), 200);
        backend.status = 500;
        counted.exchange("the backend's own 500", GET, backend.url(), 500);
        backend.status = 200;
        counted.exchange(
                "a backend slower than the request timeout",
                "GET /slow?ms=5000 HTTP/1.1\r\nHost: x\r\n\r\n",
                backend.url(),
                504);
        counted.exchange(
                "a protocol switch",
                "GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
                "none",
                502);
        counted.bodyThatNeverArrives("/upload");

        counted.awaitCountedOnce();
    }
}
