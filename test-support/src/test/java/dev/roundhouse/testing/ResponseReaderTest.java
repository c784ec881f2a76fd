package dev.roundhouse.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class ResponseReaderTest {

    /** Hands out at most {@code step} bytes per read, to cut heads and bodies at every place. */
    private static InputStream trickle(String text, int step) {
        byte[] bytes = text.getBytes(StandardCharsets.ISO_8859_1);
        return new InputStream() {
            int pos;

            @Override
            public int read() {
                return pos < bytes.length ? bytes[pos++] & 0xFF : -1;
            }

            @Override
            public int read(byte[] b, int off, int len) {
                if (pos >= bytes.length) {
                    return -1;
                }
                int n = Math.min(Math.min(len, step), bytes.length - pos);
                System.arraycopy(bytes, pos, b, off, n);
                pos += n;
                return n;
            }
        };
    }

    /** Keeps the status line and the fields as "name=value". */
    private static final class Seen implements ResponseReader.Fields {
        String statusLine;
        final List<String> fields = new ArrayList<>();

        @Override
        public void statusLine(byte[] buf, int from, int to) {
            statusLine = new String(buf, from, to - from, StandardCharsets.ISO_8859_1);
        }

        @Override
        public void field(byte[] buf, int nameFrom, int nameTo, int valueFrom, int valueTo) {
            fields.add(new String(buf, nameFrom, nameTo - nameFrom, StandardCharsets.ISO_8859_1) + "="
                    + new String(buf, valueFrom, valueTo - valueFrom, StandardCharsets.ISO_8859_1));
        }
    }

    private static String body(ResponseReader reader) throws IOException {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        byte[] piece = new byte[3];
        for (int n; (n = reader.readBody(piece, 0, piece.length)) >= 0; ) {
            body.write(piece, 0, n);
        }
        return body.toString(StandardCharsets.ISO_8859_1);
    }

    private static final String TWO = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nx-backend: b2\r\n\r\nhello"
            + "HTTP/1.1 503 Service Unavailable\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive, Close\r\n"
            + "X-Backend:   b1  \r\n\r\n3;ext=1\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\nTrailer: x\r\n\r\n";

    @Test
    void readsConsecutiveResponsesCutAnywhere() throws IOException {
        for (int step = 1; step <= TWO.length(); step++) {
            ResponseReader reader = new ResponseReader(16, 256);
            reader.reset(trickle(TWO, step));

            Seen first = new Seen();
            assertThat(reader.readHead(first, false)).isEqualTo(200);
            assertThat(first.statusLine).isEqualTo("HTTP/1.1 200 OK");
            assertThat(first.fields).containsExactly("Content-Length=5", "x-backend=b2");
            assertThat(reader.close()).isFalse();
            assertThat(body(reader)).isEqualTo("hello");

            Seen second = new Seen();
            assertThat(reader.readHead(second, false)).as("step %d", step).isEqualTo(503);
            assertThat(second.fields).contains("X-Backend=b1");
            assertThat(reader.close()).isTrue();
            assertThat(reader.chunked()).isTrue();
            assertThat(body(reader)).isEqualTo("abc0123456789abcdef");
            assertThat(reader.bodyDone()).isTrue();

            assertThatThrownBy(() -> reader.readHead(ResponseReader.Fields.NONE, false))
                    .isInstanceOf(EOFException.class);
            assertThat(reader.received()).isZero(); // closed before a byte: what a stale kept-alive connection gives
        }
    }

    @Test
    void aWholeResponseIsReadPastItsInterimHeadsWithItsBodySkipped() throws IOException {
        ResponseReader reader = new ResponseReader(64, 1024);
        reader.reset(trickle("HTTP/1.1 100 Continue\r\n\r\n" + TWO, 5));
        assertThat(reader.readResponse(ResponseReader.Fields.NONE)).isEqualTo(200);
        assertThat(reader.readResponse(ResponseReader.Fields.NONE)).isEqualTo(503);
        assertThat(reader.received()).isPositive();
    }

    @Test
    void anHttp10BodyRunsToTheEndOfTheStream() throws IOException {
        ResponseReader reader = new ResponseReader(32, 64);
        reader.reset(trickle("HTTP/1.0 200 OK\r\nServer: x\r\n\r\nbody until the end", 7));
        assertThat(reader.readHead(ResponseReader.Fields.NONE, false)).isEqualTo(200);
        assertThat(reader.close()).isTrue();
        assertThat(body(reader)).isEqualTo("body until the end");
    }

    @Test
    void noBodyFor204Or304OrHeadAndTheEndOfTheStreamInABodyIsAnError() throws IOException {
        ResponseReader reader = new ResponseReader(64, 1024);
        reader.reset(new ByteArrayInputStream(("HTTP/1.1 204 No Content\r\n\r\n"
                        + "HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n\r\n"
                        + "HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n"
                        + "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort")
                .getBytes(StandardCharsets.US_ASCII)));
        assertThat(reader.readHead(ResponseReader.Fields.NONE, false)).isEqualTo(204);
        assertThat(reader.bodyDone()).isTrue();
        assertThat(reader.readHead(ResponseReader.Fields.NONE, false)).isEqualTo(304);
        assertThat(reader.bodyDone()).isTrue();
        assertThat(reader.readHead(ResponseReader.Fields.NONE, true))
                .as("to a HEAD")
                .isEqualTo(200);
        assertThat(reader.bodyDone()).isTrue();
        assertThat(reader.readHead(ResponseReader.Fields.NONE, false)).isEqualTo(200);
        assertThatThrownBy(() -> body(reader)).isInstanceOf(EOFException.class);
        assertThat(reader.received()).isPositive();
    }

    @Test
    void bareLineFeedsEndLinesAndALongFieldGrowsTheBufferUpToTheHeadLimit() throws IOException {
        String big = "v".repeat(500);
        ResponseReader reader = new ResponseReader(16, 1024);
        reader.reset(trickle("HTTP/1.1 200 OK\nX-Big: " + big + "\nContent-Length: 2\n\nok", 50));
        Seen seen = new Seen();
        assertThat(reader.readHead(seen, false)).isEqualTo(200);
        assertThat(seen.fields).containsExactly("X-Big=" + big, "Content-Length=2");
        assertThat(body(reader)).isEqualTo("ok");

        ResponseReader small = new ResponseReader(16, 256);
        small.reset(trickle("HTTP/1.1 200 OK\r\nX-Big: " + big + "\r\n\r\n", 50));
        assertThatThrownBy(() -> small.readHead(ResponseReader.Fields.NONE, false))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("larger than 256 bytes");
    }

    @Test
    void whatIsBufferedAfterAResponseIsReadRawThroughTheStream() throws IOException {
        ResponseReader reader = new ResponseReader(64, 1024);
        reader.reset(new ByteArrayInputStream("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokSSH-2.0 then the rest"
                .getBytes(StandardCharsets.US_ASCII)));
        assertThat(reader.readResponse(ResponseReader.Fields.NONE)).isEqualTo(200);
        assertThat(new String(reader.stream().readAllBytes(), StandardCharsets.US_ASCII))
                .isEqualTo("SSH-2.0 then the rest");
    }

    @Test
    void malformedHeadsAndChunksAreErrors() {
        for (String bad : List.of(
                "SSH-2.0-OpenSSH_9\r\n\r\n",
                "HTTP/1.1 2x0 OK\r\n\r\n",
                "HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
                "HTTP/1.1 200 OK\r\nContent-Length: 12a\r\n\r\n",
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n0\r\n\r\n")) {
            ResponseReader reader = new ResponseReader(64, 1024);
            reader.reset(new ByteArrayInputStream(bad.getBytes(StandardCharsets.US_ASCII)));
            assertThatThrownBy(() -> reader.readResponse(ResponseReader.Fields.NONE))
                    .as(bad)
                    .isInstanceOf(IOException.class)
                    .isNotInstanceOf(EOFException.class);
        }
    }
}
