package dev.roundhouse.proxy.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.roundhouse.proxy.config.ProxySettings;
import dev.roundhouse.proxy.testing.ProxyFixture;
import dev.roundhouse.testing.Http;
import io.undertow.util.Headers;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The server around a handler other than the proxy (what the benchmark's server floor runs): it answers with that
 * handler, and its drain accounting still waits for a request in flight.
 */
class ProxyServerTest {

    private static ProxySettings settings() throws Exception {
        return ProxySettings.fromEnvironment(ProxyFixture.env("BACKENDS", "http://127.0.0.1:1"));
    }

    @Test
    void aServerAroundAnotherHandlerAnswersWithItAndDrainsItsRequests() throws Exception {
        CountDownLatch entered = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        ProxyServer server = new ProxyServer(settings(), exchange -> {
            if (exchange.getRequestPath().equals("/slow")) {
                exchange.dispatch(() -> {
                    entered.countDown();
                    try {
                        release.await(20, TimeUnit.SECONDS);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                    exchange.getResponseSender().send("slow");
                });
                return;
            }
            exchange.getResponseHeaders().put(Headers.CONTENT_TYPE, "text/plain");
            exchange.getResponseSender().send("answered here");
        });
        try {
            server.start();
            String base = "http://127.0.0.1:" + server.port();

            HttpResponse<String> answer = Http.get(base + "/x");
            assertThat(answer.statusCode()).isEqualTo(200);
            assertThat(answer.body()).isEqualTo("answered here");

            CompletableFuture<HttpResponse<String>> slow =
                    CompletableFuture.supplyAsync(() -> Http.get(base + "/slow"));
            assertThat(entered.await(10, TimeUnit.SECONDS)).isTrue();
            assertThat(server.inFlight()).isEqualTo(1);
            CompletableFuture<Boolean> drained = CompletableFuture.supplyAsync(() -> {
                try {
                    return server.drain(Duration.ZERO, Duration.ofSeconds(20), () -> {});
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
            });
            // still waiting: the request in flight has not finished
            await().during(Duration.ofMillis(200)).atMost(Duration.ofSeconds(2)).until(() -> !drained.isDone());
            release.countDown();
            assertThat(drained.get(20, TimeUnit.SECONDS)).as("drained in time").isTrue();
            assertThat(slow.get(20, TimeUnit.SECONDS).body()).isEqualTo("slow");
        } finally {
            release.countDown();
            server.close();
        }
    }
}
