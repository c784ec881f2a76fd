package dev.roundhouse.bench.pool;

import dev.roundhouse.proxy.pool.Backend;
import dev.roundhouse.proxy.pool.WeightedRoundRobin;
import java.net.URI;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * The CPU time of building the proxy's weighted rotation ({@link WeightedRoundRobin#of}), which happens under the
 * pool's lock on every reload and every health flip: for pools of {@code n} backends with random weights from 1 to
 * {@code maxWeight} (seeded), the median, p90 and max wall time of {@code builds} builds after a warm-up, on one
 * thread. Arguments: {@code [builds]}; the cases are fixed, up to the pool format's limits (1,000 backends, weights
 * up to 1,000). Run it against another build's proxy jar on the class path to compare.
 */
public final class RotationBuild {

    private RotationBuild() {}

    public static void main(String[] args) {
        int builds = args.length > 0 ? Integer.parseInt(args[0]) : 50;
        int[][] cases = {{3, 1}, {100, 1}, {1000, 1}, {100, 100}, {1000, 10}, {1000, 1000}};
        System.out.printf(
                Locale.ROOT,
                "%-10s %-10s %8s %12s %12s %12s%n",
                "backends",
                "weights",
                "builds",
                "p50 ms",
                "p90 ms",
                "max ms");
        for (int[] c : cases) {
            List<WeightedRoundRobin.Member> members = members(c[0], c[1]);
            int warmup = Math.max(3, builds / 5);
            for (int i = 0; i < warmup; i++) {
                WeightedRoundRobin.of(members);
            }
            long[] nanos = new long[builds];
            for (int i = 0; i < builds; i++) {
                long start = System.nanoTime();
                WeightedRoundRobin rotation = WeightedRoundRobin.of(members);
                nanos[i] = System.nanoTime() - start;
                if (rotation.size() != c[0]) {
                    throw new IllegalStateException("built a rotation of " + rotation.size() + " backends");
                }
            }
            Arrays.sort(nanos);
            System.out.printf(
                    Locale.ROOT,
                    "%-10d 1-%-8d %8d %12.3f %12.3f %12.3f%n",
                    c[0],
                    c[1],
                    builds,
                    nanos[builds / 2] / 1e6,
                    nanos[(int) (builds * 0.9)] / 1e6,
                    nanos[builds - 1] / 1e6);
            System.out.printf(
                    Locale.ROOT,
                    "RESULT rotation-build backends=%d max_weight=%d p50_ms=%.3f max_ms=%.3f%n",
                    c[0],
                    c[1],
                    nanos[builds / 2] / 1e6,
                    nanos[builds - 1] / 1e6);
        }
    }

    private static List<WeightedRoundRobin.Member> members(int n, int maxWeight) {
        Random random = new Random(n * 31L + maxWeight);
        List<WeightedRoundRobin.Member> members = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            String url = "http://10.0." + (i / 250) + "." + (i % 250) + ":8080";
            members.add(new WeightedRoundRobin.Member(
                    new Backend(url, URI.create(url), null), 1 + random.nextInt(maxWeight)));
        }
        return members;
    }
}
