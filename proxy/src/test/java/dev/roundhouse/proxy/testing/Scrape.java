package dev.roundhouse.proxy.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.roundhouse.proxy.RoundhouseProxy;
import java.time.Duration;

/** Reads single series out of a proxy's Prometheus scrape. */
public final class Scrape {

    private Scrape() {}

    /**
     * The value of one series written exactly as scraped, labels in the scrape's (alphabetical) order, e.g.
     * {@code roundhouse_errors_total{backend="http://127.0.0.1:1",type="timeout"}}; 0 when the series is absent.
     */
    public static double value(RoundhouseProxy proxy, String series) {
        return value(ProxyFixture.metrics(proxy), series);
    }

    /**
     * Reads {@code series} until it is exactly {@code expected}, for at most 10 s: requests, their errors and reloads
     * are counted after the response was sent or the pool swapped in (an exchange completion listener, after the
     * apply), so a single read right after can come too early. A value past {@code expected} fails all the same.
     */
    public static void awaitValue(RoundhouseProxy proxy, String series, double expected) {
        await().atMost(Duration.ofSeconds(10))
                .pollInterval(Duration.ofMillis(20))
                .untilAsserted(() -> assertThat(value(proxy, series)).as(series).isEqualTo(expected));
    }

    public static double value(String scrape, String series) {
        String prefix = series + " ";
        return scrape.lines()
                .filter(l -> l.startsWith(prefix))
                .mapToDouble(
                        l -> Double.parseDouble(l.substring(prefix.length()).trim()))
                .findFirst()
                .orElse(0);
    }

    /** {@code roundhouse_errors_total{backend="<backend>",type="<type>"}}. */
    public static double errors(RoundhouseProxy proxy, String type, String backend) {
        return value(proxy, "roundhouse_errors_total{backend=\"" + backend + "\",type=\"" + type + "\"}");
    }

    /** {@code roundhouse_requests_total{backend="<backend>",method="<method>",status="<status>"}}. */
    public static double requests(RoundhouseProxy proxy, String backend, String method, int status) {
        return value(proxy, requestsSeries(backend, method, status));
    }

    /** {@link #requests} read until it is exactly {@code expected} (see {@link #awaitValue}). */
    public static void awaitRequests(
            RoundhouseProxy proxy, String backend, String method, int status, double expected) {
        awaitValue(proxy, requestsSeries(backend, method, status), expected);
    }

    private static String requestsSeries(String backend, String method, int status) {
        return "roundhouse_requests_total{backend=\"" + backend + "\",method=\"" + method + "\",status=\"" + status
                + "\"}";
    }
}
