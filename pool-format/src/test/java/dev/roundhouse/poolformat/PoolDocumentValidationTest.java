package dev.roundhouse.poolformat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.roundhouse.poolformat.PoolDocument.BackendEntry;
import dev.roundhouse.poolformat.PoolDocument.CircuitBreaker;
import dev.roundhouse.poolformat.PoolDocument.HealthCheck;
import dev.roundhouse.poolformat.PoolDocument.Timeouts;
import java.time.Duration;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

class PoolDocumentValidationTest {

    /** Problems reported for a document; single quotes stand for double quotes to keep the JSON readable. */
    static List<String> problemsOf(String json) {
        String text = json.replace('\'', '"');
        return catchThrowableOfType(InvalidPoolDocumentException.class, () -> PoolDocumentCodec.parse(text))
                .problems();
    }

    /** A valid document with one backend plus the given top-level members. */
    static String docWith(String members) {
        return "{'version': 1, 'backends': [{'url': 'http://a:80'}], " + members + "}";
    }

    static Stream<Arguments> singleProblems() {
        return Stream.of(
                // document and version
                Arguments.of("[]", "document: must be a JSON object, got array"),
                Arguments.of("'pool'", "document: must be a JSON object, got string"),
                Arguments.of("{'backends': []}", "version: required"),
                Arguments.of("{'version': '1', 'backends': []}", "version: must be an integer, got string"),
                Arguments.of("{'version': 1.5, 'backends': []}", "version: must be an integer, got 1.5"),
                Arguments.of(
                        "{'version': 5, 'backends': []}",
                        "version: unsupported version 5 (this build reads versions 1 to 4)"),
                Arguments.of(
                        "{'version': 0, 'backends': []}",
                        "version: unsupported version 0 (this build reads versions 1 to 4)"),
                // version 2's field is unknown in version 1, and has a range
                Arguments.of(
                        "{'version': 1, 'backends': [], 'circuitBreaker': {'consecutiveConnectFailures': 5}}",
                        "circuitBreaker.consecutiveConnectFailures: unknown field"),
                Arguments.of(
                        "{'version': 2, 'backends': [], 'circuitBreaker': {'consecutiveConnectFailures': -1}}",
                        "circuitBreaker.consecutiveConnectFailures: must be between 0 and 1000, got -1"),
                Arguments.of(
                        "{'version': 2, 'backends': [], 'circuitBreaker': {'consecutiveConnectFailures': 1001}}",
                        "circuitBreaker.consecutiveConnectFailures: must be between 0 and 1000, got 1001"),
                // unknown fields, at every level
                Arguments.of(docWith("'backend': []"), "backend: unknown field"),
                Arguments.of(docWith("'healthCheck': {'intervl': '5s'}"), "healthCheck.intervl: unknown field"),
                Arguments.of(
                        docWith("'circuitBreaker': {'failureRate': 5}"), "circuitBreaker.failureRate: unknown field"),
                Arguments.of(docWith("'timeouts': {'read': '5s'}"), "timeouts.read: unknown field"),
                Arguments.of(
                        "{'version': 1, 'backends': [{'url': 'http://a:80', 'wieght': 2}]}",
                        "backends[0].wieght: unknown field"),
                // backends
                Arguments.of("{'version': 1}", "backends: required (an empty list is allowed)"),
                Arguments.of(
                        "{'version': 1, 'backends': {'url': 'http://a:80'}}", "backends: must be an array, got object"),
                Arguments.of(
                        "{'version': 1, 'backends': ['http://a:80']}", "backends[0]: must be an object, got string"),
                Arguments.of("{'version': 1, 'backends': [{'weight': 2}]}", "backends[0].url: required"),
                Arguments.of(
                        "{'version': 1, 'backends': [{'url': 8080}]}", "backends[0].url: must be a string, got number"),
                Arguments.of(
                        "{'version': 1, 'backends': [{'url': 'http://a:80'}, {'url': 'ftp://b'}]}",
                        "backends[1].url: scheme must be http or https, got 'ftp'"),
                Arguments.of(
                        "{'version': 1, 'backends': [{'url': 'http://a:80/api'}]}",
                        "backends[0].url: path is not allowed (the client's path is forwarded), got '/api'"),
                Arguments.of(
                        "{'version': 1, 'backends': [{'url': 'http://a:80', 'weight': 0}]}",
                        "backends[0].weight: must be between 1 and 1000, got 0"),
                Arguments.of(
                        "{'version': 1, 'backends': [{'url': 'http://a:80', 'weight': 1001}]}",
                        "backends[0].weight: must be between 1 and 1000, got 1001"),
                Arguments.of(
                        "{'version': 1, 'backends': [{'url': 'http://a:80', 'weight': '3'}]}",
                        "backends[0].weight: must be an integer, got string"),
                Arguments.of(
                        "{'version': 1, 'backends': [{'url': 'http://a:80', 'weight': 1.5}]}",
                        "backends[0].weight: must be an integer, got 1.5"),
                Arguments.of(
                        "{'version': 1, 'backends': [{'url': 'http://a:80', 'weight': 99999999999}]}",
                        "backends[0].weight: out of range, got 99999999999"),
                Arguments.of(
                        "{'version': 1, 'backends': [{'url': 'http://a:80', 'weight': null}]}",
                        "backends[0].weight: must be an integer, got null"),
                Arguments.of(
                        "{'version': 1, 'backends': [{'url': 'http://a'}, {'url': 'http://b'}, {'url': 'HTTP://A:80/'}]}",
                        "backends[2].url: duplicate of backends[0] (both are http://a:80)"),
                // healthCheck
                Arguments.of(docWith("'healthCheck': '/healthz'"), "healthCheck: must be an object, got string"),
                Arguments.of(
                        docWith("'healthCheck': {'path': 'healthz'}"),
                        "healthCheck.path: must start with '/', got 'healthz'"),
                Arguments.of(docWith("'healthCheck': {'path': ''}"), "healthCheck.path: must start with '/', got ''"),
                Arguments.of(
                        docWith("'healthCheck': {'path': '/health z'}"),
                        "healthCheck.path: must not contain whitespace or control characters"),
                Arguments.of(
                        docWith("'healthCheck': {'path': '/health\\tz'}"),
                        "healthCheck.path: must not contain whitespace or control characters"),
                Arguments.of(
                        docWith("'healthCheck': {'path': '/health\\u0000'}"),
                        "healthCheck.path: must not contain whitespace or control characters"),
                Arguments.of(
                        docWith("'healthCheck': {'path': '/" + "a".repeat(1024) + "'}"),
                        "healthCheck.path: at most 1024 characters, got 1025"),
                Arguments.of(docWith("'healthCheck': {'path': 7}"), "healthCheck.path: must be a string, got number"),
                Arguments.of(
                        docWith("'healthCheck': {'interval': '9ms'}"),
                        "healthCheck.interval: must be between 10ms and 1h, got 9ms"),
                Arguments.of(
                        docWith("'healthCheck': {'interval': '1h1s'}"),
                        "healthCheck.interval: must be between 10ms and 1h, got 1h1s"),
                Arguments.of(
                        docWith("'healthCheck': {'interval': 30}"),
                        "healthCheck.interval: must be a duration string such as \"30s\", got number"),
                Arguments.of(
                        docWith("'healthCheck': {'interval': '30'}"),
                        "healthCheck.interval: invalid duration '30': missing unit (use ms, s, m or h)"),
                Arguments.of(
                        docWith("'healthCheck': {'timeout': '2h'}"),
                        "healthCheck.timeout: must be between 10ms and 1h, got 2h"),
                Arguments.of(
                        docWith("'healthCheck': {'timeout': '-2s'}"),
                        "healthCheck.timeout: invalid duration '-2s': must not be negative"),
                Arguments.of(
                        docWith("'healthCheck': {'healthyThreshold': 0}"),
                        "healthCheck.healthyThreshold: must be between 1 and 100, got 0"),
                Arguments.of(
                        docWith("'healthCheck': {'unhealthyThreshold': 101}"),
                        "healthCheck.unhealthyThreshold: must be between 1 and 100, got 101"),
                // circuitBreaker
                Arguments.of(docWith("'circuitBreaker': []"), "circuitBreaker: must be an object, got array"),
                Arguments.of(
                        docWith("'circuitBreaker': {'failureRateThreshold': 0}"),
                        "circuitBreaker.failureRateThreshold: must be greater than 0 and at most 100, got 0.0"),
                Arguments.of(
                        docWith("'circuitBreaker': {'failureRateThreshold': 100.5}"),
                        "circuitBreaker.failureRateThreshold: must be greater than 0 and at most 100, got 100.5"),
                Arguments.of(
                        docWith("'circuitBreaker': {'failureRateThreshold': '50%'}"),
                        "circuitBreaker.failureRateThreshold: must be a number, got string"),
                Arguments.of(
                        docWith("'circuitBreaker': {'slidingWindowSize': 0}"),
                        "circuitBreaker.slidingWindowSize: must be between 1 and 10000, got 0"),
                Arguments.of(
                        docWith("'circuitBreaker': {'slidingWindowSize': 10001}"),
                        "circuitBreaker.slidingWindowSize: must be between 1 and 10000, got 10001"),
                Arguments.of(
                        docWith("'circuitBreaker': {'minimumNumberOfCalls': 0}"),
                        "circuitBreaker.minimumNumberOfCalls: must be between 1 and 10000, got 0"),
                Arguments.of(
                        docWith("'circuitBreaker': {'minimumNumberOfCalls': 10001}"),
                        "circuitBreaker.minimumNumberOfCalls: must be between 1 and 10000, got 10001"),
                Arguments.of(
                        docWith("'circuitBreaker': {'waitDurationInOpenState': '5ms'}"),
                        "circuitBreaker.waitDurationInOpenState: must be between 10ms and 1h, got 5ms"),
                Arguments.of(
                        docWith("'circuitBreaker': {'permittedNumberOfCallsInHalfOpenState': 0}"),
                        "circuitBreaker.permittedNumberOfCallsInHalfOpenState: must be between 1 and 1000, got 0"),
                Arguments.of(
                        docWith("'circuitBreaker': {'permittedNumberOfCallsInHalfOpenState': 1001}"),
                        "circuitBreaker.permittedNumberOfCallsInHalfOpenState: must be between 1 and 1000, got 1001"),
                // timeouts
                Arguments.of(docWith("'timeouts': null"), "timeouts: must be an object, got null"),
                Arguments.of(
                        docWith("'timeouts': {'connect': '1ms'}"),
                        "timeouts.connect: must be between 10ms and 1h, got 1ms"),
                Arguments.of(
                        docWith("'timeouts': {'request': '61m'}"),
                        "timeouts.request: must be between 10ms and 1h, got 1h1m"),
                Arguments.of(
                        docWith("'timeouts': {'request': '5 s'}"),
                        "timeouts.request: invalid duration '5 s': unknown unit ' s' (use ms, s, m or h)"));
    }

