package dev.roundhouse.bench.soak;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/** The samples of a Prometheus text exposition (version 0.0.4), enough to add up a few series. */
public final class PrometheusText {

    /** One sample: metric name, labels, value. */
    public record Sample(String name, Map<String, String> labels, double value) {}

    private final List<Sample> samples;

    private PrometheusText(List<Sample> samples) {
        this.samples = samples;
    }

    public static PrometheusText parse(String text) {
        List<Sample> samples = new ArrayList<>();
        for (String line : text.split("\n")) {
            line = line.strip();
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            Sample s = parseLine(line);
            if (s != null) {
                samples.add(s);
            }
        }
        return new PrometheusText(samples);
    }

    static Sample parseLine(String line) {
        int brace = line.indexOf('{');
        int space = line.indexOf(' ');
        String name;
        Map<String, String> labels = new LinkedHashMap<>();
        int rest;
        if (brace >= 0 && (space < 0 || brace < space)) {
            name = line.substring(0, brace);
            int i = brace + 1;
            while (i < line.length() && line.charAt(i) != '}') {
                int eq = line.indexOf('=', i);
                if (eq < 0) {
                    return null;
                }
                String key = line.substring(i, eq).strip();
                int q = eq + 1;
                if (q >= line.length() || line.charAt(q) != '"') {
                    return null;
                }
                StringBuilder value = new StringBuilder();
                int j = q + 1;
                for (; j < line.length() && line.charAt(j) != '"'; j++) {
                    char c = line.charAt(j);
                    if (c == '\\' && j + 1 < line.length()) {
                        char n = line.charAt(++j);
                        value.append(n == 'n' ? '\n' : n);
                    } else {
                        value.append(c);
                    }
                }
                labels.put(key, value.toString());
                i = j + 1;
                if (i < line.length() && line.charAt(i) == ',') {
                    i++;
                }
            }
            rest = i + 1;
        } else {
            if (space < 0) {
                return null;
            }
            name = line.substring(0, space);
            rest = space;
        }
        String[] fields = line.substring(Math.min(rest, line.length())).strip().split("\\s+");
        if (fields.length == 0 || fields[0].isEmpty()) {
            return null;
        }
        double value;
        try {
            value = switch (fields[0]) {
                case "+Inf" -> Double.POSITIVE_INFINITY;
                case "-Inf" -> Double.NEGATIVE_INFINITY;
                case "NaN" -> Double.NaN;
                default -> Double.parseDouble(fields[0]);
            };
        } catch (NumberFormatException e) {
            return null;
        }
        return new Sample(name, Map.copyOf(labels), value);
    }

    public List<Sample> samples() {
        return samples;
    }

    public boolean has(String name) {
        return samples.stream().anyMatch(s -> s.name().equals(name));
    }

    /** The sum of every sample of {@code name} whose labels pass {@code filter} (0 when none). */
    public double sum(String name, Predicate<Map<String, String>> filter) {
        double total = 0;
        for (Sample s : samples) {
            if (s.name().equals(name) && filter.test(s.labels())) {
                total += s.value();
            }
        }
        return total;
    }

    public double sum(String name) {
        return sum(name, labels -> true);
    }

    /** The largest sample of {@code name} whose labels pass {@code filter} (NaN when none). */
    public double max(String name, Predicate<Map<String, String>> filter) {
        double max = Double.NaN;
        for (Sample s : samples) {
            if (s.name().equals(name) && filter.test(s.labels()) && (Double.isNaN(max) || s.value() > max)) {
                max = s.value();
            }
        }
        return max;
    }
}
