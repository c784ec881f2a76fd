package dev.roundhouse.proxy.codec;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.undertow.server.protocol.http.UndertowRequestHeads;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The proxy's request-head scanner and Undertow's parser, fed the same bytes, must never frame a request differently:
 * whatever head the scanner passes, Undertow reads to the same byte, as the same method, target and version, with the
 * same body framing (one Content-Length of the same value, or chunked, or neither); and where the scanner wants more
 * bytes, Undertow has not already found the head's end. The scanner may refuse what Undertow would take (it is the
 * stricter of the two on purpose); the other way round, or a head the two end at different bytes, is how requests
 * get smuggled.
 *
 * <p>Two runs of one check: {@link #mutationsOfTheEdgeCasesFrameAlike} mutates the edge cases of RFC 9112 and of
 * llhttp's strict mode, seeded, in every build; {@link #scannerAndUndertowFrameAlike} is the same check under Jazzer,
 * which in a build replays its saved inputs and, run as {@code JAZZER_FUZZ=1 mvn -B -pl proxy test
 * -Dtest=RequestFramingDifferentialTest}, fuzzes guided by coverage of both parsers (findings are written under
 * src/test/resources, where they then replay in every build).
 */
class RequestFramingDifferentialTest {

    /** Mutated inputs per build; about a second. */
    private static final int MUTATIONS = 40_000;

    private static final String[] SEEDS = {
        "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET /p?q=1 HTTP/1.1\r\nHost: a\r\nAccept: */*\r\nUser-Agent: x\r\n\r\n",
        "POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        "PUT /x HTTP/1.0\r\nContent-Length: 0\r\n\r\n",
        "GET http://a/b HTTP/1.1\r\nHost: a\r\n\r\n",
        "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
        "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nX-Empty:\r\nX-Tab:\tv\t\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\tchunked\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n xchunked\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x5\r\n\r\n",
        "GET / HTTP/1.1\nHost: a\n\n",
        "GET / HTTP/1.1\r\nHost: a\r\nA: b\rc\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nA: \u0000\r\n\r\n",
    };

    /** Bytes mutations insert or write: the ones parsers disagree on. */
    private static final byte[] SPECIAL = {
        '\r',
        '\n',
        0,
        ' ',
        '\t',
        ':',
        ',',
        ';',
        '"',
        'a',
        'A',
        '0',
        '9',
        '-',
        '/',
        '?',
        '#',
        '%',
        0x0b,
        0x0c,
        0x7f,
        (byte) 0x80,
        (byte) 0xff
    };

    private static final String[] LINES = {
        "Content-Length: 5",
        "Content-Length:  5 ",
        "Content-Length: 05",
        "Content-Length: 5, 5",
        "content-length: 6",
        "Transfer-Encoding: chunked",
        "Transfer-Encoding: Chunked",
        "Transfer-Encoding: chunked, identity",
        "Transfer-Encoding: identity",
        "Transfer-Encoding:chunked",
        "transfer-encoding: chunked ",
        "Host: b",
        "Upgrade: h2c",
        "Expect: 100-continue",
        "X: y",
    };

    @Test
    void mutationsOfTheEdgeCasesFrameAlike() {
        Random random = new Random(0x52_48_26L);
        List<String> differences = new ArrayList<>();
        int accepted = 0;
        for (String seed : SEEDS) {
            accepted += check(seed.getBytes(StandardCharsets.ISO_8859_1), differences) ? 1 : 0;
        }
        for (int i = 0; i < MUTATIONS; i++) {
            byte[] input = SEEDS[random.nextInt(SEEDS.length)].getBytes(StandardCharsets.ISO_8859_1);
            for (int m = 1 + random.nextInt(3); m > 0; m--) {
                input = mutate(input, random);
            }
            accepted += check(input, differences) ? 1 : 0;
        }
        assertThat(differences)
                .as("heads framed differently by the scanner and Undertow")
                .isEmpty();
        // The check above says nothing unless many inputs got past the scanner.
        assertThat(accepted).as("mutated heads the scanner passed").isGreaterThan(MUTATIONS / 10);
    }

    @FuzzTest(maxDuration = "2m")
    void scannerAndUndertowFrameAlike(byte[] input) {
        List<String> differences = new ArrayList<>();
        check(input, differences);
        assertThat(differences).isEmpty();
    }

    /**
     * Scans {@code input} with both; adds what they disagree on to {@code differences}.
     *
     * @return whether the scanner passed a head
     */
    static boolean check(byte[] input, List<String> differences) {
        RequestHeadScanner scanner = new RequestHeadScanner(HttpLimits.MAX_HEADER_BYTES, HttpLimits.MAX_HEADERS);
        int head = scanner.scan(ByteBuffer.wrap(input), 0, input.length);
        if (head == RequestHeadScanner.REFUSED) {
            return false;
        }
        UndertowRequestHeads.Parsed undertow = UndertowRequestHeads.parse(input);
        if (head == RequestHeadScanner.NEED_MORE) {
            if (undertow.complete()) {
                differences.add(describe(input, "the scanner wants more, Undertow ended the head at " + undertow));
            }
            return false;
        }
        // Undertow's parser reads incrementally: ending at the same byte of the whole input, it read the head alone.
        if (!undertow.complete() || undertow.consumed() != head) {
            differences.add(describe(input, "the scanner read a head of " + head + " bytes; Undertow: " + undertow));
            return true;
        }
        String text = new String(input, 0, head, StandardCharsets.ISO_8859_1);
        String requestLine = text.substring(0, text.indexOf("\r\n"));
        String[] parts = requestLine.split(" ", -1);
        if (!parts[0].equals(undertow.method()) || !parts[2].equals(undertow.protocol())) {
            differences.add(describe(input, "request line '" + requestLine + "'; Undertow: " + undertow));
        }
        List<String> lengths = undertow.contentLengths();
        boolean sameLength = scanner.contentLength() < 0
                ? lengths.isEmpty()
                : lengths.size() == 1 && lengthOf(lengths.get(0)) == scanner.contentLength();
        List<String> codings = undertow.transferEncodings();
        boolean sameChunked = scanner.chunked()
                ? codings.size() == 1
                        && codings.get(0).trim().toLowerCase(Locale.ROOT).equals("chunked")
                : codings.isEmpty();
        if (!sameLength || !sameChunked) {
            differences.add(describe(
                    input,
                    "scanner: Content-Length " + scanner.contentLength() + ", chunked " + scanner.chunked()
                            + "; Undertow: " + undertow));
        }
        return true;
    }

    /** A Content-Length value as a number, as Undertow reads it; -1 when it is none. */
    private static long lengthOf(String value) {
        try {
            return Long.parseLong(value.trim());
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    private static byte[] mutate(byte[] input, Random random) {
        int at = input.length == 0 ? 0 : random.nextInt(input.length);
        byte special = SPECIAL[random.nextInt(SPECIAL.length)];
        return switch (random.nextInt(6)) {
            case 0 -> splice(input, at, 0, new byte[] {special});
            case 1 -> splice(input, at, Math.min(1, input.length - at), new byte[0]);
            case 2 -> splice(input, at, Math.min(1, input.length - at), new byte[] {special});
            case 3 -> {
                // another field line, after the request line
                int lineEnd = indexOf(input, (byte) '\n', 0);
                byte[] line = (LINES[random.nextInt(LINES.length)] + "\r\n").getBytes(StandardCharsets.ISO_8859_1);
                yield lineEnd < 0 ? input : splice(input, lineEnd + 1, 0, line);
            }
            case 4 -> {
                // a line twice
                int start = at;
                while (start > 0 && input[start - 1] != '\n') {
                    start--;
                }
                int end = indexOf(input, (byte) '\n', at);
                yield end < 0 ? input : splice(input, start, 0, java.util.Arrays.copyOfRange(input, start, end + 1));
            }
            default -> {
                byte[] copy = input.clone();
                if (at < copy.length && Character.isLetter(copy[at])) {
                    copy[at] ^= 0x20; // the other case
                }
                yield copy;
            }
        };
    }

    private static byte[] splice(byte[] input, int at, int remove, byte[] insert) {
        byte[] out = new byte[input.length - remove + insert.length];
        System.arraycopy(input, 0, out, 0, at);
        System.arraycopy(insert, 0, out, at, insert.length);
        System.arraycopy(input, at + remove, out, at + insert.length, input.length - at - remove);
        return out;
    }

    private static int indexOf(byte[] input, byte b, int from) {
        for (int i = from; i < input.length; i++) {
            if (input[i] == b) {
                return i;
            }
        }
        return -1;
    }

    private static String describe(byte[] input, String what) {
        StringBuilder escaped = new StringBuilder();
        for (byte b : input) {
            int c = b & 0xff;
            if (c == '\r') {
                escaped.append("\\r");
            } else if (c == '\n') {
                escaped.append("\\n");
            } else if (c < 0x20 || c >= 0x7f) {
                escaped.append(String.format("\\x%02x", c));
            } else {
                escaped.append((char) c);
            }
        }
        return "\"" + escaped + "\": " + what;
    }
}
