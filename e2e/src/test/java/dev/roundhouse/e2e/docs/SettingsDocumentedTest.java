package dev.roundhouse.e2e.docs;

import static org.assertj.core.api.Assertions.assertThat;

import dev.roundhouse.operator.OperatorSettings;
import dev.roundhouse.proxy.config.ProxySettings;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The tables of settings name exactly the variables the programs read: the README's for the proxy, install.md's
 * for the operator. Each program records the names its settings parser reads.
 */
class SettingsDocumentedTest {

    private static final Pattern NAME = Pattern.compile("`([A-Z][A-Z0-9_]+)`");

    @Test
    void everyVariableTheProxyReadsIsInTheReadmeTableAndNoOther() {
        assertThat(firstColumn("README.md", "| variable | default | meaning |"))
                .isEqualTo(ProxySettings.variableNames());
    }

    @Test
    void everyVariableTheOperatorReadsIsInTheInstallGuidesTableAndNoOther() {
        assertThat(firstColumn("docs/install.md", "| variable | default | valid values |"))
                .isEqualTo(OperatorSettings.variableNames());
    }

    /** The variable names in the first cells of the table under {@code header}, to the first line not a row. */
    private static Set<String> firstColumn(String page, String header) {
        Set<String> names = new TreeSet<>();
        boolean inTable = false;
        for (String line : Docs.read(page).lines().toList()) {
            if (line.startsWith(header)) {
                inTable = true;
            } else if (inTable && !line.startsWith("|")) {
                break;
            } else if (inTable) {
                Matcher m = NAME.matcher(line.split("\\|")[1]);
                while (m.find()) {
                    names.add(m.group(1));
                }
            }
        }
        assertThat(names).as("variables in the table of %s", page).isNotEmpty();
        return names;
    }
}
