package dev.roundhouse.proxy.metrics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.roundhouse.proxy.RoundhouseProxy;
import dev.roundhouse.proxy.testing.ProxyFixture;
import dev.roundhouse.testing.RawHttp;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What the clients of one proxy received, against what its {@code roundhouse_requests_total} counted from the moment
 * this was made: each answer a client got is noted as "backend method status", and the counters' deltas must come to
 * exactly those.
 */
final class CountedAnswers {

    private static final Pattern SERIES = Pattern.compile(
            "roundhouse_requests_total\\{backend=\"([^\"]*)\",method=\"([^\"]*)\",status=\"(\\d+)\"} ([0-9.E]+)");

    private final RoundhouseProxy proxy;
    private final Map<String, Double> before;
    private final Map<String, Integer> received = new TreeMap<>();
    private final List<String> answers = new ArrayList<>();

    private CountedAnswers(RoundhouseProxy proxy) {
        this.proxy = proxy;
        this.before = counts(proxy);
    }

    /** Starts counting now: what {@code proxy} counted before is left out. */
    static CountedAnswers of(RoundhouseProxy proxy) {
        return new CountedAnswers(proxy);
    }

    /**
     * Sends {@code request} on a connection of its own, expects {@code status} back, and notes it as answered for
     * {@code backend}.
     */
    void exchange(String what, String request, String backend, int status) {
        RawHttp.Response response = RawHttp.exchange(proxy.port(), request);
        assertThat(response.status()).as("%s: %s", what, response).isEqualTo(status);
        got(what, backend, request.substring(0, request.indexOf(' ')), response.status());
    }

    /**
     * A POST whose head and first body bytes go to the backend and whose rest never comes: the request timeout
     * passes while the proxy waits for it, the client's fault, answered 408 by the proxy itself.
     */
    void bodyThatNeverArrives(String path) {
        try (RawHttp client = RawHttp.connect(proxy.port())) {
            RawHttp.Response response = client.send(
                            "POST " + path + " HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nhi")
                    .readResponse();
            assertThat(response.status())
                    .as("a body that does not arrive in time: %s", response)
                    .isEqualTo(408);
            got("a body that does not arrive in time", "none", "POST", response.status());
        }
    }

    /** A client got {@code status} for a {@code method} request, answered by {@code backend} ("none": the proxy). */
    void got(String what, String backend, String method, int status) {
        received.merge(backend + " " + method + " " + status, 1, Integer::sum);
        answers.add(what + " -> " + status + " (" + backend + ")");
    }

    /** Notes what a client saw without an answer (nothing is expected to be counted for it). */
    void noted(String what) {
        answers.add(what);
    }

    /**
     * The counters' deltas come to exactly what the clients got. A request is counted when its exchange completes,
     * which can follow the last byte the client read: the counters are read until they agree or the deadline passes,
     * and the last reading is what is reported.
     */
    void awaitCountedOnce() {
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
