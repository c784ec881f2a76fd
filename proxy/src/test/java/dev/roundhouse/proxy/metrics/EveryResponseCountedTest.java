package dev.roundhouse.proxy.metrics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.roundhouse.proxy.RoundhouseProxy;
import dev.roundhouse.proxy.testing.Closeables;
import dev.roundhouse.proxy.testing.ProxyFixture;
import dev.roundhouse.proxy.testing.Transport;
import dev.roundhouse.testing.RawHttp;
import dev.roundhouse.testing.TestBackend;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Every response the proxy sends is counted once in {@code roundhouse_requests_total}, with the status the client
 * got and {@code backend="none"} when no backend was involved: one request of each kind, and the counters' deltas
 * compared with what the clients received.
 */
@ParameterizedClass(name = "over {0}")
@EnumSource(Transport.class)
class EveryResponseCountedTest {

    @Parameter
    Transport transport;

    private static final Pattern SERIES = Pattern.compile(
            "roundhouse_requests_total\\{backend=\"([^\"]*)\",method=\"([^\"]*)\",status=\"(\\d+)\"} ([0-9.E]+)");

    @RegisterExtension
    final Closeables closeables = new Closeables();

    /** One request, raw, and who should be charged with its answer. */
    private record Case(String name, String request, boolean viaBackend) {}

    @Test
    void everyResponseIsCountedOnceWithTheStatusTheClientGot() {
        TestBackend backend = closeables.add(transport.start("counted"));
        RoundhouseProxy proxy = closeables.add(ProxyFixture.start(transport.trusting(ProxyFixture.env(
                "BACKENDS", backend.url(), "HEALTH_CHECK_PATH", "/health", "MAX_REQUEST_BODY", "16"))));
        String tooManyFields = "X-F: 1\r\n".repeat(200);
        List<Case> cases = List.of(
                new Case("served", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", true),
                new Case("HEAD", "HEAD / HTTP/1.1\r\nHost: x\r\n\r\n", true),
                new Case("POST with a body", "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi", true),
                new Case(
                        "two Content-Lengths",
                        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n" + "Content-Length: 2\r\n\r\nab",
                        false),
                new Case(
                        "Content-Length and Transfer-Encoding",
                        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
                                + "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                        false),
                new Case("too many header fields", "GET / HTTP/1.1\r\nHost: x\r\n" + tooManyFields + "\r\n", false),
                new Case(
                        "a header field too large",
                        "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + "a".repeat(70_000) + "\r\n\r\n",
                        false),
                // Requests only ever go to pool backends, whatever the target names.
                new Case(
                        "absolute form naming another host",
                        "GET http://elsewhere.example/ HTTP/1.1\r\n" + "Host: x\r\n\r\n",
                        true),
                new Case("request line too long", "GET /" + "a".repeat(70_000) + " HTTP/1.1\r\nHost: x\r\n\r\n", false),
                new Case("unsupported HTTP version", "GET / HTTP/2.7\r\nHost: x\r\n\r\n", false),
                new Case("unknown expectation", "GET / HTTP/1.1\r\nHost: x\r\nExpect: teapot\r\n\r\n", false),
                new Case(
                        "body over MAX_REQUEST_BODY",
                        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n" + "x".repeat(100),
                        false),
                new Case(
                        "malformed chunked body",
                        "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                                + "\r\nzz\r\nhi\r\n0\r\n\r\n",
                        false),
                new Case(
                        "chunked body over MAX_REQUEST_BODY",
                        "POST /echo HTTP/1.1\r\nHost: x\r\n" + "Transfer-Encoding: chunked\r\n\r\n40\r\n"
                                + "y".repeat(64) + "\r\n0\r\n\r\n",
                        false));

        Map<String, Double> before = counts(proxy);
        Map<String, Integer> received = new TreeMap<>();
        List<String> answers = new ArrayList<>();
        for (Case c : cases) {
            RawHttp.Response response = RawHttp.exchange(proxy.port(), c.request());
            assertThat(response.answered()).as("%s: %s", c.name(), response).isTrue();
            String method = c.request().substring(0, c.request().indexOf(' '));
            String key = (c.viaBackend() ? backend.url() : "none") + " " + method + " " + response.status();
            received.merge(key, 1, Integer::sum);
            answers.add(c.name() + " -> " + response.status());
        }
        // A chunked body cut short: the client gives up sending, and gets an answer or a closed connection. The
        // request went out with the first bytes of its body, so the answer is the proxy's refusal (400) or, when the
        // backend answered before the body ended, the backend's (200): each is counted as whose it is.
        try (RawHttp client = RawHttp.connect(proxy.port())) {
            RawHttp.Response response = client.send(
                            "POST /echo HTTP/1.1\r\nHost: x\r\n" + "Transfer-Encoding: chunked\r\n\r\n10\r\nonly-half")
                    .shutdownOutput()
                    .readResponse();
            if (response.answered()) {
                String answeredBy = response.status() == 200 ? backend.url() : "none";
                received.merge(answeredBy + " POST " + response.status(), 1, Integer::sum);
            }
            answers.add("chunked body cut short -> " + (response.answered() ? response.status() : "closed"));
        }
        // A refusal is counted when Undertow completes its exchange, which can follow the last byte the client read:
        // the counters are read until they agree or the deadline passes, and the last reading is what is reported.
        await().atMost(Duration.ofSeconds(10))
                .pollInterval(Duration.ofMillis(50))
                .untilAsserted(() -> assertThat(deltas(before, counts(proxy)))
                        .as("roundhouse_requests_total deltas against what the clients got: %s", answers)
                        .isEqualTo(received));
    }

    private static Map<String, Integer> deltas(Map<String, Double> before, Map<String, Double> after) {
        Map<String, Integer> counted = new TreeMap<>();
        after.forEach((series, value) -> {
            int delta = (int) Math.round(value - before.getOrDefault(series, 0.0));
            if (delta != 0) {
                counted.put(series, delta);
            }
        });
        return counted;
    }

    /** Every roundhouse_requests_total series as "backend method status". */
    private static Map<String, Double> counts(RoundhouseProxy proxy) {
        Map<String, Double> counts = new TreeMap<>();
        Matcher m = SERIES.matcher(ProxyFixture.metrics(proxy));
        while (m.find()) {
            counts.put(m.group(1) + " " + m.group(2) + " " + m.group(3), Double.parseDouble(m.group(4)));
        }
        return counts;
    }
}
