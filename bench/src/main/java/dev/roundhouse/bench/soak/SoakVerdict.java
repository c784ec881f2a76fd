package dev.roundhouse.bench.soak;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.ToDoubleFunction;

/**
 * The soak's goals, checked against its samples.
 *
 * <ul>
 *   <li><b>Flat</b>: the mean of a series over the last third of the run is at most {@code tolerance} above its mean
 *       over the middle third (the first third is warm-up: JIT, pools filling, heap growing to its working size).
 *       Checked for RSS and for heap used. Where full GCs were forced at one and two thirds of the run and at its
 *       end, also: live heap at the end at most {@code tolerance} (plus 1 MiB, for rounding on a small heap) above
 *       live heap at two thirds.</li>
 *   <li><b>Bounded</b>: the largest RSS sampled stays under {@code rssLimitBytes}.</li>
 *   <li><b>No error</b>: no non-2xx answer, socket error or timeout seen by the generator, and the proxy's
 *       {@code roundhouse_errors_total} did not move.</li>
 * </ul>
 */
public record SoakVerdict(List<Check> checks) {

    /** One goal: its name, whether it was met, and the numbers that say so. */
    public record Check(String name, boolean passed, String detail) {}

    public boolean passed() {
        return checks.stream().allMatch(Check::passed);
    }

    /**
     * @param samples   rows in time order; rows at {@code seconds <= 0} (the baseline) are ignored for the thirds
     * @param duration  the run's length in seconds
     * @param tolerance e.g. 0.10 for 10 %
     */
    public static SoakVerdict of(List<SoakSample> samples, double duration, double tolerance, long rssLimitBytes) {
        List<Check> checks = new ArrayList<>();
        checks.add(flat("RSS flat", samples, duration, tolerance, s -> s.rssBytes()));
        checks.add(flat("heap used flat", samples, duration, tolerance, SoakSample::heapUsedBytes));
        List<SoakSample> live =
                samples.stream().filter(s -> !Double.isNaN(s.liveHeapBytes())).toList();
        if (live.size() >= 2) {
            double before = live.get(live.size() - 2).liveHeapBytes();
            double end = live.get(live.size() - 1).liveHeapBytes();
            boolean ok = end <= before * (1 + tolerance) + 1024 * 1024;
            checks.add(new Check(
                    "live heap flat",
                    ok,
                    String.format(
                            Locale.ROOT,
                            "after forced full GCs: %.1f MiB at %.0f s, %.1f MiB at %.0f s (%+.1f %%, limit %+.0f %% + 1 MiB)",
                            mib(before),
                            live.get(live.size() - 2).seconds(),
                            mib(end),
                            live.get(live.size() - 1).seconds(),
                            growth(before, end) * 100,
                            tolerance * 100)));
        }
        long maxRss = samples.stream().mapToLong(SoakSample::rssBytes).max().orElse(0);
        checks.add(new Check(
                "RSS bounded",
                maxRss > 0 && maxRss < rssLimitBytes,
                String.format(Locale.ROOT, "max %.1f MiB, limit %.0f MiB", mib(maxRss), mib(rssLimitBytes))));
        long errors = samples.isEmpty() ? -1 : samples.get(samples.size() - 1).errorsSoFar();
        long requests = samples.isEmpty() ? 0 : samples.get(samples.size() - 1).requestsSoFar();
        checks.add(new Check(
                "no error",
                errors == 0 && requests > 0,
                String.format(Locale.ROOT, "%d errors in %d requests", errors, requests)));
        return new SoakVerdict(List.copyOf(checks));
    }

    static Check flat(
            String name,
            List<SoakSample> samples,
            double duration,
            double tolerance,
            ToDoubleFunction<SoakSample> series) {
        double middle = mean(samples, duration / 3, 2 * duration / 3, series);
        double last = mean(samples, 2 * duration / 3, Double.POSITIVE_INFINITY, series);
        if (Double.isNaN(middle) || Double.isNaN(last)) {
            return new Check(name, false, "too few samples for thirds (run longer or sample more often)");
        }
        double g = growth(middle, last);
        return new Check(
                name,
                g <= tolerance,
                String.format(
                        Locale.ROOT,
                        "mean %.1f MiB in the middle third, %.1f MiB in the last (%+.1f %%, limit %+.0f %%)",
                        mib(middle),
                        mib(last),
                        g * 100,
                        tolerance * 100));
    }

    /** Mean of the series over samples with {@code from < seconds <= to}; NaN when there are none. */
    static double mean(List<SoakSample> samples, double from, double to, ToDoubleFunction<SoakSample> series) {
        double sum = 0;
        int n = 0;
        for (SoakSample s : samples) {
            if (s.seconds() > from && s.seconds() <= to && s.seconds() > 0) {
                sum += series.applyAsDouble(s);
                n++;
            }
        }
        return n == 0 ? Double.NaN : sum / n;
    }

    static double growth(double before, double after) {
        return before <= 0 ? 0 : after / before - 1;
    }

    static double mib(double bytes) {
        return bytes / (1024.0 * 1024.0);
    }
}
