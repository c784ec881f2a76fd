package dev.roundhouse.bench.load;

import dev.roundhouse.poolformat.Durations;
import java.net.URI;
import java.time.Duration;
import java.util.Locale;

/**
 * One fixed-rate run: {@code rate} requests per second in total over {@code connections} keep-alive connections to
 * {@code url}, for {@code duration} (which includes {@code warmup}; requests due in the warm-up are sent but not
 * counted). {@code timeout} bounds connecting and each response. {@code backendHeader} names the response header
 * that says which backend answered (null: none). {@code recordEvents} keeps every request for later analysis.
 */
public record LoadOptions(
        URI url,
        int connections,
        double rate,
        Duration duration,
        Duration warmup,
        Duration timeout,
        String backendHeader,
        boolean recordEvents) {

    public LoadOptions {
        if (url == null || !"http".equalsIgnoreCase(url.getScheme()) || url.getHost() == null) {
            throw new IllegalArgumentException("url must be http://host[:port][/path], got " + url);
        }
        new Schedule(rate, connections); // validates both
        if (duration == null || duration.isZero() || duration.isNegative()) {
            throw new IllegalArgumentException("duration must be positive");
        }
        if (warmup == null || warmup.isNegative() || warmup.compareTo(duration) >= 0) {
            throw new IllegalArgumentException("warm-up must be at least 0 and shorter than the duration");
        }
        if (timeout == null || timeout.isZero() || timeout.isNegative()) {
            throw new IllegalArgumentException("timeout must be positive");
        }
    }

    /** Reads the common load options from command-line arguments, with defaults. */
    public static LoadOptions from(Args args, Duration defaultDuration, boolean recordEvents) {
        return new LoadOptions(
                URI.create(args.required("url")),
                args.integer("connections", 64),
                args.decimal("rate", 2000),
                args.duration("duration", defaultDuration),
                args.duration("warmup", Duration.ofSeconds(3)),
                args.duration("timeout", Duration.ofSeconds(2)),
                args.string("backend-header", "X-Backend"),
                recordEvents);
    }

    public LoadOptions withDuration(Duration d) {
        return new LoadOptions(url, connections, rate, d, warmup, timeout, backendHeader, recordEvents);
    }

    public String describe() {
        return String.format(
                Locale.ROOT,
                "%s, %d connections, %s req/s, %s (first %s warm-up, not counted), timeout %s",
                url,
                connections,
                rate == Math.rint(rate) ? Long.toString((long) rate) : Double.toString(rate),
                Durations.format(duration),
                Durations.format(warmup),
                Durations.format(timeout));
    }
}
