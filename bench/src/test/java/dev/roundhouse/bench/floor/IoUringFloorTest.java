package dev.roundhouse.bench.floor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.roundhouse.testing.RawHttp;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The io_uring floor answers as the benchmark's load expects, and as {@link FastPathFloor} does, so that its numbers
 * are for real answers. Skipped, with the kernel's reason, where io_uring is not allowed (some container runtimes
 * forbid it).
 */
class IoUringFloorTest {

    private static final String GET = "GET / HTTP/1.1\r\nHost: floor\r\n\r\n";

    private IoUringFloor.Running floor;

    @BeforeEach
    void start() throws Exception {
        Throwable why = IoUringFloor.unavailability();
        assumeTrue(why == null, () -> "io_uring is not available here: " + why);
        floor = IoUringFloor.start("127.0.0.1", 0, "x".repeat(100));
    }

    @AfterEach
    void stop() {
        if (floor != null) {
            floor.close();
        }
    }

    @Test
    void answersEachOfPipelinedRequestsOnAKeptAliveConnection() {
        try (RawHttp client = RawHttp.connect(floor.port())) {
            client.send(GET + GET);
            for (int i = 0; i < 2; i++) {
                RawHttp.Response response = client.readResponse();
                assertThat(response.status()).isEqualTo(200);
                assertThat(response.bodyText()).isEqualTo("x".repeat(100));
                assertThat(response.header("Date")).endsWith(" GMT");
            }
            client.send(GET);
            assertThat(client.readResponse().status()).isEqualTo(200);
        }
    }

    @Test
    void aHeadThatArrivesInPiecesIsAnsweredOnceWhole() {
        try (RawHttp client = RawHttp.connect(floor.port())) {
            client.send("GET / HTTP/1.1\r\nHo");
            client.send("st: floor\r\n");
            client.send("\r\n");
            assertThat(client.readResponse().status()).isEqualTo(200);
        }
    }

    @Test
    void connectionCloseIsAnsweredThenClosed() {
        try (RawHttp client = RawHttp.connect(floor.port())) {
            client.send("GET / HTTP/1.1\r\nHost: floor\r\nConnection: close\r\n\r\n" + GET);
            assertThat(client.readResponse().status()).isEqualTo(200);
            assertThat(client.closedByPeer(null)).isTrue();
        }
    }

    @Test
    void whatItDoesNotServeIsRefusedAndClosed() {
        for (String request : new String[] {
            "POST / HTTP/1.1\r\nHost: floor\r\nContent-Length: 2\r\n\r\nab", "GET / HTTP/1.1\r\nHost : floor\r\n\r\n"
        }) {
            try (RawHttp client = RawHttp.connect(floor.port())) {
                assertThat(client.send(request).readResponse().status())
                        .as(request)
                        .isEqualTo(400);
                assertThat(client.closedByPeer(null)).as(request).isTrue();
            }
        }
    }
}
