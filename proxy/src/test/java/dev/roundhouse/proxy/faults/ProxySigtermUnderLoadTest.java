package dev.roundhouse.proxy.faults;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.roundhouse.proxy.testing.ProcessProxy;
import dev.roundhouse.testing.RawHttp;
import dev.roundhouse.testing.ResponseStream;
import dev.roundhouse.testing.TestBackend;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Fault: the proxy process gets SIGTERM (a pod being replaced) while clients stream large responses through it.
 * Every response that had started must arrive whole (length and content), new connections must be refused or
 * told to close, and the process must exit 0 within SHUTDOWN_TIMEOUT.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ProxySigtermUnderLoadTest {

    private static final int CLIENTS = 8;
    private static final int BODY = 1 << 20;
    /** 64 chunks of 16 KiB, 25 ms apart: each response takes about 1.6 s. */
    private static final String PATH = "/trickle?bytes=" + BODY + "&chunk=16384&ms=25";

    private static final Duration SHUTDOWN_TIMEOUT = Duration.ofSeconds(10);

    private final List<AutoCloseable> toClose = new ArrayList<>();
    private final ExecutorService clients = Executors.newFixedThreadPool(CLIENTS);

    @AfterEach
    void closeAll() throws Exception {
        clients.shutdownNow();
        for (AutoCloseable c : toClose) {
            c.close();
        }
    }

    /** What one client got: the whole exchange, read to its end. */
    private record Received(
            int status, long contentLength, long length, ResponseStream.End end, long firstWrong, String connection) {}

    @Test
    void everyResponseInFlightArrivesWholeNewConnectionsAreTurnedAwayAndTheProcessExitsZero() throws Exception {
        TestBackend backend = TestBackend.start("stream");
        toClose.add(backend);
        ProcessProxy proxy = ProcessProxy.start(Map.of(
                "BACKENDS",
                backend.url(),
                "HEALTH_CHECK_PATH",
                "/health",
                "SHUTDOWN_TIMEOUT",
                SHUTDOWN_TIMEOUT.toSeconds() + "s"));
        toClose.add(0, proxy);
        proxy.awaitReady(Duration.ofSeconds(30));

        // Clients start streaming; SIGTERM goes out once every one of them is receiving its body.
        CountDownLatch streaming = new CountDownLatch(CLIENTS);
        List<CompletableFuture<Received>> inFlight = new ArrayList<>();
        for (int i = 0; i < CLIENTS; i++) {
            inFlight.add(CompletableFuture.supplyAsync(
                    () -> {
                        try (ResponseStream response = ResponseStream.get(proxy.port(), PATH, Duration.ofSeconds(10))) {
                            response.readAtLeast(64 * 1024);
                            streaming.countDown();
                            ResponseStream.End end = response.readToEnd();
                            byte[] body = response.body();
                            long firstWrong = -1;
                            for (int b = 0; b < body.length && firstWrong < 0; b++) {
                                if (body[b] != TestBackend.trickleByte(b)) {
                                    firstWrong = b;
                                }
                            }
                            return new Received(
                                    response.status(),
                                    response.contentLength(),
                                    body.length,
                                    end,
                                    firstWrong,
                                    response.header("Connection"));
                        }
                    },
                    clients));
        }
        assertThat(streaming.await(20, TimeUnit.SECONDS))
                .as("all clients streaming")
                .isTrue();
        assertThat(inFlight).as("still streaming when SIGTERM is sent").noneMatch(CompletableFuture::isDone);

        long terminatedAt = System.nanoTime();
        proxy.terminate();

        // New connections, from SIGTERM on, one every 50 ms while the streams run: refused, or answered and told
        // to close; never hanging, never failed.
        int[] refusedAnswered = new int[2];
        await().atMost(SHUTDOWN_TIMEOUT.plusSeconds(5))
                .pollInterval(Duration.ofMillis(50))
                .until(() -> {
                    probeNewConnection(proxy, refusedAnswered);
                    return inFlight.stream().allMatch(CompletableFuture::isDone)
                            || !proxy.process().isAlive();
                });
        int refused = refusedAnswered[0];
        int answered = refusedAnswered[1];

        for (CompletableFuture<Received> f : inFlight) {
            Received r = f.get(30, TimeUnit.SECONDS);
            assertThat(r.status()).as("%s\n%s", r, proxy.output()).isEqualTo(200);
            assertThat(r.contentLength()).isEqualTo(BODY);
            assertThat(r.end())
                    .as("how the body ended: %s\n%s", r, proxy.output())
                    .isEqualTo(ResponseStream.End.COMPLETE);
            assertThat(r.length()).isEqualTo(BODY);
            assertThat(r.firstWrong())
                    .as("offset of the first byte off the pattern")
                    .isEqualTo(-1);
        }
        int code = proxy.awaitExit(SHUTDOWN_TIMEOUT.plusSeconds(5));
        Duration exitedAfter = Duration.ofNanos(System.nanoTime() - terminatedAt);
        System.out.printf(
                "SIGTERM with %d responses of 1 MiB in flight: all whole; %d new connections refused, %d"
                        + " answered while draining; exit %d after %d ms%n",
                CLIENTS, refused, answered, code, exitedAfter.toMillis());
        assertThat(code).as("exit code after SIGTERM\n%s", proxy.output()).isZero();
        assertThat(exitedAfter).as("exit within SHUTDOWN_TIMEOUT").isLessThan(SHUTDOWN_TIMEOUT);
        assertThat(proxy.stdout())
                .contains("Stopped accepting connections: draining")
                .contains("Stopped")
                .doesNotContain("Shutdown timeout passed");
        assertThat(backend.seen.stream().filter(s -> s.uri().equals("/trickle")).count())
                .isEqualTo(CLIENTS);
    }

    private static void probeNewConnection(ProcessProxy proxy, int[] refusedAnswered) {
        RawHttp fresh;
        try {
            fresh = RawHttp.connect(proxy.port());
        } catch (UncheckedIOException e) {
            refusedAnswered[0]++;
            return;
        }
        try (fresh) {
            RawHttp.Response r =
                    fresh.send("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n").readResponse();
            assertThat(r.timedOut())
                    .as("a new connection left hanging while draining")
                    .isFalse();
            if (r.answered()) {
                refusedAnswered[1]++;
                assertThat(r.status()).as("new request while draining: %s", r).isIn(200, 503);
                assertThat(r.header("Connection"))
                        .as("new request while draining: %s", r)
                        .isEqualToIgnoringCase("close");
            } else {
                refusedAnswered[0]++; // accepted by the kernel's backlog, then closed unanswered as the socket went
            }
        }
    }
}
