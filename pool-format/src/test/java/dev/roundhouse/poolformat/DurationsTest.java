package dev.roundhouse.poolformat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

class DurationsTest {

    static Stream<Arguments> parses() {
        return Stream.of(
                Arguments.of("250ms", Duration.ofMillis(250)),
                Arguments.of("2s", Duration.ofSeconds(2)),
                Arguments.of("1m", Duration.ofMinutes(1)),
                Arguments.of("1h", Duration.ofHours(1)),
                Arguments.of("1m30s", Duration.ofSeconds(90)),
                Arguments.of("1h0m0s", Duration.ofHours(1)),
                Arguments.of("1.5s", Duration.ofMillis(1500)),
                Arguments.of("0.5ms", Duration.ofNanos(500_000)),
                Arguments.of("1.25h", Duration.ofMinutes(75)),
                Arguments.of("90s", Duration.ofSeconds(90)),
                Arguments.of("0s", Duration.ZERO),
                Arguments.of("1s500ms", Duration.ofMillis(1500)),
                // a fraction and whole numbers in one duration: the exact sum
                Arguments.of("1.5s500ms", Duration.ofSeconds(2)),
                Arguments.of("0.0000005ms0.0000005ms", Duration.ofNanos(1)),
                // the largest whole number of hours a long of nanoseconds holds
                Arguments.of("2562047h", Duration.ofHours(2562047)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("parses")
    void parsesGoStyleDurations(String text, Duration expected) {
        assertThat(Durations.parse(text)).isEqualTo(expected);
    }

    @ParameterizedTest(name = "''{0}''")
    @CsvSource(
            delimiter = '|',
            quoteCharacter = '"',
            value = {
                "\"\"          | duration is empty",
                "-1s           | must not be negative",
                "5             | missing unit",
                "5x            | unknown unit 'x'",
                "1us           | unknown unit 'us'",
                "1µs           | unknown unit 'µs'",
                "1ns           | unknown unit 'ns'",
                "1S            | unknown unit 'S'",
                "s             | expected a number at position 0",
                "\" 1s\"       | expected a number at position 0",
                "1s2           | missing unit",
                "1.s           | '1.' is not a number",
                ".5s           | '.5' is not a number",
                "1e3s          | unknown unit 'e'",
                "9999999999h   | too large",
                "2562048h      | too large",
                "99999999999999999999s | too large",
                "9223372036854775807ms | too large",
                "1.2.3s        | '1.2.3' is not a number",
                "1..2s         | '1..2' is not a number",
                "0.0000000001s | finer than a nanosecond",
            })
    void rejectsWithAClearMessage(String text, String reason) {
        assertThatThrownBy(() -> Durations.parse(text))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(reason);
    }

    @Test
    void rejectsNull() {
        assertThatThrownBy(() -> Durations.parse(null))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("empty");
    }

    static Stream<Arguments> formats() {
        return Stream.of(
                Arguments.of(Duration.ofSeconds(30), "30s"),
                Arguments.of(Duration.ofSeconds(90), "1m30s"),
                Arguments.of(Duration.ofMillis(250), "250ms"),
                Arguments.of(Duration.ofHours(1), "1h"),
                Arguments.of(Duration.ofMinutes(61), "1h1m"),
                Arguments.of(Duration.ofSeconds(3601), "1h1s"),
                Arguments.of(Duration.ofMillis(1500), "1.5s"),
                Arguments.of(Duration.ofMillis(3_600_500), "1h0.5s"),
                Arguments.of(Duration.ofNanos(500_000), "0.5ms"),
                Arguments.of(Duration.ofNanos(1), "0.000001ms"),
                Arguments.of(Duration.ofSeconds(60), "1m"),
                Arguments.of(Duration.ZERO, "0s"));
    }

    @ParameterizedTest(name = "{1}")
    @MethodSource("formats")
    void formatsInShortestCanonicalFormThatParsesBack(Duration duration, String expected) {
        assertThat(Durations.format(duration)).isEqualTo(expected);
        assertThat(Durations.parse(expected)).isEqualTo(duration);
    }

    @Test
    void refusesToFormatNegativeDurations() {
        assertThatThrownBy(() -> Durations.format(Duration.ofSeconds(-1)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("negative");
    }
}