    @ParameterizedTest(name = "{1}")
    @MethodSource("singleProblems")
    void reportsTheProblemWithItsPath(String json, String expected) {
        assertThat(problemsOf(json)).containsExactly(expected);
    }

    static Stream<String> valuesAtTheLimits() {
        return Stream.of(
                "{'version': 1, 'backends': []}",
                "{'version': 1, 'backends': [{'url': 'http://a:80', 'weight': 1}, {'url': 'http://b:80', 'weight': 1000}]}",
                docWith("'healthCheck': {'path': '/" + "a".repeat(1023) + "', 'interval': '10ms', 'timeout': '1h',"
                        + " 'healthyThreshold': 1, 'unhealthyThreshold': 100}"),
                docWith(
                        "'circuitBreaker': {'failureRateThreshold': 100, 'slidingWindowSize': 10000,"
                                + " 'minimumNumberOfCalls': 1, 'waitDurationInOpenState': '1h', 'permittedNumberOfCallsInHalfOpenState': 1000}"),
                docWith(
                        "'circuitBreaker': {'failureRateThreshold': 0.01, 'slidingWindowSize': 1,"
                                + " 'minimumNumberOfCalls': 10000, 'waitDurationInOpenState': '10ms', 'permittedNumberOfCallsInHalfOpenState': 1}"),
                docWith("'timeouts': {'connect': '10ms', 'request': '60m'}"));
    }

