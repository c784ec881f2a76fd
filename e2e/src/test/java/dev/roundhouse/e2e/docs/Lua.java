package dev.roundhouse.e2e.docs;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Runs an Argo CD health check with a real Lua interpreter: the resource becomes a Lua table literal, and
 * {@code e2e/src/test/resources/argocd/harness.lua} gives the script Argo CD's globals and libraries.
 */
final class Lua {

    static final Path HARNESS = Docs.path("e2e/src/test/resources/argocd/harness.lua");

    /** What the script returned, or why it returned nothing usable (exit code and stderr). */
    record Result(int exitCode, String status, String message, String stderr) {
        boolean ok() {
            return exitCode == 0;
        }
    }

    private Lua() {}

    static Result run(Path interpreter, Path script, JsonNode object, Path workDir) {
        try {
            Path objectFile = Files.createTempFile(workDir, "object", ".lua");
            Files.writeString(objectFile, "return " + literal(object) + "\n", StandardCharsets.UTF_8);
            Path err = Files.createTempFile(workDir, "stderr", ".txt");
            Process process = new ProcessBuilder(
                            interpreter.toString(), HARNESS.toString(), script.toString(), objectFile.toString())
                    .redirectError(err.toFile())
                    .start();
            process.getOutputStream().close();
            String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!process.waitFor(30, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new IllegalStateException(interpreter + " did not finish within 30 s");
            }
            String[] lines = out.split("\n", -1);
            return new Result(
                    process.exitValue(),
                    lines.length > 0 ? lines[0] : "",
                    lines.length > 1 ? lines[1] : "",
                    Files.readString(err, StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /**
     * JSON as a Lua table constructor, as Argo CD hands a resource to Lua: objects become tables keyed by
     * string, arrays tables indexed from 1, null leaves the key out, numbers stay numbers.
     */
    static String literal(JsonNode node) {
        StringBuilder out = new StringBuilder();
        append(out, node);
        return out.toString();
    }

    private static void append(StringBuilder out, JsonNode node) {
        switch (node.getNodeType()) {
            case OBJECT -> {
                out.append('{');
                for (Map.Entry<String, JsonNode> field : node.properties()) {
                    if (field.getValue().isNull()) {
                        continue;
                    }
                    out.append('[');
                    string(out, field.getKey());
                    out.append("]=");
                    append(out, field.getValue());
                    out.append(',');
                }
                out.append('}');
            }
            case ARRAY -> {
                out.append('{');
                for (JsonNode element : node) {
                    append(out, element);
                    out.append(',');
                }
                out.append('}');
            }
            case STRING -> string(out, node.textValue());
            case NUMBER ->
                out.append(
                        node.isIntegralNumber()
                                ? node.bigIntegerValue().toString()
                                : Double.toString(node.doubleValue()));
            case BOOLEAN -> out.append(node.booleanValue());
            case NULL, MISSING -> out.append("nil");
            default -> throw new IllegalArgumentException("no Lua value for " + node.getNodeType());
        }
    }

    /** A Lua string literal: printable ASCII as is, every other byte of the UTF-8 text as a decimal escape. */
    private static void string(StringBuilder out, String text) {
        out.append('"');
        for (byte b : text.getBytes(StandardCharsets.UTF_8)) {
            int c = b & 0xff;
            if (c == '"' || c == '\\') {
                out.append('\\').append((char) c);
            } else if (c >= 0x20 && c < 0x7f) {
                out.append((char) c);
            } else {
                out.append('\\').append(String.format("%03d", c));
            }
        }
        out.append('"');
    }
}
