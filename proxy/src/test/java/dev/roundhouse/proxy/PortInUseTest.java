package dev.roundhouse.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.roundhouse.proxy.testing.ProxyFixture;
import java.net.InetAddress;
import java.net.ServerSocket;
import org.junit.jupiter.api.Test;

/** A port another process holds stops start-up with a message naming the variable and the port. */
class PortInUseTest {

    @Test
    void aTakenTrafficPortIsNamedByItsVariable() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            int port = taken.getLocalPort();
            assertThatThrownBy(() -> ProxyFixture.start(
                            ProxyFixture.env("BACKENDS", "http://127.0.0.1:1", "PORT", Integer.toString(port))))
                    .rootCause()
                    .hasMessageContaining("Address already in use");
            assertThat(message(() -> ProxyFixture.start(
                            ProxyFixture.env("BACKENDS", "http://127.0.0.1:1", "PORT", Integer.toString(port)))))
                    .startsWith("PORT " + port + ": cannot listen on 127.0.0.1:" + port);
        }
    }

    @Test
    void aTakenMetricsPortIsNamedByItsVariable() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            int port = taken.getLocalPort();
            assertThat(message(() -> ProxyFixture.start(ProxyFixture.env(
                            "BACKENDS", "http://127.0.0.1:1", "METRICS_PORT", Integer.toString(port)))))
                    .startsWith("METRICS_PORT " + port + ": cannot listen on 127.0.0.1:" + port)
                    .contains("Address already in use");
        }
    }

    /** The message of what start-up threw, under the fixture's wrapping. */
    private static String message(Runnable start) {
        try {
            start.run();
        } catch (IllegalStateException e) {
            return e.getCause().getMessage();
        }
        throw new AssertionError("started although the port is taken");
    }
}