    @ParameterizedTest
    @MethodSource("valuesAtTheLimits")
    void acceptsValuesAtTheLimits(String json) throws Exception {
        PoolDocument doc = PoolDocumentCodec.parse(json.replace('\'', '"'));
        PoolDocumentCodec.validate(doc);
    }

    @Test
    void acceptsAThousandBackendsButNotOneMore() throws Exception {
        assertThat(PoolDocumentCodec.parse(backends(1000)).backends()).hasSize(1000);
        assertThat(problemsOf(backends(1001))).containsExactly("backends: at most 1000 entries, got 1001");
    }

    private static String backends(int count) {
        return IntStream.range(0, count)
                .mapToObj(i -> "{\"url\": \"http://10.0." + i / 256 + "." + i % 256 + ":8080\"}")
                .collect(Collectors.joining(",", "{\"version\": 1, \"backends\": [", "]}"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"{", "{\"version\": 1,}", "{\"version\": 1} {}", "{\"version\": 1, \"version\": 1}", "nul"})
    void malformedJsonIsOneProblemWithJacksonsMessageAndTheLocation(String json) {
        List<String> problems = problemsOf(json);

        assertThat(problems).hasSize(1);
        assertThat(problems.get(0))
                .startsWith("not valid JSON: ")
                .contains("(line 1, column ")
                .doesNotContain("Source");
    }

    @Test
    void duplicateKeysAreMalformed() {
        assertThat(problemsOf("{'version': 1, 'backends': [], 'version': 1}"))
                .singleElement()
                .asString()
                .contains("Duplicate field 'version'");
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "  \n"})
    void emptyTextIsInvalid(String json) {
        assertThat(problemsOf(json)).containsExactly("document: is empty");
    }

