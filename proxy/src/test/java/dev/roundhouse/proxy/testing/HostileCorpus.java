package dev.roundhouse.proxy.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A corpus of hostile HTTP messages, read from a text file of cases. Each case starts with {@code === name}, has
 * {@code key: value} lines (a key may repeat), and its message as lines starting with {@code > }. The message is
 * the concatenation of those lines with escapes resolved and nothing added, so every CR and LF is written out:
 * {@code \r}, {@code \n}, {@code \t}, {@code \\}, {@code \xHH}, and {@code {{N*text}}} for {@code text} repeated N
 * times. Lines starting with {@code #} are comments.
 */
public final class HostileCorpus {

    /** One case: its name, its fields in file order, and the message bytes. */
    public record Case(String name, Map<String, List<String>> fields, byte[] message) {

        /** The field's only (or first) value; null when absent. */
        public String field(String key) {
            List<String> values = fields.get(key);
            return values == null ? null : values.get(0);
        }

        public List<String> all(String key) {
            return fields.getOrDefault(key, List.of());
        }

        public String text() {
            return new String(message, StandardCharsets.ISO_8859_1);
        }

        @Override
        public String toString() {
            return name;
        }
    }

    private HostileCorpus() {}

    /** The cases of a corpus file on the test class path, e.g. {@code /hostile/requests.corpus}. */
    public static List<Case> load(String resource) {
        try (InputStream in = HostileCorpus.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalArgumentException("no corpus " + resource + " on the class path");
            }
            return parse(new String(in.readAllBytes(), StandardCharsets.UTF_8), resource);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    static List<Case> parse(String text, String source) {
        List<Case> cases = new ArrayList<>();
        String name = null;
        Map<String, List<String>> fields = null;
        ByteArrayOutputStream message = null;
        int lineNumber = 0;
        for (String line : text.split("\n", -1)) {
            lineNumber++;
            if (line.startsWith("#") || (line.isBlank() && name == null)) {
                continue;
            }
            if (line.startsWith("=== ")) {
                if (name != null) {
                    cases.add(new Case(name, fields, message.toByteArray()));
                }
                name = line.substring(4).trim();
                fields = new LinkedHashMap<>();
                message = new ByteArrayOutputStream();
                continue;
            }
            if (line.isBlank()) {
                continue;
            }
            if (name == null) {
                throw new IllegalArgumentException(source + ":" + lineNumber + ": text before the first case");
            }
            if (line.startsWith("> ") || line.equals(">")) {
                message.writeBytes(unescape(line.length() > 2 ? line.substring(2) : "", source + ":" + lineNumber));
                continue;
            }
            int colon = line.indexOf(':');
            if (colon <= 0) {
                throw new IllegalArgumentException(source + ":" + lineNumber + ": expected 'key: value' or '> bytes'");
            }
            fields.computeIfAbsent(line.substring(0, colon).trim(), k -> new ArrayList<>())
                    .add(line.substring(colon + 1).trim());
        }
        if (name != null) {
            cases.add(new Case(name, fields, message.toByteArray()));
        }
        return cases;
    }

    /** A field value with the message escapes resolved, as text (ISO-8859-1). */
    public static String text(String escaped) {
        return new String(unescape(escaped, "a field"), StandardCharsets.ISO_8859_1);
    }

    static byte[] unescape(String s, String where) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '{' && s.startsWith("{{", i)) {
                int end = s.indexOf("}}", i);
                int star = s.indexOf('*', i);
                if (end < 0 || star < 0 || star > end) {
                    throw new IllegalArgumentException(where + ": expected {{N*text}}");
                }
                int times = Integer.parseInt(s.substring(i + 2, star));
                byte[] piece = unescape(s.substring(star + 1, end), where);
                for (int k = 0; k < times; k++) {
                    out.writeBytes(piece);
                }
                i = end + 1;
            } else if (c == '\\' && i + 1 < s.length()) {
                char e = s.charAt(++i);
                switch (e) {
                    case 'r' -> out.write('\r');
                    case 'n' -> out.write('\n');
                    case 't' -> out.write('\t');
                    case '\\' -> out.write('\\');
                    case 'x' -> {
                        out.write(Integer.parseInt(s.substring(i + 1, i + 3), 16));
                        i += 2;
                    }
                    default -> throw new IllegalArgumentException(where + ": unknown escape \\" + e);
                }
            } else {
                if (c > 0xff) {
                    throw new IllegalArgumentException(where + ": write non-Latin-1 characters as \\xHH bytes");
                }
                out.write(c);
            }
        }
        return out.toByteArray();
    }
}
