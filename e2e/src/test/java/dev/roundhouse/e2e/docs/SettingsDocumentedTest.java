package dev.roundhouse.e2e.docs;

import static org.assertj.core.api.Assertions.assertThat;

import dev.roundhouse.operator.OperatorSettings;
import dev.roundhouse.poolformat.Durations;
import dev.roundhouse.proxy.config.ProxySettings;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
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

    /**
     * The README's default column says what the proxy takes when a variable is unset: read from the code's one
     * definition ({@link ProxySettings#defaults()}), each cell compared as its type reads it (durations as durations,
     * so {@code 1m} is 60s). A default that names another variable ({@code `TLS_PORT`}) stands for a 0 or unset one
     * that follows it; a cell for a variable without a default in the code is prose, not checked.
     */
    @Test
    void everyDefaultInTheReadmeTableIsTheOneTheProxyTakes() {
        Map<String, Object> defaults = ProxySettings.defaults();
        Map<String, String> documented = defaultColumn("README.md", "| variable | default | meaning |");
        assertThat(documented.keySet()).containsAll(defaults.keySet());
        for (Map.Entry<String, Object> entry : defaults.entrySet()) {
            String variable = entry.getKey();
            Object value = entry.getValue();
            String cell =
                    documented.get(variable).replaceAll("\\s*\\(.*\\)$", "").trim(); // "0 (no limit)"
            if (cell.matches("`[A-Z][A-Z0-9_]+`") && (value.equals(0) || value.equals(0L))) {
                continue; // follows that variable
            }
            String bare = cell.replace("`", "");
            Object read;
            if (value instanceof Duration) {
                read = Durations.parse(bare);
            } else if (value instanceof Integer) {
                read = Integer.valueOf(bare);
            } else if (value instanceof Long) {
                read = Long.valueOf(bare);
            } else if (value instanceof Float) {
                read = Float.valueOf(bare);
            } else if (value instanceof Boolean) {
                read = Boolean.valueOf(bare);
            } else {
                read = bare;
            }
            assertThat(read).as("README default of %s: '%s'", variable, cell).isEqualTo(value);
        }
    }

    /**
     * Each variable of the table under {@code header} with its default cell; a row naming several variables gives
     * its comma-separated defaults to them in order.
     */
    private static Map<String, String> defaultColumn(String page, String header) {
        Map<String, String> defaults = new TreeMap<>();
        boolean inTable = false;
        for (String line : Docs.read(page).lines().toList()) {
            if (line.startsWith(header)) {
                inTable = true;
            } else if (inTable && !line.startsWith("|")) {
                break;
            } else if (inTable && !line.startsWith("|---")) {
                String[] cells = line.split("\\|");
                List<String> names = new ArrayList<>();
                Matcher m = NAME.matcher(cells[1]);
                while (m.find()) {
                    names.add(m.group(1));
                }
                if (names.size() == 1) {
                    defaults.put(names.get(0), cells[2].trim());
                } else {
                    String[] values = cells[2].trim().split(",\\s*");
                    assertThat(values).as("defaults of %s", names).hasSameSizeAs(names);
                    for (int i = 0; i < names.size(); i++) {
                        defaults.put(names.get(i), values[i].trim());
                    }
                }
            }
        }
        return defaults;
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
