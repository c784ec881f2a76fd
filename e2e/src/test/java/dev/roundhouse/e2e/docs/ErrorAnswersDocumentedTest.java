package dev.roundhouse.e2e.docs;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Every 503 reason the proxy can answer is in docs/health.md's table of the proxy's own answers: read from the
 * proxy's sources, so that a new reason fails here until it is documented.
 */
class ErrorAnswersDocumentedTest {

    /** A reason as written in the code, up to a concatenated part ({@code (" + attempts() + " tried)}). */
    private static final Pattern REASON = Pattern.compile("\"(service unavailable: [^\"]*)\"");

    @Test
    void everyServiceUnavailableReasonInTheProxyIsInHealthMd() throws IOException {
        Set<String> reasons = new TreeSet<>();
        try (Stream<Path> sources = Files.walk(Docs.path("proxy/src/main/java"))) {
            for (Path source :
                    sources.filter(p -> p.toString().endsWith(".java")).toList()) {
                Matcher m = REASON.matcher(Files.readString(source));
                while (m.find()) {
                    reasons.add(m.group(1));
                }
            }
        }
        assertThat(reasons).as("reasons found in the proxy's sources").hasSizeGreaterThanOrEqualTo(6);
        List<String> table = Docs.read("docs/health.md")
                .lines()
                .filter(line -> line.startsWith("| 503 "))
                .toList();
        for (String reason : reasons) {
            assertThat(table)
                    .as("docs/health.md lists the 503 '%s' with its errors type", reason)
                    .anyMatch(row -> row.contains("`" + reason) && row.matches(".*\\| `[a-z_]+`.*\\|\\s*$"));
        }
    }
}
