package dev.roundhouse.proxy.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.roundhouse.proxy.RoundhouseProxy;
import dev.roundhouse.proxy.pool.Backend;
import dev.roundhouse.proxy.testing.BlackholeBackend;
import dev.roundhouse.proxy.testing.Closeables;
import dev.roundhouse.proxy.testing.ProxyFixture;
import dev.roundhouse.proxy.testing.Scrape;
import dev.roundhouse.testing.TestBackend;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A backend whose connects hang beside one that answers: how many requests pay the connect timeout. One in N
 * while its failures are few, none once it has failed {@code consecutiveConnectFailures} times in a row, and it
 * comes back when a health check or a half-open probe gets through.
 */
class BlackholedBackendTest {

    @RegisterExtension
    final Closeables closeables = new Closeables();

    private RoundhouseProxy proxy(String backends, String... env) {
        Map<String, String> environment = ProxyFixture.env(env);
        environment.put("BACKENDS", backends);
        environment.put("CONNECT_TIMEOUT", "200ms");
        environment.putIfAbsent("HEALTH_CHECK_INTERVAL", "1h"); // the first round runs at start, then none
        return closeables.add(ProxyFixture.start(environment));
    }

    private static void allServed(RoundhouseProxy proxy, int requests, String body) {
        for (int i = 0; i < requests; i++) {
            HttpResponse<String> response = ProxyFixture.get(proxy, "/" + i);
            assertThat(response.statusCode()).as("request %d", i).isEqualTo(200);
            assertThat(response.body()).isEqualTo(body);
        }
    }

    @Test
    void aRetryDoesNotMoveTheNextRequestsPickOntoTheFailingBackend() throws Exception {
        BlackholeBackend hanging = closeables.add(BlackholeBackend.start());
        TestBackend alive = closeables.add(TestBackend.start("alive"));
        // Ejection off: only the rotation decides. The hanging backend is first in the sequence.
        RoundhouseProxy proxy = proxy(hanging.url() + "," + alive.url(), "CB_CONSECUTIVE_CONNECT_FAILURES", "0");

        allServed(proxy, 4, "alive");

        // Every other request starts on the hanging backend, as its weight says; a retry of one request on the
        // next backend must not take the following request's turn, or every request starts on the hanging one.
        assertThat(Scrape.errors(proxy, "connect", hanging.url())).isEqualTo(2.0);
    }

    @Test
    void consecutiveConnectFailuresTakeTheBackendOutOfRotationAtOnce() throws Exception {
        BlackholeBackend hanging = closeables.add(BlackholeBackend.start());
        TestBackend alive = closeables.add(TestBackend.start("alive"));
        RoundhouseProxy proxy = proxy(hanging.url() + "," + alive.url()); // the default: 3

        allServed(proxy, 12, "alive");

        assertThat(Scrape.errors(proxy, "connect", hanging.url()))
                .as("connect timeouts paid before the backend left the rotation")
                .isEqualTo(3.0);
        assertThat(Scrape.value(
                        proxy, "resilience4j_circuitbreaker_state{name=\"" + hanging.url() + "\",state=\"open\"}"))
                .isEqualTo(1.0);
    }

    @Test
    void aRefusingBackendIsTakenOutAfterExactlyTheConsecutiveFailureCountWhilePicksStayOneInTwo() throws Exception {
        int refusing;
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            refusing = taken.getLocalPort(); // closed again: connects to it are refused at once
        }
        String refused = "http://127.0.0.1:" + refusing;
        TestBackend alive = closeables.add(TestBackend.start("alive"));
        RoundhouseProxy proxy = proxy(refused + "," + alive.url()); // the default: 3

        List<Integer> failedOn = new ArrayList<>();
        double failures = 0;
        for (int i = 0; i < 12; i++) {
            HttpResponse<String> response = ProxyFixture.get(proxy, "/" + i);
            assertThat(response.statusCode()).as("request %d", i).isEqualTo(200);
            assertThat(response.body()).isEqualTo("alive");
            double now = Scrape.errors(proxy, "connect", refused);
            if (now > failures) {
                failedOn.add(i);
            }
            failures = now;
        }

