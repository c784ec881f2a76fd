package dev.roundhouse.proxy.codec;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ChunkedDecoderTest {

    /** What decoding gave: the data, and "end" with the bytes left after it, or the problem. */
    private record Result(String data, String outcome, String rest) {}

    /** Feeds {@code input} in pieces of {@code step} bytes, as reads from a socket would bring it. */
    private static Result decode(ChunkedDecoder decoder, String input, int step) {
        byte[] bytes = input.getBytes(StandardCharsets.ISO_8859_1);
        ByteArrayOutputStream data = new ByteArrayOutputStream();
        for (int from = 0; from < bytes.length; from += step) {
            ByteBuffer piece = ByteBuffer.wrap(bytes, from, Math.min(step, bytes.length - from));
            while (true) {
                int n = decoder.next(piece);
                if (n > 0) {
                    data.write(bytes, piece.position(), n);
                    piece.position(piece.position() + n);
                    decoder.taken(n);
                } else if (n == ChunkedDecoder.END) {
                    String rest = new String(
                            bytes, piece.position(), bytes.length - piece.position(), StandardCharsets.ISO_8859_1);
                    return new Result(data.toString(StandardCharsets.ISO_8859_1), "end", rest);
                } else if (n == ChunkedDecoder.MALFORMED) {
                    return new Result(data.toString(StandardCharsets.ISO_8859_1), decoder.problem(), "");
                } else {
                    break;
                }
            }
        }
        return new Result(data.toString(StandardCharsets.ISO_8859_1), "need more", "");
    }

    private static Result both(ChunkedDecoder whole, ChunkedDecoder byByte, String input) {
        Result atOnce = decode(whole, input, Integer.MAX_VALUE);
        Result bytewise = decode(byByte, input, 1);
        assertThat(bytewise)
                .as("one byte at a time reads the same as all at once")
                .isEqualTo(atOnce);
        return atOnce;
    }

    private static Result request(String input) {
        return both(ChunkedDecoder.forRequests(), ChunkedDecoder.forRequests(), input);
    }

    @Test
    void readsChunksAndStopsRightAfterTheLastOne() {
        Result r = request("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\nGET / HTTP/1.1");

        assertThat(r).isEqualTo(new Result("hello world", "end", "GET / HTTP/1.1"));
    }

    @Test
    void extensionsAndTrailersAreReadAndDropped() {
        Result r = request("5;a=b;c\r\nhello\r\n6 ; q = \"x;\\\"y\"\r\n world\r\n0;last\r\nX-Sum: 1\r\nY: 2\r\n\r\n");

        assertThat(r).isEqualTo(new Result("hello world", "end", ""));
    }

    @Test
    void leadingZerosAndUpperCaseDigitsAreSizes() {
        assertThat(request("00A\r\n0123456789\r\n000\r\n\r\n").data()).isEqualTo("0123456789");
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(
            delimiter = '|',
            value = {
                "data longer than its size   | 5\\r\\nhello!\\r\\n0\\r\\n\\r\\n                 | chunk data not followed by CRLF",
                "not hexadecimal             | X\\r\\n\\r\\n                                     | malformed chunk size",
                "0x prefix                   | 0x5\\r\\nhello\\r\\n0\\r\\n\\r\\n                 | malformed chunk size",
                "negative                    | -5\\r\\nhello\\r\\n0\\r\\n\\r\\n                  | malformed chunk size",
                "over 64 bits                | fffffffffffffffff\\r\\nx\\r\\n                     | chunk size too large",
                "16 digits over a long       | 8000000000000000\\r\\nx\\r\\n                      | chunk size too large",
                "data without CRLF           | 5\\r\\nhello0\\r\\n\\r\\n                          | chunk data not followed by CRLF",
                "bare CR in the size line    | 5\\r\\r;ABCD\\r\\nhello\\r\\n0\\r\\n\\r\\n            | malformed chunk size",
                "bare LF ending a size line  | 5\\nhello\\r\\n0\\r\\n\\r\\n                        | malformed chunk size",
                "whitespace, no extension    | 5 \\r\\nhello\\r\\n0\\r\\n\\r\\n                    | malformed chunk size",
                "control byte in extension   | 5;a\\u0001b\\r\\nhello\\r\\n0\\r\\n\\r\\n            | malformed chunk extension",
                "extension without a name    | 5;=x\\r\\nhello\\r\\n0\\r\\n\\r\\n                  | malformed chunk extension",
                "folded trailer              | 0\\r\\nX: a\\r\\n b\\r\\n\\r\\n                     | obsolete line folding in the trailer section",
                "trailer without a colon     | 0\\r\\nX\\r\\n\\r\\n                               | malformed trailer field",
                "control byte in a trailer   | 0\\r\\nX: a\\u0000\\r\\n\\r\\n                      | malformed trailer field",
                "bare LF ending the trailer  | 0\\r\\n\\n                                           | malformed trailer field",
            })
    void malformedBodiesAreRefusedWithAReason(String description, String input, String problem) {
        Result r = request(unescape(input.trim()));

        assertThat(r.outcome()).isEqualTo(problem);
    }

    @Test
    void theTrailerSectionIsLimitedInBytesAndFields() {
        String big = "0\r\nX: " + "b".repeat(40_000) + "\r\n\r\n";
        String many = "0\r\n" + "X-T: 1\r\n".repeat(150) + "\r\n";
        String fits = "0\r\nX: " + "b".repeat(17_000) + "\r\n\r\n";

        assertThat(request(big).outcome()).isEqualTo("trailer section over 32768 bytes");
        assertThat(request(many).outcome()).isEqualTo("more than 100 trailer fields");
        assertThat(request(fits).outcome()).isEqualTo("end");
    }

    @Test
    void longExtensionRunsAreCutOff() {
        String input = "5;" + "a".repeat(ChunkedDecoder.MAX_SIZE_LINE) + "\r\nhello\r\n0\r\n\r\n";

        assertThat(request(input).outcome()).startsWith("chunk-size line over");
    }

    @Test
    void responsesMayEndLinesWithABareLfRequestsMayNot() {
        String input = "5\nhello\n0\nX: 1\n\n";

        assertThat(both(ChunkedDecoder.forResponses(), ChunkedDecoder.forResponses(), input))
                .isEqualTo(new Result("hello", "end", ""));
        assertThat(request(input).outcome()).isEqualTo("malformed chunk size");
    }

    @Test
    void aBodyThatStopsEarlyAsksForMore() {
        assertThat(request("5\r\nhel").outcome()).isEqualTo("need more");
        assertThat(request("5\r\nhello\r\n0\r\n").outcome()).isEqualTo("need more");
    }

    private static String unescape(String s) {
        return s.replace("\\r", "\r")
                .replace("\\n", "\n")
                .replace("\\u0001", "\u0001")
                .replace("\\u0000", "\u0000");
    }
}
