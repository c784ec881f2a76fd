package dev.roundhouse.poolformat;

import java.math.BigDecimal;
import java.time.Duration;
import java.util.Objects;

/**
 * Go-style duration strings ("250ms", "30s", "1m30s", "1.5s", "1h"), as Kubernetes users write them.
 * Only the units ms, s, m and h are accepted; components may carry a decimal fraction.
 */
public final class Durations {

    private static final long NANOS_PER_MILLI = 1_000_000L;
    private static final long NANOS_PER_SECOND = 1_000_000_000L;

    private Durations() {}

    /**
     * Parses a non-negative duration; throws {@link IllegalArgumentException} saying what is wrong.
     * Whole-number components (the usual "30s", "250ms") are summed in exact long arithmetic; only a
     * component with a fraction takes {@link BigDecimal}. No regular expression: this runs on every reload,
     * mostly as interpreted code (a pattern compiled per call cost more than the rest of the parse).
     */
    public static Duration parse(String text) {
        if (text == null || text.isEmpty()) {
            throw new IllegalArgumentException("duration is empty (expected e.g. '30s' or '1m30s')");
        }
        if (text.startsWith("-")) {
            throw invalid(text, "must not be negative");
        }
        long whole = 0; // the sum of the whole-number components, in nanoseconds
        BigDecimal fractions = null; // the sum of the components with a fraction, if any
        int i = 0;
        while (i < text.length()) {
            int start = i;
            while (i < text.length() && (isDigit(text.charAt(i)) || text.charAt(i) == '.')) {
                i++;
            }
            String number = text.substring(start, i);
            if (!isDecimal(number)) {
                throw invalid(
                        text,
                        number.isEmpty()
                                ? "expected a number at position " + start
                                : "'" + number + "' is not a number");
            }
            start = i;
            while (i < text.length() && !isDigit(text.charAt(i)) && text.charAt(i) != '.') {
                i++;
            }
            long unit = nanosPerUnit(text, text.substring(start, i));
            if (number.indexOf('.') >= 0) {
                BigDecimal part = new BigDecimal(number).multiply(BigDecimal.valueOf(unit));
                fractions = fractions == null ? part : fractions.add(part);
            } else {
                try {
                    whole = Math.addExact(whole, Math.multiplyExact(Long.parseLong(number), unit));
                } catch (ArithmeticException | NumberFormatException e) { // NumberFormatException: beyond a long
                    throw invalid(text, "too large");
                }
            }
        }
        if (fractions == null) {
            return Duration.ofNanos(whole);
        }
        BigDecimal nanos = fractions.add(BigDecimal.valueOf(whole));
        if (nanos.stripTrailingZeros().scale() > 0) {
            throw invalid(text, "finer than a nanosecond");
        }
        if (nanos.compareTo(BigDecimal.valueOf(Long.MAX_VALUE)) > 0) {
            throw invalid(text, "too large");
        }
        return Duration.ofNanos(nanos.longValueExact());
    }

    /**
     * The canonical form: hours, minutes and seconds with zero parts left out ("1h", "1m30s", "1.5s"),
     * or milliseconds below one second ("250ms"). Zero is "0s". {@code parse(format(d))} equals {@code d}.
     */
    public static String format(Duration d) {
        Objects.requireNonNull(d, "duration");
        if (d.isNegative()) {
            throw new IllegalArgumentException("negative duration cannot be written: " + d);
        }
        if (d.isZero()) {
            return "0s";
        }
        long seconds = d.getSeconds();
        if (seconds == 0) {
            return decimal(d.getNano(), NANOS_PER_MILLI) + "ms";
        }
        StringBuilder out = new StringBuilder();
        if (seconds >= 3600) {
            out.append(seconds / 3600).append('h');
        }
        if (seconds % 3600 >= 60) {
            out.append(seconds % 3600 / 60).append('m');
        }
        if (seconds % 60 != 0 || d.getNano() != 0) {
            out.append(decimal(seconds % 60 * NANOS_PER_SECOND + d.getNano(), NANOS_PER_SECOND))
                    .append('s');
        }
        return out.toString();
    }

    private static long nanosPerUnit(String text, String unit) {
        return switch (unit) {
            case "ms" -> NANOS_PER_MILLI;
            case "s" -> NANOS_PER_SECOND;
            case "m" -> 60 * NANOS_PER_SECOND;
            case "h" -> 3600 * NANOS_PER_SECOND;
            case "" -> throw invalid(text, "missing unit (use ms, s, m or h)");
            default -> throw invalid(text, "unknown unit '" + unit + "' (use ms, s, m or h)");
        };
    }

    /** {@code value / unit} as a plain decimal without trailing zeros. */
    private static String decimal(long value, long unit) {
        return BigDecimal.valueOf(value)
                .divide(BigDecimal.valueOf(unit))
                .stripTrailingZeros()
                .toPlainString();
    }

    /** The regular expression {@code \d+(\.\d+)?}, for text made only of digits and dots (as {@link #parse} scans it). */
    private static boolean isDecimal(String number) {
        int dot = number.indexOf('.');
        if (dot < 0) {
            return !number.isEmpty();
        }
        return dot > 0 && dot < number.length() - 1 && number.indexOf('.', dot + 1) < 0;
    }

    private static boolean isDigit(char c) {
        return c >= '0' && c <= '9';
    }

    private static IllegalArgumentException invalid(String text, String reason) {
        return new IllegalArgumentException("invalid duration '" + text + "': " + reason);
    }
}
