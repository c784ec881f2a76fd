package dev.roundhouse.bench.load;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class ResponseReaderTest {

    /** Hands out at most {@code step} bytes per read, to cut headers and bodies at every place. */
    private static InputStream trickle(String text, int step) {
        byte[] bytes = text.getBytes(StandardCharsets.US_ASCII);
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

    private static final String TWO = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nx-backend: b2\r\n\r\nhello"
            + "HTTP/1.1 503 Service Unavailable\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive, Close\r\n"
            + "X-Backend:   b1  \r\n\r\n3;ext=1\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\nTrailer: x\r\n\r\n";

    @Test
    void readsConsecutiveResponsesCutAnywhere() throws IOException {
        for (int step = 1; step <= TWO.length(); step++) {
            BackendIds ids = new BackendIds();
            ResponseReader reader = new ResponseReader(64, "X-Backend", ids);
            reader.reset(trickle(TWO, step));
            ResponseReader.Response r = new ResponseReader.Response();
            reader.read(r);
            assertThat(r.status).isEqualTo(200);
            assertThat(r.close).isFalse();
            assertThat(ids.name(r.backend)).isEqualTo("b2");
            reader.read(r);
            assertThat(r.status).as("step %d", step).isEqualTo(503);
            assertThat(r.close).isTrue();
            assertThat(ids.name(r.backend)).isEqualTo("b1");
            assertThat(ids.names()).containsExactly("b2", "b1");
            ResponseReader.Response third = new ResponseReader.Response();
            assertThatThrownBy(() -> reader.read(third)).isInstanceOf(EOFException.class);
            assertThat(third.bytes).isZero(); // closed before a byte: what a stale keep-alive connection gives
        }
    }

    @Test
    void http10AndBodiesToTheEndOfTheStream() throws IOException {
        ResponseReader reader = new ResponseReader(32, null, new BackendIds());
        reader.reset(trickle("HTTP/1.0 200 OK\r\nServer: x\r\n\r\nbody until the end", 7));
        ResponseReader.Response r = new ResponseReader.Response();
        reader.read(r);
        assertThat(r.status).isEqualTo(200);
        assertThat(r.close).isTrue();
        assertThat(r.backend).isZero();
    }

    @Test
    void noBodyFor204AndEofInBodyIsAnError() throws IOException {
        ResponseReader reader = new ResponseReader(64, "x-backend", new BackendIds());
        reader.reset(new ByteArrayInputStream(
                ("HTTP/1.1 204 No Content\r\n\r\n" + "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort")
                        .getBytes(StandardCharsets.US_ASCII)));
        ResponseReader.Response r = new ResponseReader.Response();
        reader.read(r);
        assertThat(r.status).isEqualTo(204);
        ResponseReader.Response second = new ResponseReader.Response();
        assertThatThrownBy(() -> reader.read(second)).isInstanceOf(EOFException.class);
        assertThat(second.bytes).isPositive();
    }

    @Test
    void malformed() {
        ResponseReader reader = new ResponseReader(64, null, new BackendIds());
        reader.reset(new ByteArrayInputStream("SSH-2.0-OpenSSH_9\r\n\r\n".getBytes(StandardCharsets.US_ASCII)));
        assertThatThrownBy(() -> reader.read(new ResponseReader.Response())).isInstanceOf(IOException.class);
    }
}
