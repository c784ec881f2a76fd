package dev.roundhouse.testing;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The tests' one answer reader, against a loopback peer that writes exact bytes and ends the connection its way. */
class ResponseStreamTest {

    private ServerSocket server;

    @BeforeEach
    void listen() throws IOException {
        server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
    }

    @AfterEach
    void stop() throws IOException {
        server.close();
    }

    @Test
    void aLengthFramedAnswerIsCompleteAndLeavesTheConnectionOpen() {
        answer("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: 1\r\nx-a: 2\r\n\r\nhello", Then.STAY_OPEN);
        RawHttp.Response r = get();
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.bodyText()).isEqualTo("hello");
        assertThat(r.header("X-A")).isEqualTo("1,2");
        assertThat(r.closed()).isFalse();
        assertThat(r.timedOut()).isFalse();
    }

    @Test
    void aLengthFramedAnswerCutByACloseIsReportedClosed() {
        answer("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhel", Then.CLOSE);
        try (ResponseStream s = ResponseStream.get(server.getLocalPort(), "/", RawHttp.READ_TIMEOUT)) {
            assertThat(s.status()).isEqualTo(200);
            assertThat(s.readToEnd()).isEqualTo(ResponseStream.End.CLOSED);
            assertThat(s.bodyLength()).isEqualTo(3);
        }
    }

    @Test
    void aResetMidBodyIsReportedAsAReset() {
        answer("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhel", Then.RESET);
        try (ResponseStream s = ResponseStream.get(server.getLocalPort(), "/", RawHttp.READ_TIMEOUT)) {
            assertThat(s.readToEnd()).isIn(ResponseStream.End.RESET, ResponseStream.End.CLOSED);
        }
    }

    @Test
    void chunksAreDecodedAndTrailersDropped() {
        answer(
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nT: x\r\n\r\n",
                Then.STAY_OPEN);
        RawHttp.Response r = get();
        assertThat(r.bodyText()).isEqualTo("abcde");
        assertThat(r.closed()).isFalse();
    }

    @Test
    void anUnframedBodyRunsToTheCloseWhichEndsItComplete() {
        answer("HTTP/1.1 200 OK\r\n\r\nuntil the end", Then.CLOSE);
        RawHttp.Response r = get();
        assertThat(r.bodyText()).isEqualTo("until the end");
        assertThat(r.closed()).isTrue();
        assertThat(r.timedOut()).isFalse();
    }

    @Test
    void noBodyIsAwaitedAfterA204OrAHeadAnswer() {
        answer("HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n", Then.STAY_OPEN);
        try (RawHttp connection = RawHttp.connect(server.getLocalPort())) {
            connection.send("GET / HTTP/1.1\r\n\r\n");
            RawHttp.Response noContent = connection.readResponse();
            assertThat(noContent.status()).isEqualTo(204);
            assertThat(noContent.timedOut()).isFalse();
            RawHttp.Response head = connection.readResponse(true);
            assertThat(head.status()).isEqualTo(200);
            assertThat(head.body()).isEmpty();
            assertThat(head.timedOut()).isFalse();
        }
    }

    @Test
    void interimAnswersAreKeptApartFromTheFinalOne() {
        answer(
                "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n"
                        + "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
                Then.STAY_OPEN);
        RawHttp.Response r = get();
        assertThat(r.interim()).extracting(RawHttp.Interim::status).containsExactly(100, 103);
        assertThat(r.interim().get(1).header("link")).isEqualTo("</a.css>");
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.bodyText()).isEqualTo("ok");
    }

    @Test
    void aHeadCutShortIsNoAnswer() {
        answer("HTTP/1.1 200 OK\r\nContent-Le", Then.CLOSE);
        RawHttp.Response r = get();
        assertThat(r.answered()).isFalse();
        assertThat(r.closed()).isTrue();
    }

    /** One GET on a connection of its own, closed once the answer is read. */
    private RawHttp.Response get() {
        try (RawHttp connection = RawHttp.connect(server.getLocalPort())) {
            return connection.send("GET / HTTP/1.1\r\n\r\n").readResponse();
        }
    }

    private enum Then {
        STAY_OPEN,
        CLOSE,
        RESET
    }

    /** Accepts one connection, reads the request head, writes {@code bytes}, then ends the connection as told. */
    private void answer(String bytes, Then then) {
        CompletableFuture.runAsync(() -> {
            try (Socket socket = server.accept()) {
                InputStream in = socket.getInputStream();
                RawHttp.readHead(in, 64 * 1024);
                OutputStream out = socket.getOutputStream();
                out.write(bytes.getBytes(StandardCharsets.ISO_8859_1));
                out.flush();
                switch (then) {
                    case STAY_OPEN -> in.read(); // until the client closes
                    case RESET -> socket.setSoLinger(true, 0);
                    case CLOSE -> {}
                }
            } catch (IOException e) {
                // the client went first
            }
        });
    }
}
