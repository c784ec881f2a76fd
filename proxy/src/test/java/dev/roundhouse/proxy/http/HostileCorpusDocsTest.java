package dev.roundhouse.proxy.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.roundhouse.proxy.testing.HostileCorpus;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * docs/http-conformance.md lists every case of the hostile corpora in its section (requests before "Backend
 * responses", responses after), with the rule that decides it and, in the Roundhouse column, what the corpus asserts.
 */
class HostileCorpusDocsTest {

    private static final String RESPONSES_HEADING = "\n## Backend responses\n";

    private static String page() throws IOException {
        return Files.readString(Path.of("../docs/http-conformance.md"));
    }

    /** The Roundhouse cell of the row of {@code c} in {@code section}, or null when it has no such row. */
    private static String roundhouseCell(String section, HostileCorpus.Case c) {
        String start = "| " + c.name() + " | " + c.field("rfc") + " | ";
        int at = section.indexOf(start);
        if (at < 0) {
            return null;
        }
        int from = at + start.length();
        return section.substring(from, section.indexOf(" |", from));
    }

    @Test
    void everyRequestCaseIsInTheRequestSectionAsTheCorpusAssertsIt() throws IOException {
        String page = page();
        String requests = page.substring(0, page.indexOf(RESPONSES_HEADING));
        for (HostileCorpus.Case c : HostileCorpus.load("/hostile/requests.corpus")) {
            String expected = c.field("expect") + ("close".equals(c.field("then")) ? ", closed" : "") + "; backend: "
                    + c.field("backend");
            assertThat(roundhouseCell(requests, c))
                    .as("the Roundhouse cell of '%s' among the requests", c.name())
                    .isEqualTo(expected);
        }
    }

    @Test
    void everyResponseCaseIsInTheResponseSectionAsTheCorpusAssertsIt() throws IOException {
        String page = page();
        String responses = page.substring(page.indexOf(RESPONSES_HEADING));
        for (HostileCorpus.Case c : HostileCorpus.load("/hostile/responses.corpus")) {
            String cell = roundhouseCell(responses, c);
            assertThat(cell).as("the row of '%s' among the responses", c.name()).isNotNull();
            // one part per kind of request: GET / Content-Length POST / chunked POST
            Pattern part = Pattern.compile((c.field("interim") == null ? "" : "\\[[^]]+] then ")
                    + Pattern.quote(c.field("expect")) + "(, cut)?");
            assertThat(cell.split(" / "))
                    .as("the Roundhouse cell of '%s': %s", c.name(), cell)
                    .hasSize(3)
                    .allMatch(p -> part.matcher(p).matches());
        }
    }
}
