package dev.roundhouse.proxy.config;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/** The README's table of the proxy's variables names exactly those the proxy reads. */
class SettingsDocumentedTest {

    private static final Path README = Path.of("..", "README.md");
    private static final Pattern NAME = Pattern.compile("`([A-Z][A-Z0-9_]+)`");

    @Test
    void everyVariableTheProxyReadsIsInTheReadmeTableAndNoOther() throws IOException {
        assertThat(documented()).as("variables in the first column of the README's proxy table")
                .isEqualTo(ProxySettings.variableNames());
    }

    /** The first cells of the table that follows the standalone run, from its header row to the first blank line. */
    private static Set<String> documented() throws IOException {
        Set<String> names = new TreeSet<>();
        boolean inTable = false;
        for (String line : Files.readAllLines(README)) {
            if (line.startsWith("| variable | default | meaning |")) {
                inTable = true;
                continue;
            }
            if (inTable && !line.startsWith("|")) {
                break;
            }
            if (inTable) {
                Matcher m = NAME.matcher(line.split("\\|")[1]);
                while (m.find()) {
                    names.add(m.group(1));
                }
            }
        }
        assertThat(names).as("the README's proxy table").isNotEmpty();
        return names;
    }
}
