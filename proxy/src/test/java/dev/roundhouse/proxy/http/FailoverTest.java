package dev.roundhouse.proxy.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.roundhouse.proxy.RoundhouseProxy;
import dev.roundhouse.proxy.testing.Closeables;
import dev.roundhouse.proxy.testing.ClosingServer;
import dev.roundhouse.proxy.testing.ProxyFixture;
import dev.roundhouse.proxy.testing.Scrape;
import dev.roundhouse.proxy.testing.Transport;
import dev.roundhouse.testing.Http;
import dev.roundhouse.testing.TestBackend;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class FailoverTest {

    @RegisterExtension
    final Closeables closeables = new Closeables();

    /** The backends' transport: both for the tests of outcomes any backend can cause; the raw ones speak HTTP. */
    private Transport transport = Transport.HTTP;

    private TestBackend backend(String name) {
        return closeables.add(transport.start(name));
    }

    private RoundhouseProxy proxy(String... env) {
        var environment = transport.trusting(ProxyFixture.env(env));
        environment.put("HEALTH_CHECK_PATH", "/health");
        return closeables.add(ProxyFixture.start(environment));
    }

    @ParameterizedTest
    @EnumSource(Transport.class)
    void deadBackendCausesNoClientVisibleErrorWhileAnotherIsUp(Transport transport) {
        this.transport = transport;
        TestBackend alive = backend("alive");
        TestBackend dead = backend("dead");
        RoundhouseProxy proxy = proxy("BACKENDS", dead.url() + "," + alive.url());
        // Stopped once the proxy holds its ports: it cannot then bind the freed port and proxy to itself.
        dead.stop();

        for (int i = 0; i < 20; i++) {
            HttpResponse<String> r = ProxyFixture.get(proxy, "/");
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.body()).isEqualTo("alive");
        }
        assertThat(alive.hits.get()).isEqualTo(20);
        assertThat(ProxyFixture.metrics(proxy))
                .contains("roundhouse_errors_total{backend=\"" + dead.url() + "\",type=\"connect\"}");
    }

    @ParameterizedTest
    @EnumSource(Transport.class)
    void noBackendUpGives503WithAReason(Transport transport) {
        this.transport = transport;
        TestBackend a = backend("a");
        TestBackend b = backend("b");
        RoundhouseProxy proxy = proxy("BACKENDS", a.url() + "," + b.url());
        // Stopped once the proxy holds its ports: it cannot then bind a freed port and proxy to itself.
        a.stop();
        b.stop();

        HttpResponse<String> r = ProxyFixture.get(proxy, "/");

        assertThat(r.statusCode()).isEqualTo(503);
        assertThat(r.headers().firstValue("Content-Type"))
                .hasValueSatisfying(v -> assertThat(v).startsWith("text/plain"));
        assertThat(r.body()).contains("no backend");
        Scrape.awaitValue(proxy, "roundhouse_requests_total{backend=\"none\",method=\"GET\",status=\"503\"}", 1.0);
    }

    @ParameterizedTest
    @EnumSource(Transport.class)
    void backendTimeoutGives504(Transport transport) {
        this.transport = transport;
        TestBackend slow = backend("slow");
        RoundhouseProxy proxy = proxy("BACKENDS", slow.url(), "REQUEST_TIMEOUT", "300ms");

        HttpResponse<String> r = ProxyFixture.get(proxy, "/slow?ms=3000");

        assertThat(r.statusCode()).isEqualTo(504);
        assertThat(r.body()).contains("timeout");
        assertThat(ProxyFixture.metrics(proxy))
                .contains("roundhouse_errors_total{backend=\"" + slow.url() + "\",type=\"timeout\"} 1.0");
    }

    @Test
    void connectionBrokenByTheBackendGives502() throws Exception {
        ClosingServer crashing = closeables.add(new ClosingServer());
        RoundhouseProxy proxy = proxy("BACKENDS", crashing.url());

        HttpResponse<String> r = Http.send(HttpRequest.newBuilder(URI.create(ProxyFixture.url(proxy, "/orders")))
                .POST(HttpRequest.BodyPublishers.ofString("{}"))
                .build());

        assertThat(r.statusCode()).isEqualTo(502);
        assertThat(r.body()).contains("bad gateway");
        // a POST the backend may have acted on is not repeated
        assertThat(crashing.requestLines)
                .filteredOn(l -> l.startsWith("POST"))
                .containsExactly("POST /orders HTTP/1.1");
    }

    @Test
    void brokenConnectionIsRetriedOnTheNextBackendForIdempotentRequests() throws Exception {
        ClosingServer crashing = closeables.add(new ClosingServer());
        TestBackend good = backend("good");
        RoundhouseProxy proxy = proxy("BACKENDS", crashing.url() + "," + good.url());

        for (int i = 0; i < 4; i++) {
            HttpResponse<String> r = ProxyFixture.get(proxy, "/");
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.body()).isEqualTo("good");
        }
        assertThat(crashing.requestLines).contains("GET / HTTP/1.1");
    }

    @ParameterizedTest
    @EnumSource(Transport.class)
    void backendErrorStatusIsPassedThrough(Transport transport) {
        this.transport = transport;
        TestBackend failing = backend("failing");
        failing.status = 500;
        RoundhouseProxy proxy = proxy("BACKENDS", failing.url());

        HttpResponse<String> r = ProxyFixture.get(proxy, "/");

        assertThat(r.statusCode()).isEqualTo(500);
        assertThat(r.body()).isEqualTo("failing");
        Scrape.awaitValue(
                proxy, "roundhouse_errors_total{backend=\"" + failing.url() + "\",type=\"upstream_5xx\"}", 1.0);
    }
}
