package dev.roundhouse.proxy.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.roundhouse.proxy.RoundhouseProxy;
import dev.roundhouse.proxy.testing.CorpusProbe;
import dev.roundhouse.proxy.testing.HostileCorpus;
import dev.roundhouse.proxy.testing.IdleAfterwards;
import dev.roundhouse.proxy.testing.ProxyFixture;
import dev.roundhouse.testing.RawHttp;
import dev.roundhouse.testing.RawHttp.RecordingBackend;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every case of {@code hostile/requests.corpus}, each on a proxy of its own in front of a backend that records what
 * reaches it: the client gets the status the case names, the connection is closed or kept as it says, the backend
 * sees nothing, a complete request or never a complete one, and the proxy's I/O threads stay idle for a few seconds after ({@link IdleAfterwards}).
 */
class HostileRequestCorpusTest {

    static List<HostileCorpus.Case> cases() {
        return HostileCorpus.load("/hostile/requests.corpus");
    }

    @RegisterExtension
    static final IdleAfterwards idle = new IdleAfterwards();

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void getsTheAnswerItsCaseNames(HostileCorpus.Case c) {
        RoundhouseProxy started = null;
        try (RecordingBackend backend = RecordingBackend.start()) {
            RoundhouseProxy proxy =
                    ProxyFixture.start(ProxyFixture.env("BACKENDS", backend.url(), "HEALTH_CHECK_PATH", "/health"));
            started = proxy;
            CorpusProbe.RequestOutcome outcome = CorpusProbe.sendRequestCase(c, proxy.port());

            assertThat(outcome.response().status())
                    .as("status for '%s': %s", c, outcome.response())
                    .isEqualTo(Integer.parseInt(c.field("expect")));
            assertThat(outcome.closed())
                    .as("connection closed after the answer (then: %s)", c.field("then"))
                    .isEqualTo("close".equals(c.field("then")));
            assertThat(outcome.after()).as("nothing follows the answer").isEmpty();
            assertBackendSaw(c, backend);
            RawHttp.Response next = RawHttp.exchange(proxy.port(), "GET /next HTTP/1.1\r\nHost: x\r\n\r\n");
            assertThat(next.status()).as("the proxy still serves: %s", next).isEqualTo(200);
            idle.handOver(proxy, "'" + c + "'");
            started = null;
        } finally {
            if (started != null) {
                started.close();
            }
        }
    }

    private static void assertBackendSaw(HostileCorpus.Case c, RecordingBackend backend) {
        String expected = c.field("backend");
        switch (expected) {
            case "none" ->
                await().during(Duration.ofMillis(150))
                        .atMost(Duration.ofSeconds(2))
                        .untilAsserted(() -> assertThat(backend.started())
                                .as("nothing reached the backend")
                                .isEmpty());
            case "incomplete" ->
                await().during(Duration.ofMillis(300))
                        .atMost(Duration.ofSeconds(2))
                        .untilAsserted(() -> assertThat(backend.received())
                                .as("never a complete request")
                                .noneMatch(RecordingBackend.Received::complete));
            case "complete" -> {
                await().atMost(Duration.ofSeconds(5))
                        .untilAsserted(() -> assertThat(backend.received())
                                .as("a complete request reached the backend")
                                .anyMatch(RecordingBackend.Received::complete));
                RecordingBackend.Received r = backend.received().get(0);
                for (String lacks : c.all("backend-lacks")) {
                    for (String name : lacks.split(",")) {
                        assertThat(r.header(name.trim()))
                                .as("%s in the headers the backend got: %s", name, r)
                                .isNull();
                        assertThat(r.trailers().keySet())
                                .as("trailers the backend got")
                                .doesNotContain(name.trim().toLowerCase());
                    }
                }
                for (String has : c.all("backend-has")) {
                    int colon = has.indexOf(':');
                    assertThat(r.header(has.substring(0, colon).trim()))
                            .as("%s at the backend: %s", has, r)
                            .isEqualTo(has.substring(colon + 1).trim());
                }
                if ("none".equals(c.field("backend-trailers"))) {
                    assertThat(r.trailers()).as("trailers the backend got").isEmpty();
                }
                String body = c.field("backend-body");
                if (body != null) {
                    assertThat(r.bodyText()).isEqualTo(HostileCorpus.text(body));
                }
            }
            default -> throw new IllegalArgumentException("backend: " + expected + " in " + c);
        }
    }
}
