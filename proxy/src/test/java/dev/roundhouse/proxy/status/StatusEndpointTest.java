package dev.roundhouse.proxy.status;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.roundhouse.poolformat.InvalidPoolDocumentException;
import dev.roundhouse.proxy.RoundhouseProxy;
import dev.roundhouse.proxy.testing.Closeables;
import dev.roundhouse.proxy.testing.ProxyFixture;
import dev.roundhouse.proxy.testing.TickingClock;
import dev.roundhouse.testing.TestBackend;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** {@code GET /status} and the status page on the admin port, against real backends. */
class StatusEndpointTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    @RegisterExtension
    final Closeables closeables = new Closeables();

    /** Every read a millisecond on at least: one moment read twice shows as two times. */
    private final TickingClock clock = new TickingClock();

    private RoundhouseProxy proxy(String backends, String... more) {
        List<String> env = new ArrayList<>(List.of(
                "BACKENDS", backends,
                "HEALTH_CHECK_PATH", "/health",
                "HEALTH_CHECK_INTERVAL", "50ms",
                "HEALTH_CHECK_TIMEOUT", "1s",
                "UNHEALTHY_THRESHOLD", "2",
                "HEALTHY_THRESHOLD", "2"));
        env.addAll(List.of(more));
        return closeables.add(ProxyFixture.start(ProxyFixture.env(env.toArray(String[]::new)), clock));
    }

    private static HttpResponse<String> admin(RoundhouseProxy proxy, String path) throws Exception {
        return HTTP.send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + proxy.metricsPort() + path))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private static JsonNode status(RoundhouseProxy proxy) throws Exception {
        HttpResponse<String> response = admin(proxy, "/status");
        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.headers().firstValue("Content-Type")).hasValue("application/json");
        return JSON.readTree(response.body());
    }

    private static JsonNode backend(JsonNode status, String url) {
        for (JsonNode b : status.get("backends")) {
            if (b.get("url").asText().equals(url)) {
                return b;
            }
        }
        throw new AssertionError(url + " not in " + status.get("backends"));
    }

    @Test
    void showsThePoolDocumentAndEachBackendsHealthAndBreaker() throws Exception {
        TestBackend a = closeables.add(TestBackend.start("a"));
        TestBackend b = closeables.add(TestBackend.start("b"));
        RoundhouseProxy proxy = proxy(a.url() + "," + b.url() + ";weight=3");
        await().atMost(Duration.ofSeconds(5)).until(() -> a.healthChecks.get() >= 1 && b.healthChecks.get() >= 1);

        JsonNode status = status(proxy);
        assertThat(status.get("version").asInt())
                .isEqualTo(dev.roundhouse.poolformat.status.ProxyStatusDocument.VERSION);
        JsonNode pool = status.get("pool");
        assertThat(pool.get("version").asInt())
                .isEqualTo(proxy.pool().snapshot().document().version());
        assertThat(pool.get("hash").asText()).isEqualTo(proxy.pool().snapshot().hash());
        assertThat(pool.get("source").asText()).isEqualTo("BACKENDS");
        assertThat(status.get("backends")).hasSize(2);
        JsonNode first = backend(status, a.url());
        assertThat(first.get("weight").asInt()).isEqualTo(1);
        assertThat(backend(status, b.url()).get("weight").asInt()).isEqualTo(3);
        assertThat(first.get("protocol").asText()).isEqualTo("http/1.1");
        assertThat(first.get("state").asText()).isEqualTo("in-rotation");
        assertThat(first.get("inRotation").asBoolean()).isTrue();
        assertThat(first.at("/health/healthy").asBoolean()).isTrue();
        assertThat(first.at("/health/unhealthyThreshold").asInt()).isEqualTo(2);
        assertThat(first.at("/health/lastCheck/passed").asBoolean()).isTrue();
        assertThat(first.at("/health/lastCheck/latencyMs").isNumber()).isTrue();
        assertThat(first.at("/breaker/state").asText()).isEqualTo("closed");
        assertThat(first.at("/breaker/since").asText()).isNotEmpty();
        assertThat(first.at("/breaker/failureRate").isNull()).isTrue(); // fewer calls than the minimum
        assertThat(first.get("inFlight").asLong()).isZero();
        assertThat(first.at("/lastMinute/rates")).hasSize(12);
        assertThat(status.get("changes").get(0).get("kind").asText()).isEqualTo("reload");
        assertThat(status.get("changes").get(0).get("to").asText()).isEqualTo("applied");

        a.stop();
        await().atMost(Duration.ofSeconds(5))
                .until(() ->
                        backend(status(proxy), a.url()).get("state").asText().equals("out-of-rotation"));
        JsonNode down = backend(status(proxy), a.url());
        assertThat(down.get("inRotation").asBoolean()).isFalse();
        assertThat(down.at("/health/healthy").asBoolean()).isFalse();
        assertThat(down.at("/health/consecutiveFailures").asInt()).isGreaterThanOrEqualTo(2);
        assertThat(down.at("/health/lastCheck/passed").asBoolean()).isFalse();
        assertThat(down.at("/health/lastCheck/reason").asText()).isNotEmpty();
        JsonNode change = status(proxy).get("changes").get(0);
        assertThat(change.get("kind").asText()).isEqualTo("health");
        assertThat(change.get("backend").asText()).isEqualTo(a.url());
        assertThat(change.get("from").asText()).isEqualTo("healthy");
        assertThat(change.get("to").asText()).isEqualTo("unhealthy");
        assertThat(change.get("reason").asText()).startsWith("2 health checks failed in a row");
        assertThat(down.at("/health/since").asText()).isEqualTo(change.get("at").asText());
        assertThat(down.get("since").asText()).isEqualTo(change.get("at").asText());

        a.restart();
        await().atMost(Duration.ofSeconds(5))
                .until(() ->
                        backend(status(proxy), a.url()).get("state").asText().equals("in-rotation"));
        assertThat(status(proxy).get("changes").get(0).get("to").asText()).isEqualTo("healthy");
    }

    @Test
    void breakerTransitionsAndRejectedDocumentsAreRecordedWithTheirReasons() throws Exception {
        TestBackend a = closeables.add(TestBackend.start("a"));
        RoundhouseProxy proxy =
                proxy(a.url(), "CB_MINIMUM_CALLS", "4", "CB_SLIDING_WINDOW_SIZE", "4", "CB_WAIT_IN_OPEN", "60s");
        a.status = 500;
        for (int i = 0; i < 4; i++) {
            ProxyFixture.get(proxy, "/");
        }
        // The last verdict is given as the exchange ends, after its answer went out: wait for it.
        await().atMost(Duration.ofSeconds(5))
                .until(() ->
                        status(proxy).get("changes").get(0).get("kind").asText().equals("breaker"));
        JsonNode status = status(proxy);
        JsonNode backend = backend(status, a.url());
        assertThat(backend.get("state").asText()).isEqualTo("breaker-open");
        assertThat(backend.get("inRotation").asBoolean()).isFalse();
        assertThat(backend.at("/breaker/state").asText()).isEqualTo("open");
        assertThat(backend.at("/breaker/failureRate").asDouble()).isEqualTo(100.0);
        JsonNode change = status.get("changes").get(0);
        assertThat(change.get("kind").asText()).isEqualTo("breaker");
        assertThat(change.get("from").asText()).isEqualTo("closed");
        assertThat(change.get("to").asText()).isEqualTo("open");
        assertThat(change.get("reason").asText()).isEqualTo("failure rate over threshold");
        assertThat(backend.at("/breaker/since").asText())
                .isEqualTo(change.get("at").asText());

        long seen = status.get("lastChange").asLong();
        assertThatThrownBy(() -> proxy.reloader().apply("a test", "{\"version\": 1, \"backends\": []"))
                .isInstanceOf(InvalidPoolDocumentException.class);
        JsonNode after = status(proxy);
        assertThat(after.get("lastChange").asLong()).isEqualTo(seen + 1);
        assertThat(after.at("/pool/source").asText()).isEqualTo("BACKENDS"); // the last good pool is kept
        assertThat(after.at("/pool/lastRejected/source").asText()).isEqualTo("a test");
        assertThat(after.at("/pool/lastRejected/reason").asText()).isNotEmpty();
        JsonNode rejected = after.get("changes").get(0);
        assertThat(rejected.get("kind").asText()).isEqualTo("reload");
        assertThat(rejected.get("to").asText()).isEqualTo("rejected");
        assertThat(rejected.has("backend")).isFalse();
        assertThat(rejected.get("reason").asText()).startsWith("a test: ");
    }

    @Test
    void countsRequestsInFlightOnTheirBackend() throws Exception {
        TestBackend a = closeables.add(TestBackend.start("a"));
        RoundhouseProxy proxy = proxy(a.url());
        CompletableFuture<HttpResponse<String>> slow = HTTP.sendAsync(
                HttpRequest.newBuilder(URI.create(ProxyFixture.url(proxy, "/slow?ms=3000")))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        await().atMost(Duration.ofSeconds(5))
                .until(() -> backend(status(proxy), a.url()).get("inFlight").asLong() == 1);
        assertThat(slow.get(10, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
        await().atMost(Duration.ofSeconds(5))
                .until(() -> backend(status(proxy), a.url()).get("inFlight").asLong() == 0);
    }

    @Test
    void aWaitingRequestIsAnsweredWhenTheStateChanges() throws Exception {
        TestBackend a = closeables.add(TestBackend.start("a"));
        TestBackend b = closeables.add(TestBackend.start("b"));
        RoundhouseProxy proxy = proxy(a.url() + "," + b.url());
        long seen = status(proxy).get("lastChange").asLong();

        CompletableFuture<HttpResponse<String>> waiting = HTTP.sendAsync(
                HttpRequest.newBuilder(URI.create(
                                "http://127.0.0.1:" + proxy.metricsPort() + "/status?after=" + seen + "&wait=60"))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(waiting).isNotDone(); // nothing changed yet
        a.stop();
        JsonNode answer = JSON.readTree(waiting.get(10, TimeUnit.SECONDS).body()); // well before the 60 s
        assertThat(answer.get("lastChange").asLong()).isGreaterThan(seen);
        assertThat(answer.get("changes").get(0).get("backend").asText()).isEqualTo(a.url());

        // Nothing newer than the newest: answered when the wait ends, as it stands.
        long now = answer.get("lastChange").asLong();
        HttpResponse<String> quiet = admin(proxy, "/status?after=" + now + "&wait=1");
        assertThat(quiet.statusCode()).isEqualTo(200);
        assertThat(JSON.readTree(quiet.body()).get("lastChange").asLong()).isGreaterThanOrEqualTo(now);
        // A number this proxy never reached (the waiter saw an earlier process of it): answered at once.
        CompletableFuture<HttpResponse<String>> restarted = HTTP.sendAsync(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + proxy.metricsPort() + "/status?after="
                                + (now + 1000) + "&wait=60"))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(restarted.get(10, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
        assertThat(admin(proxy, "/status?after=x").statusCode()).isEqualTo(400);
    }

    @Test
    void thePageIsServedUnderAStrictPolicyAndOnlyOnTheAdminPort() throws Exception {
        TestBackend a = closeables.add(TestBackend.start("a"));
        RoundhouseProxy proxy = proxy(a.url());
        for (String path : List.of("/", "/status.js", "/status.css")) {
            HttpResponse<String> page = admin(proxy, path);
            assertThat(page.statusCode()).as(path).isEqualTo(200);
            assertThat(page.headers().firstValue("Content-Security-Policy"))
                    .as(path)
                    .hasValueSatisfying(csp -> assertThat(csp).startsWith("default-src 'none';"));
        }
        String html = admin(proxy, "/").body();
        assertThat(html)
                .contains("src=\"/status.js\"")
                .doesNotContain("<script>")
                .doesNotContain("http://", "https://");

        // On the traffic port, /status and / are requests like any other: the backend answers them.
        int before = a.hits.get();
        assertThat(ProxyFixture.get(proxy, "/status").body()).isEqualTo("a");
        assertThat(ProxyFixture.get(proxy, "/").body()).isEqualTo("a");
        assertThat(a.hits.get()).isEqualTo(before + 2);
    }
}
