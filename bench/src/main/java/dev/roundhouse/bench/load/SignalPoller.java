package dev.roundhouse.bench.load;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Supplier;

/**
 * Polls a few named values (a proxy's metrics, HAProxy's server status) on a fixed period and keeps every change,
 * time-stamped in nanoseconds after the load's start, so that they line up with the requests.
 */
public final class SignalPoller {

    /** A value changed to {@code value} at {@code at} (first poll that saw it). */
    public record Transition(String signal, long at, String value) {}

    private final Map<String, Supplier<Map<String, String>>> sources = new LinkedHashMap<>();
    private final List<Transition> transitions = new ArrayList<>();
    private final Map<String, String> last = new LinkedHashMap<>();
    private final Duration period;
    private volatile boolean stop;
    private Thread thread;
    private long errors;

    public SignalPoller(Duration period) {
        this.period = period;
    }

    /** Adds a source that returns several signals at once (one scrape of a metrics page, say). */
    public SignalPoller source(String name, Supplier<Map<String, String>> source) {
        sources.put(name, source);
        return this;
    }

    /**
     * Signals from a Prometheus text page: each value is the sum of the samples of metric {@code metric} whose label
     * text contains every one of {@code labelParts}.
     */
    public static Supplier<Map<String, String>> prometheus(String url, Map<String, Selector> signals) {
        HttpClient http =
                HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();
        HttpRequest request = HttpRequest.newBuilder(URI.create(url))
                .timeout(Duration.ofSeconds(1))
                .build();
        return () -> {
            String body;
            try {
                body = http.send(request, HttpResponse.BodyHandlers.ofString()).body();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
            return evaluate(body, signals);
        };
    }

    /** A metric name and label fragments that must all appear in a sample's labels. */
    public record Selector(String metric, List<String> labelParts) {}

    static Map<String, String> evaluate(String page, Map<String, Selector> signals) {
        Map<String, Double> sums = new LinkedHashMap<>();
        signals.keySet().forEach(k -> sums.put(k, 0.0));
        for (String line : page.split("\n")) {
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            int brace = line.indexOf('{');
            int space = line.lastIndexOf(' ');
            if (space < 0) {
                continue;
            }
            String name = brace >= 0 && brace < space ? line.substring(0, brace) : line.substring(0, line.indexOf(' '));
            String labels = brace >= 0 && brace < space ? line.substring(brace, line.lastIndexOf('}') + 1) : "";
            double value;
            try {
                value = Double.parseDouble(line.substring(space + 1).strip());
            } catch (NumberFormatException e) {
                continue;
            }
            for (Map.Entry<String, Selector> s : signals.entrySet()) {
                if (s.getValue().metric().equals(name)
                        && s.getValue().labelParts().stream().allMatch(labels::contains)) {
                    sums.merge(s.getKey(), value, Double::sum);
                }
            }
        }
        Map<String, String> out = new LinkedHashMap<>();
        sums.forEach((k, v) -> out.put(k, v == Math.rint(v) ? Long.toString((long) (double) v) : v.toString()));
        return out;
    }

    /** Starts polling; times are {@code System.nanoTime() - t0}. */
    public void start(long t0) {
        thread = new Thread(
                () -> {
                    long next = System.nanoTime();
                    while (!stop) {
                        long now = System.nanoTime();
                        for (Map.Entry<String, Supplier<Map<String, String>>> source : sources.entrySet()) {
                            Map<String, String> values;
                            try {
                                values = source.getValue().get();
                            } catch (RuntimeException e) {
                                errors++;
                                values = Map.of(
                                        source.getKey() + ".error",
                                        String.valueOf(e.getCause() != null ? e.getCause() : e));
                            }
                            synchronized (transitions) {
                                for (Map.Entry<String, String> v : values.entrySet()) {
                                    if (!Objects.equals(last.get(v.getKey()), v.getValue())) {
                                        last.put(v.getKey(), v.getValue());
                                        transitions.add(new Transition(v.getKey(), now - t0, v.getValue()));
                                    }
                                }
                            }
                        }
                        next += period.toNanos();
                        for (long t = System.nanoTime(); t < next && !stop; t = System.nanoTime()) {
                            LockSupport.parkNanos(next - t);
                        }
                    }
                },
                "signal-poller");
        thread.setDaemon(true);
        thread.start();
    }

    public List<Transition> stop() throws InterruptedException {
        stop = true;
        if (thread != null) {
            thread.join(5000);
        }
        synchronized (transitions) {
            return List.copyOf(transitions);
        }
    }

    public long errors() {
        return errors;
    }
}
