package dev.roundhouse.proxy.forward;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.roundhouse.proxy.RoundhouseProxy;
import dev.roundhouse.proxy.testing.ProxyFixture;
import dev.roundhouse.testing.RawHttp;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * With its defaults, the proxy does not hold back requests that nginx and HAProxy would send on at once: clients'
 * requests in flight together reach a backend together, each on a connection of its own, well past what the old cap
 * (64 connections per backend and I/O thread) let through; the rest used to wait in the proxy's queue.
 */
class ConnectionCapDefaultTest {

    /** The cap this test was written against: the default must let more than this through on every I/O thread. */
    private static final int OLD_CAP = 64;

    @Test
    void requestsInFlightTogetherReachTheBackendTogether() throws Exception {
        int ioThreads = Runtime.getRuntime().availableProcessors();
        // More than the old cap lets through on all I/O threads together, however the clients spread over them.
        int clients = ioThreads * OLD_CAP + 16;
        try (HoldingBackend backend = new HoldingBackend();
                RoundhouseProxy proxy = ProxyFixture.start(ProxyFixture.env(
                        "BACKENDS", "http://127.0.0.1:" + backend.port(), "HEALTH_CHECK_PATH", "/health"))) {
            List<Socket> sockets = new ArrayList<>();
            try {
                for (int i = 0; i < clients; i++) {
                    Socket socket = new Socket(InetAddress.getLoopbackAddress(), proxy.port());
                    socket.setSoTimeout((int) RawHttp.READ_TIMEOUT.toMillis() * 2);
                    socket.getOutputStream()
                            .write(("GET /hold/" + i + " HTTP/1.1\r\nHost: shop.example\r\n\r\n")
                                    .getBytes(StandardCharsets.US_ASCII));
                    sockets.add(socket);
                }
                await().atMost(Duration.ofSeconds(20))
                        .untilAsserted(() -> assertThat(backend.held.get())
                                .as("requests the backend holds, of %d sent at once", clients)
                                .isEqualTo(clients));
                backend.release.countDown();
                for (Socket socket : sockets) {
                    assertThat(RawHttp.readLine(socket.getInputStream())).isEqualTo("HTTP/1.1 200 OK");
                }
            } finally {
                for (Socket socket : sockets) {
                    socket.close();
                }
            }
        }
    }

    /**
     * A backend that answers {@code /health} at once and holds every other request, each on its own connection,
     * until released: the number held is the number of requests in flight at it.
     */
    private static final class HoldingBackend implements AutoCloseable {
        final AtomicInteger held = new AtomicInteger();
        final CountDownLatch release = new CountDownLatch(1);
        private final ServerSocket server = new ServerSocket();
        private final List<Socket> accepted = new CopyOnWriteArrayList<>();

        HoldingBackend() throws IOException {
            server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 4096);
            Thread acceptor = new Thread(this::accept, "holding-backend");
            acceptor.setDaemon(true);
            acceptor.start();
        }

        int port() {
            return server.getLocalPort();
        }

        private void accept() {
            while (!server.isClosed()) {
                try {
                    Socket socket = server.accept();
                    accepted.add(socket);
                    Thread serve = new Thread(() -> serve(socket), "holding-backend-conn");
                    serve.setDaemon(true);
                    serve.start();
                } catch (IOException closed) {
                    return;
                }
            }
        }

        private void serve(Socket socket) {
            try (socket) {
                InputStream in = socket.getInputStream();
                OutputStream out = socket.getOutputStream();
                while (true) {
                    String head = RawHttp.readHead(in, 64 * 1024);
                    if (head == null || head.isEmpty()) {
                        return;
                    }
                    if (head.startsWith("GET /hold/")) {
                        held.incrementAndGet();
                        release.await();
                    }
                    out.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".getBytes(StandardCharsets.US_ASCII));
                    out.flush();
                }
            } catch (IOException | InterruptedException ended) {
                // the proxy closed the connection, or the test ended
            }
        }

        @Override
        public void close() throws IOException {
            release.countDown();
            server.close();
            for (Socket socket : accepted) {
                socket.close();
            }
        }
    }
}
