package dev.roundhouse.bench;

import static org.assertj.core.api.Assertions.assertThat;

import dev.roundhouse.bench.soak.PacedLoad;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The soak's generator against a small keep-alive server that answers in the ways HTTP/1.1 allows. */
class SoakPacedLoadTest {

    private ServerSocket server;
    private final AtomicInteger connections = new AtomicInteger();

    /** Answers each request on a connection in turn: Content-Length, chunked, then a 503 (and again). */
    private int start() throws IOException {
        server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread acceptor = new Thread(() -> {
            while (!server.isClosed()) {
                try {
                    Socket s = server.accept();
                    connections.incrementAndGet();
                    Thread t = new Thread(() -> serve(s));
                    t.setDaemon(true);
                    t.start();
                } catch (IOException e) {
                    return;
                }
            }
        });
        acceptor.setDaemon(true);
        acceptor.start();
        return server.getLocalPort();
    }

    private static void serve(Socket s) {
        try (s;
                BufferedReader in =
                        new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.US_ASCII));
                OutputStream out = s.getOutputStream()) {
            for (int n = 0; ; n++) {
                String line = in.readLine();
                if (line == null) {
                    return;
                }
                while (!line.isEmpty()) {
                    line = in.readLine();
                }
                String answer = switch (n % 3) {
                    case 0 -> "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
                    case 1 ->
                        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n";
                    default -> "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n";
                };
                out.write(answer.getBytes(StandardCharsets.US_ASCII));
                out.flush();
            }
        } catch (IOException e) {
            // the client went away
        }
    }

    @AfterEach
    void stop() throws IOException {
        if (server != null) {
            server.close();
        }
    }

    @Test
    void requestsTakeTurnsAcrossConnectionsAtTheRate() {
        // 4 connections at 1000 req/s: every 1 ms one request, each connection every 4 ms
        assertThat(PacedLoad.dueOffset(0, 0, 4, 1000)).isZero();
        assertThat(PacedLoad.dueOffset(0, 1, 4, 1000)).isEqualTo(1_000_000);
        assertThat(PacedLoad.dueOffset(1, 0, 4, 1000)).isEqualTo(4_000_000);
        assertThat(PacedLoad.dueOffset(250, 3, 4, 1000)).isEqualTo(1_003_000_000);
    }

    @Test
    void aPacedRunSendsTheRateOverKeepAliveConnectionsAndCountsWhatCameBack() throws Exception {
        int port = start();
        PacedLoad load = new PacedLoad("127.0.0.1", port, "/", 4, 300, 2000);
        load.start(TimeUnit.SECONDS.toNanos(1));
        load.await();
        PacedLoad.Counts c = load.counts();
        assertThat(c.requests()).isEqualTo(300);
        assertThat(c.ok()).isEqualTo(200); // two in three answers are 200s, the rest 503s
        assertThat(c.non2xx()).isEqualTo(100);
        assertThat(c.socketErrors() + c.timeouts()).isZero();
        assertThat(c.reconnects()).isZero();
        assertThat(connections.get()).isEqualTo(4);
        assertThat(c.latency().count()).isEqualTo(300);
        assertThat(c.service().count()).isEqualTo(300);
        assertThat(c.service().percentile(50)).isLessThanOrEqualTo(c.latency().percentile(50));
        assertThat(load.lastError()).isEqualTo("HTTP 503");
    }

    @Test
    void aRefusedConnectionIsASocketErrorAndIsRetried() throws Exception {
        int port;
        try (ServerSocket free = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = free.getLocalPort();
        }
        PacedLoad load = new PacedLoad("127.0.0.1", port, "/", 2, 20, 500);
        load.start(TimeUnit.MILLISECONDS.toNanos(500));
        load.await();
        assertThat(load.counts().socketErrors()).isEqualTo(10);
        assertThat(load.counts().ok()).isZero();
    }
}
