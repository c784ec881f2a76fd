package dev.roundhouse.proxy.testing;

import dev.roundhouse.testing.RawHttp;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.function.BooleanSupplier;

/**
 * Sends one case of a hostile corpus to a proxy on a port and reports what happened, the same way for the corpus
 * tests and for the comparison with other proxies ({@link HostileCorpusComparison}).
 */
public final class CorpusProbe {

    /** What a client saw after sending a request case: the answer, and whether the connection then closed. */
    public record RequestOutcome(RawHttp.Response response, boolean closed, String after) {}

    /** The kinds of request a response case is tried with, as written on the client's connection. */
    public enum Kind {
        GET("GET /case HTTP/1.1\r\nHost: x\r\n\r\n"),
        POST_LENGTH("POST /case HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"),
        POST_CHUNKED("POST /case HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n");

        public final String request;

        Kind(String request) {
            this.request = request;
        }
    }

    /** The answer a backend gives a response case's later requests. */
    public static final String CLEAN = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

    private CorpusProbe() {}

    /**
     * Sends the case's bytes on a new connection (half-closing after them when it says {@code client: half-close}),
     * reads one answer, then whether the proxy closes the connection (or, for {@code then: open}, not) within the
     * read timeout.
     */
    public static RequestOutcome sendRequestCase(HostileCorpus.Case c, int port) {
        try (RawHttp client = RawHttp.connect(port)) {
            client.send(c.message());
            if ("half-close".equals(c.field("client"))) {
                client.shutdownOutput();
            }
            RawHttp.Response response = client.readResponse();
            if (!response.answered() || response.closed() || response.timedOut()) {
                return new RequestOutcome(response, response.closed(), "");
            }
            if ("open".equals(c.field("then"))) {
                client.send("GET /again HTTP/1.1\r\nHost: x\r\n\r\n");
                RawHttp.Response again = client.readResponse();
                return new RequestOutcome(response, !again.answered(), "");
            }
            ByteArrayOutputStream after = new ByteArrayOutputStream();
            boolean closed = client.closedByPeer(after);
            return new RequestOutcome(response, closed, after.toString(StandardCharsets.ISO_8859_1));
        }
    }

    /** What reached a recording backend: none, complete (a complete request), or incomplete (never a complete one). */
    public static String backendSaw(RawHttp.RecordingBackend backend) {
        if (await(
                () -> backend.received().stream().anyMatch(RawHttp.RecordingBackend.Received::complete),
                Duration.ofSeconds(2))) {
            return "complete";
        }
        return backend.started().isEmpty() && backend.received().isEmpty() ? "none" : "incomplete";
    }

    /** A script for a backend that answers the first request with the case's bytes and later ones with {@link #CLEAN}. */
    public static ScriptedBackend.Script firstAnswer(HostileCorpus.Case c) {
        boolean closeAfter = "close".equals(c.field("backend-then"));
        java.util.concurrent.atomic.AtomicBoolean first = new java.util.concurrent.atomic.AtomicBoolean(true);
        return (request, connection) -> {
            if (first.getAndSet(false)) {
                connection.write(c.message());
                if (closeAfter) {
                    connection.close();
                }
            } else {
                connection.write(CLEAN);
            }
        };
    }

    /** A short account of an answer, for tables: status, interim statuses before it, and whether it was cut. */
    public static String describe(RawHttp.Response response, boolean cutAllowed) {
        if (response.timedOut()) {
            return "no answer in " + RawHttp.READ_TIMEOUT.toSeconds() + " s";
        }
        if (!response.answered()) {
            return "closed, no answer";
        }
        List<Integer> interim =
                response.interim().stream().map(RawHttp.Interim::status).toList();
        String framed = response.header("content-length") != null || response.header("transfer-encoding") != null
                ? ""
                : " (close-delimited)";
        return (interim.isEmpty() ? "" : interim + " then ")
                + response.status()
                + (response.closed() && cutAllowed && framed.isEmpty() ? ", cut" : "");
    }

    private static boolean await(BooleanSupplier condition, Duration atMost) {
        long deadline = System.nanoTime() + atMost.toNanos();
        while (System.nanoTime() < deadline) {
            if (condition.getAsBoolean()) {
                return true;
            }
            try {
                Thread.sleep(20); // polling, with a deadline
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
        return condition.getAsBoolean();
    }
}
