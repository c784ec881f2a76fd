package dev.roundhouse.bench.floor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.roundhouse.testing.RawHttp;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The byte-level server floors (the fast path's ceiling on XNIO, and the same answers on io_uring) answer as the
 * benchmark's load expects, so that their numbers are for real answers. The io_uring one is skipped, with the
 * kernel's reason, where io_uring is not allowed (some container runtimes forbid it).
 */
class ByteFloorsTest {

    private static final String GET = "GET / HTTP/1.1\r\nHost: floor\r\n\r\n";

    private interface Floor {
        FloorAnswer.Listening start() throws Exception;
    }

    static Stream<Arguments> floors() {
        return Stream.of(
                Arguments.of(
                        Named.<Floor>of("fastpath-floor", () -> FastPathFloor.start("127.0.0.1", 0, "x".repeat(100)))),
                Arguments.of(Named.<Floor>of("iouring-floor", () -> {
                    Throwable why = IoUringFloor.unavailability();
                    assumeTrue(why == null, () -> "io_uring is not available here: " + why);
                    return IoUringFloor.start("127.0.0.1", 0, "x".repeat(100));
                })));
    }

    private FloorAnswer.Listening floor;

    private RawHttp connect(Floor kind) throws Exception {
        floor = kind.start();
        return RawHttp.connect(floor.port());
    }

    @AfterEach
    void stop() {
        if (floor != null) {
            floor.close();
        }
    }

    @ParameterizedTest
    @MethodSource("floors")
    void answersEachOfPipelinedRequestsOnAKeptAliveConnection(Floor kind) throws Exception {
        try (RawHttp client = connect(kind)) {
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

    @ParameterizedTest
    @MethodSource("floors")
    void aHeadThatArrivesInPiecesIsAnsweredOnceWhole(Floor kind) throws Exception {
        try (RawHttp client = connect(kind)) {
            client.send("GET / HTTP/1.1\r\nHo");
            client.send("st: floor\r\n");
            client.send("\r\n");
            assertThat(client.readResponse().status()).isEqualTo(200);
        }
    }

    @ParameterizedTest
    @MethodSource("floors")
    void connectionCloseIsAnsweredThenClosed(Floor kind) throws Exception {
        try (RawHttp client = connect(kind)) {
            client.send("GET / HTTP/1.1\r\nHost: floor\r\nConnection: close\r\n\r\n" + GET);
            assertThat(client.readResponse().status()).isEqualTo(200);
            assertThat(client.closedByPeer(null)).isTrue();
        }
    }

    @ParameterizedTest
    @MethodSource("floors")
    void whatItDoesNotServeIsRefusedAndClosed(Floor kind) throws Exception {
        floor = kind.start();
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
