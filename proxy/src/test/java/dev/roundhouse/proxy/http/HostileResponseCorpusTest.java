package dev.roundhouse.proxy.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.roundhouse.proxy.RoundhouseProxy;
import dev.roundhouse.proxy.testing.CorpusProbe;
import dev.roundhouse.proxy.testing.CorpusProbe.Kind;
import dev.roundhouse.proxy.testing.HostileCorpus;
import dev.roundhouse.proxy.testing.IdleAfterwards;
import dev.roundhouse.proxy.testing.ProxyFixture;
import dev.roundhouse.proxy.testing.ScriptedBackend;
import dev.roundhouse.proxy.testing.Transport;
import dev.roundhouse.testing.RawHttp;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every case of {@code hostile/responses.corpus}, for each kind of request a client sends (no body, a
 * Content-Length body, a chunked body), over a plain and a TLS backend, each on a proxy of its own: the client gets the status, interim responses,
 * headers and body the case names, the failure is charged to the backend or not as it says, the proxy's I/O threads
 * stay idle for a few seconds after ({@link IdleAfterwards}), and a later request on the same backend gets a clean answer.
 */
class HostileResponseCorpusTest {

    static Stream<Arguments> cases() {
        return HostileCorpus.load("/hostile/responses.corpus").stream()
                .flatMap(c -> Arrays.stream(Kind.values())
                        .flatMap(k -> Arrays.stream(Transport.values()).map(t -> Arguments.of(c, k, t))));
    }

    @RegisterExtension
    static final IdleAfterwards idle = new IdleAfterwards();

    @ParameterizedTest(name = "{0}, {1}, over {2}")
    @MethodSource("cases")
    void theClientGetsWhatItsCaseNames(HostileCorpus.Case c, Kind kind, Transport transport) throws Exception {
        RoundhouseProxy started = null;
        try (ScriptedBackend backend = transport.scripted(CorpusProbe.firstAnswer(c))) {
            RoundhouseProxy proxy = ProxyFixture.start(
                    transport.trusting(ProxyFixture.env("BACKENDS", backend.url(), "HEALTH_CHECK_PATH", "/health")));
            started = proxy;
            String backendKey = proxy.pool().snapshot().backends().get(0).key();
            RawHttp.Response response = RawHttp.exchange(proxy.port(), kind.request);

            assertThat(response.status()).as("%s", response).isEqualTo(Integer.parseInt(c.field("expect")));
            if (c.field("status-line") != null) {
                assertThat(response.statusLine()).isEqualTo(c.field("status-line"));
            }
            String interim = c.field("interim");
            assertThat(response.interim())
                    .extracting(RawHttp.Interim::status)
                    .as("interim responses")
                    .containsExactlyElementsOf(
                            interim == null
                                    ? List.of()
                                    : Arrays.stream(interim.split(" "))
                                            .map(Integer::valueOf)
                                            .toList());
            if (c.field("interim-has") != null) {
                String has = c.field("interim-has");
                int colon = has.indexOf(':');
                assertThat(response.interim().get(0).header(has.substring(0, colon)))
                        .isEqualTo(has.substring(colon + 1).trim());
            }
            for (String has : c.all("client-has")) {
                int colon = has.indexOf(':');
                assertThat(response.headers().get(has.substring(0, colon).trim().toLowerCase()))
                        .as("%s, exactly once: %s", has, response)
                        .containsExactly(has.substring(colon + 1).trim());
            }
            for (String lacks : c.all("client-lacks")) {
                for (String name : lacks.split(",")) {
                    assertThat(response.header(name.trim()))
                            .as("%s in %s", name, response)
                            .isNull();
                }
            }
            if (c.field("body") != null) {
                assertThat(response.bodyText()).isEqualTo(HostileCorpus.text(c.field("body")));
            }
            if ("yes".equals(c.field("cut"))) {
                assertThat(response.closed())
                        .as("the response is cut: %s", response)
                        .isTrue();
            } else if (response.header("content-length") != null || response.header("transfer-encoding") != null) {
                // (without either, the response runs to the connection's end: its close is its framing)
                assertThat(response.closed())
                        .as("the response is whole: %s", response)
                        .isFalse();
            }
            boolean charged = "yes".equals(c.field("charged"));
            await().atMost(Duration.ofSeconds(5))
                    .untilAsserted(() -> assertThat(errorsCharged(proxy, backendKey) > 0)
                            .as("charged to the backend")
                            .isEqualTo(charged));

            RawHttp.Response next = RawHttp.exchange(proxy.port(), "GET /next HTTP/1.1\r\nHost: x\r\n\r\n");
            assertThat(next.status())
                    .as("a later request gets a clean answer: %s", next)
                    .isEqualTo(200);
            assertThat(next.bodyText()).isEqualTo("ok");
            idle.handOver(proxy, "'" + c + "' (" + kind + ", over " + transport + ")");
            started = null;
        } finally {
            if (started != null) {
                started.close();
            }
        }
    }

    private static double errorsCharged(RoundhouseProxy proxy, String backend) {
        String label = "backend=\"" + backend + "\"";
        return ProxyFixture.metrics(proxy)
                .lines()
                .filter(l -> l.startsWith("roundhouse_errors_total{") && l.contains(label))
                .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1)))
                .sum();
    }
}
