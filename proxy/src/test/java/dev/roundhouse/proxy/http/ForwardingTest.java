package dev.roundhouse.proxy.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.roundhouse.proxy.RoundhouseProxy;
import dev.roundhouse.proxy.testing.ProxyFixture;
import dev.roundhouse.proxy.testing.Transport;
import dev.roundhouse.testing.Http;
import dev.roundhouse.testing.TestBackend;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Selection and what passes through unchanged, over plain and TLS backends alike. */
class ForwardingTest {

    private final List<AutoCloseable> toClose = new ArrayList<>();

    @AfterEach
    void closeAll() throws Exception {
        for (AutoCloseable c : toClose) {
            c.close();
        }
    }

    private Transport transport;

    private TestBackend backend(String name) {
        TestBackend b = transport.start(name);
        toClose.add(b);
        return b;
    }

    private RoundhouseProxy proxy(String backends) {
        RoundhouseProxy p = ProxyFixture.start(
                transport.trusting(ProxyFixture.env("BACKENDS", backends, "HEALTH_CHECK_PATH", "/health")));
        toClose.add(0, p);
        return p;
    }

    @ParameterizedTest
    @EnumSource(Transport.class)
    void equalWeightsGoRoundRobinInPoolOrder(Transport transport) {
        this.transport = transport;
        TestBackend a = backend("a");
        TestBackend b = backend("b");
        TestBackend c = backend("c");
        RoundhouseProxy proxy = proxy(a.url() + "," + b.url() + "," + c.url());

        List<String> answers = new ArrayList<>();
        for (int i = 0; i < 9; i++) {
            HttpResponse<String> r = ProxyFixture.get(proxy, "/");
            assertThat(r.statusCode()).isEqualTo(200);
            answers.add(r.body());
        }
        assertThat(answers).containsExactly("a", "b", "c", "a", "b", "c", "a", "b", "c");
    }

    @ParameterizedTest
    @EnumSource(Transport.class)
    void weightsSetTheShareOfRequests(Transport transport) {
        this.transport = transport;
        TestBackend heavy = backend("heavy");
        TestBackend light = backend("light");
        RoundhouseProxy proxy = proxy(heavy.url() + ";weight=3," + light.url());

        for (int i = 0; i < 40; i++) {
            assertThat(ProxyFixture.get(proxy, "/").statusCode()).isEqualTo(200);
        }
        assertThat(heavy.hits.get()).isEqualTo(30);
        assertThat(light.hits.get()).isEqualTo(10);
    }

    @ParameterizedTest
    @EnumSource(Transport.class)
    void methodPathQueryBodyAndEndToEndHeadersArePreserved(Transport transport) {
        this.transport = transport;
        TestBackend a = backend("a");
        RoundhouseProxy proxy = proxy(a.url());

        HttpResponse<String> r =
                Http.send(HttpRequest.newBuilder(URI.create(ProxyFixture.url(proxy, "/upload/x%2Fy?q=1&r=a%20b")))
                        .header("X-Custom", "kept")
                        .header("Authorization", "Bearer t")
                        .PUT(HttpRequest.BodyPublishers.ofString("hello"))
                        .build());

        assertThat(r.statusCode()).isEqualTo(200);
        TestBackend.Seen seen = a.lastSeen();
        assertThat(seen.method()).isEqualTo("PUT");
        assertThat(seen.uri()).isEqualTo("/upload/x%2Fy");
        assertThat(seen.query()).isEqualTo("q=1&r=a%20b");
        assertThat(seen.header("X-Custom")).isEqualTo("kept");
        assertThat(seen.header("Authorization")).isEqualTo("Bearer t");
        assertThat(seen.header("Content-Length")).isEqualTo("5");
    }
}
