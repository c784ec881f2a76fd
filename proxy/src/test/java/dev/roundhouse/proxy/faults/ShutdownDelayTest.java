package dev.roundhouse.proxy.faults;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.roundhouse.proxy.RoundhouseProxy;
import dev.roundhouse.proxy.testing.Closeables;
import dev.roundhouse.proxy.testing.ProxyFixture;
import dev.roundhouse.testing.Http;
import dev.roundhouse.testing.TestBackend;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * After SIGTERM a pod's endpoint takes a few seconds to leave every kube-proxy and load balancer, which keep sending
 * it new connections meanwhile. For SHUTDOWN_DELAY the proxy reports not ready but still accepts and serves them
 * (telling each to close), and only then stops accepting and drains.
 */
class ShutdownDelayTest {

    @RegisterExtension
    final Closeables closeables = new Closeables();

    @Test
    void newConnectionsAreServedDuringTheDelayWhileReadinessSaysNo() throws Exception {
        TestBackend backend = closeables.add(TestBackend.start("backend"));
        // Long enough that the checks below run inside it on any machine; the test waits for its end.
        RoundhouseProxy proxy = closeables.add(
                ProxyFixture.start(ProxyFixture.env("BACKENDS", backend.url(), "SHUTDOWN_DELAY", "10s")));
        String readyz = "http://127.0.0.1:" + proxy.metricsPort() + "/readyz";
        assertThat(Http.get(readyz).statusCode()).isEqualTo(200);

        CompletableFuture<Void> stopped = CompletableFuture.runAsync(proxy::shutdown);
        await("not ready")
                .atMost(Duration.ofSeconds(5))
                .pollInterval(Duration.ofMillis(20))
                .until(() -> Http.get(readyz).statusCode() == 503);

        String answer = getOnANewConnection(proxy.port());
        assertThat(stopped).as("still in the delay").isNotDone();
        assertThat(answer)
                .startsWith("HTTP/1.1 200")
                .containsIgnoringCase("connection: close")
                .endsWith("backend");

        stopped.get(30, TimeUnit.SECONDS);
        assertThat(refused(proxy.port()))
                .as("no connections accepted after the delay and the drain")
                .isTrue();
    }

    @Test
    void noDelayStopsAcceptingAtOnce() throws Exception {
        TestBackend backend = closeables.add(TestBackend.start("backend"));
        RoundhouseProxy proxy =
                closeables.add(ProxyFixture.start(ProxyFixture.env("BACKENDS", backend.url(), "SHUTDOWN_DELAY", "0s")));
        proxy.shutdown();
        assertThat(refused(proxy.port())).isTrue();
    }

    private static String getOnANewConnection(int port) throws IOException {
        try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), port)) {
            socket.setSoTimeout(10_000);
            OutputStream out = socket.getOutputStream();
            out.write("GET / HTTP/1.1\r\nHost: test\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = socket.getInputStream();
            return new String(in.readAllBytes(), StandardCharsets.ISO_8859_1); // the proxy closes after it
        }
    }

    private static boolean refused(int port) {
        try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), port)) {
            // Linux may connect a client to itself on a port nobody listens on: that is a refusal too.
            return socket.getLocalPort() == port;
        } catch (ConnectException e) {
            return true;
        } catch (IOException e) {
            return false;
        }
    }
}