        assertThat(failures)
                .as("refused connects before the backend left the rotation")
                .isEqualTo(3.0);
        // One request in two started on it until then: a retry on the other backend took no request's turn.
        int first = failedOn.get(0);
        assertThat(failedOn).containsExactly(first, first + 2, first + 4);
        assertThat(Scrape.value(proxy, "resilience4j_circuitbreaker_state{name=\"" + refused + "\",state=\"open\"}"))
                .isEqualTo(1.0);
    }

    @Test
    void concurrentRequestsPayTheConnectTimeoutNoMoreOftenThanTheConsecutiveFailureCount() throws Exception {
        BlackholeBackend turning = closeables.add(BlackholeBackend.serving());
        TestBackend alive = closeables.add(TestBackend.start("alive"));
        RoundhouseProxy proxy = proxy(turning.url() + "," + alive.url()); // the default: 3
        burst(proxy, 40, Set.of("alive", "recovered")); // kept-alive connections to both, as in service

        // Its listen queue is short, so on a busy machine a few connects of the first burst may time out too.
        double before = Scrape.errors(proxy, "connect", turning.url());

        // Its connections end and new connects hang: forty requests at once, half of which start on it.
        turning.blackhole();
        burst(proxy, 40, Set.of("alive"));

        assertThat(Scrape.errors(proxy, "connect", turning.url()) - before)
                .as("requests that waited for a connect to the hanging backend")
                .isLessThanOrEqualTo(3.0);
    }

    @Test
    void queuedRequestsPayTheConnectTimeoutNoMoreOftenThanTheConsecutiveFailureCount() throws Exception {
        BlackholeBackend turning = closeables.add(BlackholeBackend.holding());
        TestBackend alive = closeables.add(TestBackend.start("alive"));
        // One connection per I/O thread to each backend: its further requests queue in the proxy, and each
        // connection that ends hands its place to the next of them, which has to open a new one.
        RoundhouseProxy proxy = proxy(turning.url() + "," + alive.url(), "MAX_CONNECTIONS_PER_THREAD", "1");
        Backend held = proxy.pool().snapshot().backends().stream()
                .filter(b -> b.key().equals(turning.url()))
                .findFirst()
                .orElseThrow();
        ExecutorService clients = Executors.newFixedThreadPool(20);
        try {
            List<Future<HttpResponse<String>>> responses = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                int n = i;
                responses.add(clients.submit(() -> ProxyFixture.get(proxy, "/queued-" + n)));
            }
            // Every other request starts on the holding backend: held there, or queued behind those held.
            await("ten requests held by the backend or queued for it")
                    .atMost(Duration.ofSeconds(20))
                    .pollInterval(Duration.ofMillis(10))
                    .until(() -> held.inFlight() == 10 && turning.held() >= 1);

            // The connections it holds end unanswered just as its connects start to hang: each queued request
            // in turn needs a new connect.
            turning.blackhole();

            for (Future<HttpResponse<String>> response : responses) {
                HttpResponse<String> r = response.get(30, TimeUnit.SECONDS);
                assertThat(r.statusCode()).isEqualTo(200);
                assertThat(r.body()).isEqualTo("alive");
            }
        } finally {
            clients.shutdownNow();
        }
        assertThat(Scrape.errors(proxy, "connect", turning.url()))
                .as("requests that waited for a connect to the hanging backend")
                .isLessThanOrEqualTo(3.0);
    }

    @Test
    void concurrentRequestsToAnH2cBackendPayTheConnectTimeoutNoMoreOftenThanTheConsecutiveFailureCount()
            throws Exception {
        TestBackend turning = TestBackend.startHttp2("turning", null);
        TestBackend alive = closeables.add(TestBackend.startHttp2("alive", null));
        RoundhouseProxy proxy = proxy(turning.url() + ";protocol=h2c," + alive.url() + ";protocol=h2c"); // 3
        burst(proxy, 40, Set.of("alive", "turning")); // HTTP/2 connections to both, as in service

        // It goes away, its connections end, and connects to its port hang from now on.
        turning.close();
        BlackholeBackend hanging = closeables.add(BlackholeBackend.takeOver(turning.port()));
        String open = "resilience4j_circuitbreaker_state{name=\"" + hanging.url() + "\",state=\"open\"}";
        double before = Scrape.errors(proxy, "connect", hanging.url());
        double servedBefore = Scrape.requests(proxy, alive.url(), "GET", 200);

        // Bursts of forty requests at once, half of which start on the hanging backend, until it is out of rotation:
        // a request that would wait on a connect to it under way goes to the other backend instead.
        int bursts = 0;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (Scrape.value(proxy, open) != 1.0) {
            assertThat(System.nanoTime())
                    .as("the hanging backend out of rotation within 20 s")
                    .isLessThan(deadline);
            burst(proxy, 40, Set.of("alive"));
            bursts++;
        }

        assertThat(Scrape.errors(proxy, "connect", hanging.url()) - before)
                .as("requests that waited for a connect to the hanging h2c backend")
                .isLessThanOrEqualTo(3.0);
        assertThat(Scrape.requests(proxy, alive.url(), "GET", 200) - servedBefore)
                .isEqualTo(40.0 * bursts);
    }

    @Test
    void twoHealthyH2cBackendsShareTheRequestsOnceTheirConnectionsAreUp() throws Exception {
        TestBackend one = closeables.add(TestBackend.startHttp2("one", null));
        TestBackend two = closeables.add(TestBackend.startHttp2("two", null));
        RoundhouseProxy proxy = proxy(one.url() + ";protocol=h2c," + two.url() + ";protocol=h2c");
        burst(proxy, 40, Set.of("one", "two")); // a cold start may spill from one to the other while connects run

        int before = one.hits.get();
        allServedByEither(proxy, 20);
        assertThat(one.hits.get() - before)
                .as("of 20 requests, one in two on each")
                .isEqualTo(10);
        assertThat(Scrape.errors(proxy, "connect", one.url()) + Scrape.errors(proxy, "connect", two.url()))
                .isEqualTo(0.0);
    }

    private static void allServedByEither(RoundhouseProxy proxy, int requests) {
        for (int i = 0; i < requests; i++) {
            HttpResponse<String> response = ProxyFixture.get(proxy, "/" + i);
            assertThat(response.statusCode()).as("request %d", i).isEqualTo(200);
            assertThat(response.body()).isIn("one", "two");
        }
    }

    /** {@code count} requests at once, each answered 200 by one of {@code bodies}. */
    private static void burst(RoundhouseProxy proxy, int count, Set<String> bodies) throws Exception {
        ExecutorService clients = Executors.newFixedThreadPool(count);
        try {
            List<Future<HttpResponse<String>>> responses = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                int n = i;
                responses.add(clients.submit(() -> ProxyFixture.get(proxy, "/burst-" + n)));
            }
            for (Future<HttpResponse<String>> response : responses) {
                HttpResponse<String> r = response.get(30, TimeUnit.SECONDS);
                assertThat(r.statusCode()).isEqualTo(200);
                assertThat(r.body()).isIn(bodies);
            }
        } finally {
            clients.shutdownNow();
        }
    }

    @Test
    void anEjectedBackendReturnsWhenAHealthCheckSucceeds() throws Exception {
        BlackholeBackend hanging = closeables.add(BlackholeBackend.start());
        TestBackend alive = closeables.add(TestBackend.start("alive"));
        RoundhouseProxy proxy = proxy(
                hanging.url() + "," + alive.url(),
                "HEALTH_CHECK_INTERVAL",
                "100ms",
                "HEALTH_CHECK_TIMEOUT",
                "100ms",
                "UNHEALTHY_THRESHOLD",
                "100",
                "HEALTHY_THRESHOLD",
                "1",
                "CB_WAIT_IN_OPEN",
                "1h",
                "CB_CONSECUTIVE_CONNECT_FAILURES",
                "2");
        allServed(proxy, 6, "alive");
        assertThat(Scrape.errors(proxy, "connect", hanging.url())).isEqualTo(2.0);

        hanging.recover();

        await("requests on the recovered backend")
                .atMost(Duration.ofSeconds(10))
                .pollInterval(Duration.ofMillis(50))
                .until(() -> ProxyFixture.get(proxy, "/after").body().equals("recovered"));
    }

    @Test
    void anEjectedBackendReturnsWhenAHalfOpenProbeSucceeds() throws Exception {
        BlackholeBackend hanging = closeables.add(BlackholeBackend.start());
        TestBackend alive = closeables.add(TestBackend.start("alive"));
        // No health check after the first round: only the breaker's half-open probes can bring it back.
        RoundhouseProxy proxy = proxy(
                hanging.url() + "," + alive.url(),
                "CB_WAIT_IN_OPEN",
                "200ms",
                "CB_HALF_OPEN_CALLS",
                "1",
                "CB_CONSECUTIVE_CONNECT_FAILURES",
                "2");
        allServed(proxy, 6, "alive");
        assertThat(Scrape.errors(proxy, "connect", hanging.url())).isEqualTo(2.0);

        hanging.recover();

        await("requests on the recovered backend")
                .atMost(Duration.ofSeconds(10))
                .pollInterval(Duration.ofMillis(50))
                .until(() -> ProxyFixture.get(proxy, "/after").body().equals("recovered"));
    }
}
