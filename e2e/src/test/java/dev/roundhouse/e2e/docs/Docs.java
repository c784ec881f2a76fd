package dev.roundhouse.e2e.docs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** The repository's files as the docs tests read them: tests run in {@code e2e/}, the repository is its parent. */
final class Docs {

    static final Path ROOT = Path.of("..");
    static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    private Docs() {}

    static Path path(String relative) {
        return ROOT.resolve(relative);
    }

    static String read(String relative) {
        try {
            return Files.readString(path(relative), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static JsonNode yaml(String text) {
        try {
            return YAML.readTree(text);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static JsonNode yamlFile(Path file) {
        try {
            return YAML.readTree(file.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The bodies of the fenced code blocks (```lang ... ```) of a Markdown text that are tagged {@code lang}. */
    static List<String> fencedBlocks(String markdown, String lang) {
        List<String> blocks = new ArrayList<>();
        StringBuilder body = null;
        for (String line : markdown.split("\n", -1)) {
            if (body == null) {
                if (line.equals("```" + lang)) {
                    body = new StringBuilder();
                }
            } else if (line.equals("```")) {
                blocks.add(body.toString());
                body = null;
            } else {
                body.append(line).append('\n');
            }
        }
        return blocks;
    }

    /** The first line that starts a Markdown table row for {@code cell}: {@code | `cell` |...}. */
    static Optional<String> tableRow(String markdown, String cell) {
        String start = "| `" + cell + "` |";
        return markdown.lines().filter(l -> l.startsWith(start)).findFirst();
    }

    /** An executable on PATH, as the shell would find it. */
    static Optional<Path> onPath(String name) {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
            if (dir.isEmpty()) {
                continue;
            }
            Path candidate = Path.of(dir, name);
            if (Files.isExecutable(candidate)) {
                return Optional.of(candidate);
            }
        }
        return Optional.empty();
    }
}