    @Test
    void reportsEveryProblemAtOnce() {
        List<String> problems = problemsOf("""
                {'version': 1, 'extra': true,
                 'backends': [{'url': 'ftp://a'}, {'url': 'http://b', 'weight': 0}, {'url': 'http://B:80'}, 5],
                 'healthCheck': {'path': 'x', 'intervl': '1s', 'timeout': 3},
                 'circuitBreaker': {'failureRateThreshold': 0},
                 'timeouts': {'connect': '2h', 'request': 'soon'}}""");

        assertThat(problems)
                .containsExactlyInAnyOrder(
                        "extra: unknown field",
                        "backends[0].url: scheme must be http or https, got 'ftp'",
                        "backends[1].weight: must be between 1 and 1000, got 0",
                        "backends[2].url: duplicate of backends[1] (both are http://b:80)",
                        "backends[3]: must be an object, got number",
                        "healthCheck.path: must start with '/', got 'x'",
                        "healthCheck.intervl: unknown field",
                        "healthCheck.timeout: must be a duration string such as \"30s\", got number",
                        "circuitBreaker.failureRateThreshold: must be greater than 0 and at most 100, got 0.0",
                        "timeouts.connect: must be between 10ms and 1h, got 2h",
                        "timeouts.request: invalid duration 'soon': expected a number at position 0");
    }

    @Test
    void anUnsupportedVersionIsTheOnlyProblemReported() {
        assertThat(problemsOf("{'version': 5, 'backends': 'all', 'loadBalancing': 'least-request'}"))
                .containsExactly("version: unsupported version 5 (this build reads versions 1 to 4)");
    }

    @Test
    void messageJoinsTheProblems() {
        assertThatThrownBy(() -> PoolDocumentCodec.parse("{\"backends\": [], \"x\": 1}"))
                .isInstanceOf(InvalidPoolDocumentException.class)
                .hasMessage("invalid pool document: x: unknown field; version: required");
    }

    @Test
    void validateAcceptsAValidBuiltDocument() throws Exception {
        PoolDocumentCodec.validate(PoolDocument.of(List.of(new BackendEntry("http://Backend:8080", 5))));
        PoolDocumentCodec.validate(PoolDocument.of(List.of()));
    }

    @Test
    void validateAppliesTheSameRulesToABuiltDocument() {
        PoolDocument doc = new PoolDocument(
                1,
                List.of(
                        new BackendEntry("http://a:80", 1), new BackendEntry(null, 1),
                        new BackendEntry("http://a", 2000), new BackendEntry("a:80", 1)),
                new HealthCheck(null, null, Duration.ofSeconds(-1), 1, 1),
                new CircuitBreaker(Float.NaN, 20, 10, Duration.ofSeconds(10), 3),
                new Timeouts(Duration.ofMillis(5), Duration.ofSeconds(60)));

        InvalidPoolDocumentException e =
                catchThrowableOfType(InvalidPoolDocumentException.class, () -> PoolDocumentCodec.validate(doc));

        assertThat(e.problems())
                .containsExactlyInAnyOrder(
                        "backends[1].url: required",
                        "backends[2].url: duplicate of backends[0] (both are http://a:80)",
                        "backends[2].weight: must be between 1 and 1000, got 2000",
                        "backends[3].url: must be an absolute URL like http://host:port, got 'a:80'",
                        "healthCheck.path: required",
                        "healthCheck.interval: required",
                        "healthCheck.timeout: must be between 10ms and 1h, got PT-1S",
                        "circuitBreaker.failureRateThreshold: must be greater than 0 and at most 100, got NaN",
                        "timeouts.connect: must be between 10ms and 1h, got 5ms");
    }

    @Test
    void validateRejectsAnUnknownVersion() {
        PoolDocument doc = new PoolDocument(5, List.of(), null, null, null);

        assertThat(catchThrowableOfType(InvalidPoolDocumentException.class, () -> PoolDocumentCodec.validate(doc))
                        .problems())
                .containsExactly("version: unsupported version 5 (this build reads versions 1 to 4)");
    }

    @Test
    void aBuiltVersion1DocumentCannotSayWhatOnlyVersion2Can() {
        PoolDocument doc = new PoolDocument(
                1, List.of(), null, new CircuitBreaker(50f, 20, 10, Duration.ofSeconds(10), 3, 5), null);

        assertThat(catchThrowableOfType(InvalidPoolDocumentException.class, () -> PoolDocumentCodec.validate(doc))
                        .problems())
                .containsExactly(
                        "circuitBreaker.consecutiveConnectFailures: needs version 2 of the pool document, got version 1");
        assertThat(doc.atLowestVersion().version()).isEqualTo(2);
    }
}
