package dev.roundhouse.bench.scale;

import static org.assertj.core.api.Assertions.assertThat;

import dev.roundhouse.operator.observe.ProxyReport;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The fake proxies answer as the proxy does, in a form the operator reads, and hold a long poll until a change. */
class FakeProxiesTest {

    private final HttpClient http = HttpClient.newHttpClient();

    private HttpResponse<byte[]> get(FakeProxies fake, int i, String query) throws Exception {
        return http.send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + fake.port(i) + "/status" + query))
                        .timeout(Duration.ofSeconds(10))
                        .build(),
                HttpResponse.BodyHandlers.ofByteArray());
    }

    @Test
    void eachPortIsOneProxyWithItsOwnBackends() throws Exception {
        try (FakeProxies fake = new FakeProxies(List.of(
                List.of("http://127.0.0.1:20000", "http://127.0.0.1:20001"),
                List.of("http://127.0.0.1:20002", "http://127.0.0.1:20003")))) {
            ProxyReport second = ProxyReport.parse(get(fake, 1, "").body());

            assertThat(second.lastChange()).isEqualTo(1);
            assertThat(second.backends()).containsOnlyKeys("http://127.0.0.1:20002", "http://127.0.0.1:20003");
            assertThat(second.backends().values())
                    .allMatch(b -> b.inRotation() && b.state().equals("in-rotation"));
            assertThat(get(fake, 0, "?after=-1&wait=30").statusCode()).isEqualTo(200); // at once
            assertThat(fake.answered()[0]).isEqualTo(2);
        }
    }

    @Test
    void aLongPollIsHeldUntilAChangeOrItsWait() throws Exception {
        try (FakeProxies fake = new FakeProxies(List.of(List.of("http://127.0.0.1:20000", "http://127.0.0.1:20001")))) {
            CompletableFuture<HttpResponse<byte[]>> held = http.sendAsync(
                    HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + fake.port(0) + "/status?after=1&wait=30"))
                            .build(),
                    HttpResponse.BodyHandlers.ofByteArray());
            for (int i = 0; i < 50 && fake.held() == 0; i++) {
                Thread.sleep(20);
            }
            assertThat(fake.held()).isEqualTo(1);
            assertThat(held).isNotDone();

            fake.takeOut(0, 1);
            ProxyReport report = ProxyReport.parse(held.get(5, TimeUnit.SECONDS).body());

            assertThat(report.lastChange()).isEqualTo(2);
            assertThat(report.backends().get("http://127.0.0.1:20001").state()).isEqualTo("out-of-rotation");
            assertThat(report.backends().get("http://127.0.0.1:20001").inRotation())
                    .isFalse();
            assertThat(fake.held()).isZero();

            long started = System.nanoTime();
            assertThat(ProxyReport.parse(get(fake, 0, "?after=2&wait=1").body()).lastChange())
                    .isEqualTo(2);
            assertThat(System.nanoTime() - started).isGreaterThan(TimeUnit.MILLISECONDS.toNanos(900));
            assertThat(fake.answered()).containsExactly(0, 1, 1);
            assertThat(fake.requests()).isEqualTo(2);
        }
    }
}
