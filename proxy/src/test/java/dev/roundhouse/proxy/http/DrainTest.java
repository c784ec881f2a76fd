package dev.roundhouse.proxy.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.roundhouse.proxy.RoundhouseProxy;
import dev.roundhouse.proxy.testing.Closeables;
import dev.roundhouse.proxy.testing.ProxyFixture;
import dev.roundhouse.proxy.testing.ScriptedBackend;
import dev.roundhouse.proxy.testing.Transport;
import dev.roundhouse.testing.RawHttp;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/** Draining: what a client on a kept-alive connection is told while the proxy is leaving. */
@ParameterizedClass(name = "over {0}")
@EnumSource(Transport.class)
class DrainTest {

    @Parameter
    Transport transport;

    @RegisterExtension
    final Closeables closeables = new Closeables();

    @Test
    void aResponseInFlightWhenDrainingStartsTellsTheClientToClose() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        ScriptedBackend slow = closeables.add(transport.scripted((request, connection) -> {
            if (request.target().equals("/slow")) {
                release.await(10, TimeUnit.SECONDS);
            }
            connection.write("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ndone");
        }));
        Map<String, String> env = ProxyFixture.env("BACKENDS", slow.url(), "HEALTH_CHECK_PATH", "/health");
        RoundhouseProxy proxy = closeables.add(ProxyFixture.start(transport.trusting(env)));

        try (RawHttp client = RawHttp.connect(proxy.port()).readTimeout(Duration.ofSeconds(10))) {
            RawHttp.Response before =
                    client.send("GET /fast HTTP/1.1\r\nHost: x\r\n\r\n").readResponse();
            assertThat(before.header("Connection"))
                    .as("kept alive before the drain")
                    .isNotEqualToIgnoringCase("close");

            client.send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
            await().atMost(Duration.ofSeconds(5)).until(() -> slow.requestsStartingWith("GET /slow") == 1);
            CompletableFuture<Void> shutdown = CompletableFuture.runAsync(proxy::shutdown);
            await("draining")
                    .atMost(Duration.ofSeconds(5))
                    .until(() -> RawHttp.exchange(proxy.metricsPort(), "GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n")
                                    .status()
                            == 503);
            release.countDown();

            RawHttp.Response inFlight = client.readResponse();
            assertThat(inFlight.status()).isEqualTo(200);
            assertThat(inFlight.bodyText()).isEqualTo("done");
            assertThat(inFlight.header("Connection"))
                    .as("the response in flight at the drain")
                    .isEqualToIgnoringCase("close");
            assertThat(client.closedByPeer(new java.io.ByteArrayOutputStream())).isTrue();
            shutdown.get(10, TimeUnit.SECONDS);
        }
    }
}
