package dev.roundhouse.proxy.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.roundhouse.proxy.testing.HostileCorpus;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** docs/http-conformance.md lists every case of the hostile corpora, with the rule that decides it. */
class HostileCorpusDocsTest {

    @ParameterizedTest
    @ValueSource(strings = {"/hostile/requests.corpus", "/hostile/responses.corpus"})
    void everyCaseIsInTheConformancePageWithItsRule(String corpus) throws IOException {
        String page = Files.readString(Path.of("../docs/http-conformance.md"));

        for (HostileCorpus.Case c : HostileCorpus.load(corpus)) {
            assertThat(page).as("the row of '%s'", c.name()).contains("| " + c.name() + " | " + c.field("rfc") + " |");
        }
    }
}
