package dev.roundhouse.proxy.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.roundhouse.proxy.RoundhouseProxy;
import dev.roundhouse.proxy.testing.Closeables;
import dev.roundhouse.proxy.testing.IdleAfterwards;
import dev.roundhouse.proxy.testing.ProxyFixture;
import dev.roundhouse.proxy.testing.ScriptedBackend;
import dev.roundhouse.proxy.testing.Transport;
import dev.roundhouse.testing.RawHttp;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A backend that sends a body where there is none (after a HEAD, 204 or 304 answer, or after interim responses)
 * must not poison the next request: were its connection reused, the next request, any client's, would read those
 * bytes as its response and every later response would be shifted by one. The backend here writes its stray
 * response at the worst moment, just as the next request arrives on the same connection; the proxy must not have
 * sent one there.
 */
@ParameterizedClass(name = "over {0}")
@EnumSource(Transport.class)
class LateBackendBytesTest {

    @Parameter
    Transport transport;

    private static final String POISON = "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nPOISON";

    @RegisterExtension
    final Closeables closeables = new Closeables();

    @RegisterExtension
    static final IdleAfterwards idle = new IdleAfterwards();

    /** Connections that answered a bodiless response: a later request on one of them finds the stray bytes first. */
    private final Set<ScriptedBackend.Connection> dirty =
            Collections.synchronizedSet(Collections.newSetFromMap(new IdentityHashMap<>()));

    private RoundhouseProxy proxyInFrontOf(String bodiless) {
        ScriptedBackend backend = closeables.add(transport.scripted((request, connection) -> {
            if (dirty.contains(connection)) {
                connection.write(POISON); // the body it should not have sent, late
            }
            if (request.target().equals("/bodiless")) {
                connection.write(bodiless);
                dirty.add(connection);
            } else {
                String body = request.target().substring(1);
                connection.write("HTTP/1.1 200 OK\r\nContent-Length: " + body.length() + "\r\n\r\n" + body);
            }
        }));
        return idle.track(ProxyFixture.start(
                transport.trusting(ProxyFixture.env("BACKENDS", backend.url(), "HEALTH_CHECK_PATH", "/health"))));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(
            delimiter = '|',
            value = {
                "a HEAD answered with a length | HEAD | HTTP/1.1 200 OK\\r\\nContent-Length: 6\\r\\n\\r\\n",
                "a 204                        | GET  | HTTP/1.1 204 No Content\\r\\n\\r\\n",
                "a 304                        | GET  | HTTP/1.1 304 Not Modified\\r\\nETag: \"1\"\\r\\n\\r\\n",
                "interim responses            | GET  | HTTP/1.1 103 Early Hints\\r\\nLink: </a>\\r\\n\\r\\nHTTP/1.1 200 OK\\r\\nContent-Length: 2\\r\\n\\r\\nok",
            })
    void theNextRequestsOnOneClientConnectionGetTheirOwnAnswers(String description, String method, String bodiless) {
        RoundhouseProxy proxy = proxyInFrontOf(bodiless.replace("\\r\\n", "\r\n"));

        // The reproduction: the bodiless request and the next ones pipelined on one connection.
        try (RawHttp client = RawHttp.connect(proxy.port())) {
            client.send(method + " /bodiless HTTP/1.1\r\nHost: x\r\n\r\n"
                    + "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n");
            RawHttp.Response first = client.readResponse(method.equals("HEAD"));
            assertThat(first.status()).as("%s", first).isBetween(200, 304);
            assertThat(client.readResponse().bodyText()).as("the answer to /a").isEqualTo("a");
            assertThat(client.readResponse().bodyText()).as("the answer to /b").isEqualTo("b");
        }
    }

    @Test
    void aBodilessAnswerToARequestWithABodyLeavesNothingForTheNextOne() {
        RoundhouseProxy proxy = proxyInFrontOf("HTTP/1.1 204 No Content\r\n\r\n");

        try (RawHttp client = RawHttp.connect(proxy.port())) {
            client.send("POST /bodiless HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
                    + "GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
            assertThat(client.readResponse().status()).isEqualTo(204);
            assertThat(client.readResponse().bodyText()).as("the answer to /a").isEqualTo("a");
        }
    }

    @Test
    void anotherClientsRequestAfterAHeadGetsItsOwnAnswer() {
        RoundhouseProxy proxy = proxyInFrontOf("HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\n");

        for (int round = 0; round < 5; round++) {
            RawHttp.Response head = RawHttp.exchange(proxy.port(), "HEAD /bodiless HTTP/1.1\r\nHost: x\r\n\r\n");
            assertThat(head.status()).isEqualTo(200);
            RawHttp.Response next =
                    RawHttp.exchange(proxy.port(), "GET /other" + round + " HTTP/1.1\r\nHost: x\r\n\r\n");
            assertThat(next.bodyText()).as("round %d", round).isEqualTo("other" + round);
        }
    }
}
