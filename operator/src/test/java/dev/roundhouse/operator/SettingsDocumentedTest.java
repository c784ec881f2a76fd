package dev.roundhouse.operator;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/** docs/install.md's table of the operator's variables names exactly those the operator reads. */
class SettingsDocumentedTest {

    private static final Path INSTALL = Path.of("..", "docs", "install.md");
    private static final Pattern NAME = Pattern.compile("`([A-Z][A-Z0-9_]+)`");

    @Test
    void everyVariableTheOperatorReadsIsInTheInstallGuidesTableAndNoOther() throws IOException {
        Set<String> names = new TreeSet<>();
        boolean inTable = false;
        for (String line : Files.readAllLines(INSTALL)) {
            if (line.startsWith("| variable | default | valid values |")) {
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
        assertThat(names).as("variables in the first column of install.md's settings table")
                .isNotEmpty().isEqualTo(OperatorSettings.variableNames());
    }
}
