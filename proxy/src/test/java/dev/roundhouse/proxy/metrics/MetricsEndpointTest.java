package dev.roundhouse.proxy.metrics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.roundhouse.proxy.RoundhouseProxy;
import dev.roundhouse.proxy.testing.Closeables;
import dev.roundhouse.proxy.testing.ProxyFixture;
import dev.roundhouse.proxy.testing.Scrape;
import dev.roundhouse.testing.Http;
import dev.roundhouse.testing.TestBackend;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

class MetricsEndpointTest {

    @RegisterExtension
    final Closeables closeables = new Closeables();

    private RoundhouseProxy proxyWithTraffic(TestBackend a) {
        RoundhouseProxy proxy = closeables.add(
                ProxyFixture.start(ProxyFixture.env("BACKENDS", a.url(), "HEALTH_CHECK_PATH", "/health")));
        for (int i = 0; i < 3; i++) {
            ProxyFixture.get(proxy, "/");
        }
        Http.send(HttpRequest.newBuilder(URI.create(ProxyFixture.url(proxy, "/x")))
                .POST(HttpRequest.BodyPublishers.ofString("b"))
                .build());
        Http.send(HttpRequest.newBuilder(URI.create(ProxyFixture.url(proxy, "/x")))
                .method("BREW", HttpRequest.BodyPublishers.noBody())
                .build());
        return proxy;
    }

    @Test
    void requestSeriesCarryMethodStatusAndBackend() {
        TestBackend a = closeables.add(TestBackend.start("a"));
        RoundhouseProxy proxy = proxyWithTraffic(a);
        String b = "backend=\"" + a.url() + "\"";
        // Counted as each exchange completes, which can follow the client's last byte: read until all are there.
        Scrape.awaitValue(proxy, "roundhouse_requests_total{" + b + ",method=\"GET\",status=\"200\"}", 3.0);
        Scrape.awaitValue(proxy, "roundhouse_requests_total{" + b + ",method=\"POST\",status=\"200\"}", 1.0);
        Scrape.awaitValue(proxy, "roundhouse_requests_total{" + b + ",method=\"other\",status=\"200\"}", 1.0);
        Scrape.awaitValue(proxy, "roundhouse_request_duration_seconds_count{" + b + ",method=\"GET\"}", 3.0);

        HttpResponse<String> scrape = Http.get("http://127.0.0.1:" + proxy.metricsPort() + "/metrics");

        assertThat(scrape.statusCode()).isEqualTo(200);
        assertThat(scrape.headers().firstValue("Content-Type"))
                .hasValueSatisfying(v -> assertThat(v).startsWith("text/plain"));
        assertThat(scrape.body())
                .contains("roundhouse_requests_total{" + b + ",method=\"GET\",status=\"200\"} 3.0")
                .contains("roundhouse_requests_total{" + b + ",method=\"POST\",status=\"200\"} 1.0")
                .contains("roundhouse_requests_total{" + b + ",method=\"other\",status=\"200\"} 1.0")
                .contains("roundhouse_request_duration_seconds_bucket{" + b + ",method=\"GET\",le=\"0.001\"}")
                .contains("roundhouse_request_duration_seconds_bucket{" + b + ",method=\"GET\",le=\"10.0\"}")
                .contains("roundhouse_request_duration_seconds_count{" + b + ",method=\"GET\"} 3")
                .contains("roundhouse_backends 1.0")
                .contains("roundhouse_backends_healthy 1.0")
                .contains("roundhouse_config_reloads_total{result=\"applied\"} 1.0")
                .contains("roundhouse_config_reloads_total{result=\"invalid\"} 0.0")
                .contains("resilience4j_circuitbreaker_state{name=\"" + a.url() + "\",state=\"closed\"} 1.0")
                .contains("jvm_memory_used_bytes")
                .contains("process_cpu_usage");
    }

    @Test
    void healthAndReadinessAnswerOnTheMetricsPort() {
        TestBackend a = closeables.add(TestBackend.start("a"));
        RoundhouseProxy proxy = proxyWithTraffic(a);
        String base = "http://127.0.0.1:" + proxy.metricsPort();

        assertThat(Http.get(base + "/healthz").statusCode()).isEqualTo(200);
        assertThat(Http.get(base + "/readyz").statusCode()).isEqualTo(200);
        assertThat(Http.get(base + "/nope").statusCode()).isEqualTo(404);
    }

    @Test
    void promtoolAcceptsTheScrape(@TempDir Path dir) throws IOException, InterruptedException {
        Path promtool = Path.of("/usr/bin/promtool");
        assumeTrue(Files.isExecutable(promtool), "promtool not installed (Debian package prometheus); skipping");
        TestBackend a = closeables.add(TestBackend.start("a"));
        RoundhouseProxy proxy = proxyWithTraffic(a);
        Path scrape = dir.resolve("metrics.txt");
        Files.writeString(scrape, ProxyFixture.metrics(proxy));

        Process check = new ProcessBuilder(promtool.toString(), "check", "metrics")
                .redirectInput(scrape.toFile())
                .redirectErrorStream(true)
                .start();
        String output = new String(check.getInputStream().readAllBytes());
        assertThat(check.waitFor(30, TimeUnit.SECONDS)).isTrue();

        assertThat(check.exitValue())
                .as("promtool check metrics said:\n" + output)
                .isZero();
    }
}
