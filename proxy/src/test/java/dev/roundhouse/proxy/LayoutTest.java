package dev.roundhouse.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The proxy's packages keep the shape their package-info files describe: dependencies run one way, the pool knows no
 * transport, and the HTTP codec depends on nothing of the proxy. Read from the sources' imports and fully qualified
 * names, so that a new dependency the wrong way fails here rather than in a review.
 */
class LayoutTest {

    private static final Path SOURCES = Path.of("src/main/java/dev/roundhouse/proxy");
    private static final Pattern PROXY_REFERENCE = Pattern.compile("\\bdev\\.roundhouse\\.proxy\\.([a-z]+)\\.[A-Z]");
    private static final Pattern IMPORT = Pattern.compile("^import (?:static )?([\\w.]+);", Pattern.MULTILINE);

    @Test
    void packagesDependOneWayOnly() throws IOException {
        Map<String, Set<String>> uses = dependencies();
        List<String> cycles = new ArrayList<>();
        for (String from : uses.keySet()) {
            for (String to : uses.get(from)) {
                if (reaches(uses, to, from, new TreeSet<>())) {
                    cycles.add(from + " -> " + to + " -> ... -> " + from);
                }
            }
        }
        assertThat(cycles).as("package cycles (%s)", uses).isEmpty();
    }

    @Test
    void eachLayerUsesOnlyWhatIsBelowIt() throws IOException {
        Map<String, Set<String>> uses = dependencies();
        assertThat(uses.getOrDefault("codec", Set.of()))
                .as("codec: pure HTTP/1.1, nothing of the proxy")
                .isEmpty();
        assertThat(uses.getOrDefault("upstream", Set.of()))
                .as("upstream knows no request lifecycle or server")
                .doesNotContain("forward", "server");
        assertThat(uses.getOrDefault("server", Set.of()))
                .as("the server is handed its handler")
                .doesNotContain("forward", "upstream");
        assertThat(uses.getOrDefault("pool", Set.of()))
                .as("the pool holds values")
                .doesNotContain("forward", "upstream", "server", "codec");
    }

    @Test
    void thePoolKnowsNoTransport() throws IOException {
        List<String> transport = new ArrayList<>();
        for (Path file : javaFiles(SOURCES.resolve("pool"))) {
            Matcher m = IMPORT.matcher(Files.readString(file));
            while (m.find()) {
                String imported = m.group(1);
                if (imported.startsWith("io.undertow")
                        || imported.startsWith("org.xnio")
                        || imported.startsWith("javax.net")
                        || imported.startsWith("java.nio.channels")) {
                    transport.add(file.getFileName() + ": " + imported);
                }
            }
        }
        assertThat(transport).isEmpty();
    }

    /** Package (below dev.roundhouse.proxy) to the other packages its classes refer to. */
    @Test
    void everyPackageSaysWhatItHolds() throws IOException {
        List<Path> packages;
        try (Stream<Path> dirs = Files.walk(SOURCES)) {
            packages = dirs.filter(Files::isDirectory).toList();
        }
        assertThat(packages)
                .as("packages without a package-info.java")
                .allSatisfy(dir -> assertThat(dir.resolve("package-info.java")).exists());
    }

    private static Map<String, Set<String>> dependencies() throws IOException {
        Map<String, Set<String>> uses = new TreeMap<>();
        for (Path file : javaFiles(SOURCES)) {
            Path relative = SOURCES.relativize(file);
            if (relative.getNameCount() < 2) {
                continue; // RoundhouseProxy and its neighbours wire every package together
            }
            String from = relative.getName(0).toString();
            Set<String> to = uses.computeIfAbsent(from, p -> new TreeSet<>());
            Matcher m = PROXY_REFERENCE.matcher(Files.readString(file));
            while (m.find()) {
                if (!m.group(1).equals(from)) {
                    to.add(m.group(1));
                }
            }
        }
        return uses;
    }

    private static boolean reaches(Map<String, Set<String>> uses, String from, String target, Set<String> seen) {
        if (from.equals(target)) {
            return true;
        }
        if (!seen.add(from)) {
            return false;
        }
        for (String next : uses.getOrDefault(from, Set.of())) {
            if (reaches(uses, next, target, seen)) {
                return true;
            }
        }
        return false;
    }

    private static List<Path> javaFiles(Path dir) throws IOException {
        assertThat(dir).as("run from the proxy module").isDirectory();
        try (Stream<Path> files = Files.walk(dir)) {
            return files.filter(f -> f.toString().endsWith(".java")).sorted().toList();
        }
    }
}
