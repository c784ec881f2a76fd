package dev.roundhouse.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.roundhouse.proxy.testing.ProcessProxy;
import dev.roundhouse.testing.Http;
import dev.roundhouse.testing.RawHttp;
import dev.roundhouse.testing.ServerPem;
import dev.roundhouse.testing.TestBackend;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The proxy as it runs in production: its own JVM ({@code -Xmx64m}), configured only by environment
 * variables, started through {@code main}, stopped with SIGTERM.
 */
class ProxyProcessTest {

    private static final Duration READY = Duration.ofSeconds(30);
    private static final Duration EXIT = Duration.ofSeconds(15);
    private static final long FIFTY_MB = 50L * 1024 * 1024;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final List<AutoCloseable> toClose = new ArrayList<>();

    @TempDir
    Path dir;

    @AfterEach
    void closeAll() throws Exception {
        for (AutoCloseable c : toClose) {
            c.close();
        }
    }

    private TestBackend backend(String name) {
        TestBackend b = TestBackend.start(name);
        toClose.add(b);
        return b;
    }

    /** A proxy process; closed (killed if need be) before the backends after each test. */
    private ProcessProxy proxy(String... keyValues) {
        Map<String, String> vars = new HashMap<>();
        for (int i = 0; i < keyValues.length; i += 2) {
            vars.put(keyValues[i], keyValues[i + 1]);
        }
        ProcessProxy p = ProcessProxy.start(vars);
        toClose.add(0, p);
        return p;
    }

    private ProcessProxy readyProxyFor(TestBackend backend, String... more) {
        List<String> vars = new ArrayList<>(List.of("BACKENDS", backend.url(), "HEALTH_CHECK_PATH", "/health"));
        vars.addAll(List.of(more));
        return proxy(vars.toArray(String[]::new)).awaitReady(READY);
    }

    // ---- Refusing to start on bad configuration -----------------------------------------------

    @Test
    void backendWithUnsupportedSchemeStopsStartWithExitCode2NamingTheEntry() {
        ProcessProxy p = proxy("BACKENDS", "http://ok:1,ftp://bad:2");

        int code = p.awaitExit(Duration.ofSeconds(20));

        assertThat(code).as(p.output()).isEqualTo(2);
        assertThat(p.stderr())
                .as(p.output())
                .contains("BACKENDS")
                .contains("entry 2")
                .contains("scheme")
                .contains("ftp");
        assertThat(p.stderr()).doesNotContain("entry 1 ");
    }

    @Test
    void backendWithZeroWeightStopsStartWithExitCode2NamingTheWeight() {
        ProcessProxy p = proxy("BACKENDS", "http://a:1;weight=0");

        int code = p.awaitExit(Duration.ofSeconds(20));

        assertThat(code).as(p.output()).isEqualTo(2);
        assertThat(p.stderr())
                .as(p.output())
                .contains("entry 1")
                .contains("weight")
                .contains("got 0");
    }

    @Test
    void invalidPoolFileStopsStartWithExitCode2NamingTheVariableAndTheBadField() throws IOException {
        Path pool = Files.writeString(
                dir.resolve("pool.json"), "{\"version\":1,\"backends\":[{\"url\":\"http://x:1\",\"weight\":5000}]}");
        ProcessProxy p = proxy("POOL_FILE", pool.toString());

        int code = p.awaitExit(Duration.ofSeconds(20));

        assertThat(code).as(p.output()).isEqualTo(2);
        assertThat(p.stderr()).as(p.output()).contains("POOL_FILE", pool.toString(), "backends[0].weight");
        assertThat(p.output()).as("there never was a good pool to keep").doesNotContain("last good pool");
        assertStartRefusedInALine(p);
        assertThat(p.readyStatus()).as("never ready").isEqualTo(-1);
    }

    @Test
    void aMissingPoolFileStopsStartWithExitCode2NamingTheVariable() {
        Path missing = dir.resolve("no-such-pool.json");
        ProcessProxy p = proxy("POOL_FILE", missing.toString());

        int code = p.awaitExit(Duration.ofSeconds(20));

        assertThat(code).as(p.output()).isEqualTo(2);
        assertThat(p.stderr()).as(p.output()).contains("POOL_FILE", missing.toString(), "no such file");
        assertStartRefusedInALine(p);
    }

    @Test
    void anInvalidLogLevelIsOneLineWithoutALoggingStackTrace() {
        ProcessProxy p = proxy("BACKENDS", "http://127.0.0.1:1", "LOG_LEVEL", "loud", "LIBRARY_LOG_LEVEL", "chatty");

        int code = p.awaitExit(Duration.ofSeconds(20));

        assertThat(code).as(p.output()).isEqualTo(2);
        assertThat(p.stderr())
                .as(p.output())
                .contains("LOG_LEVEL: must be one of", "'loud'", "LIBRARY_LOG_LEVEL: must be one of", "'chatty'");
        assertStartRefusedInALine(p);
    }

    @Test
    void settingsOfAnotherPoolSourceAreCheckedToo() throws IOException {
        Path pool = Files.writeString(dir.resolve("pool.json"), "{\"version\":1,\"backends\":[]}");
        ProcessProxy p =
                proxy("POOL_FILE", pool.toString(), "CB_MINIMUM_CALLS", "abc", "HEALTH_CHECK_INTERVAL", "soon");

        int code = p.awaitExit(Duration.ofSeconds(20));

        assertThat(code).as(p.output()).isEqualTo(2);
        assertThat(p.stderr()).as(p.output()).contains("CB_MINIMUM_CALLS", "'abc'", "HEALTH_CHECK_INTERVAL", "'soon'");
        assertStartRefusedInALine(p);
    }

    @Test
    void theBindAddressTheNamespaceAndThePollIntervalAreCheckedWhateverThePoolSource() {
        ProcessProxy p = proxy(
                "BACKENDS", "http://127.0.0.1:1",
                "BIND_ADDRESS", "not-an-address",
                "POD_NAMESPACE", "Bad_NS",
                "POOL_FILE_POLL_INTERVAL", "0s");

        int code = p.awaitExit(Duration.ofSeconds(20));

        assertThat(code).as(p.output()).isEqualTo(2);
        assertThat(p.stderr())
                .as(p.output())
                .contains("  BIND_ADDRESS: ", "'not-an-address'")
                .contains("  POD_NAMESPACE: ", "'Bad_NS'")
                .contains("  POOL_FILE_POLL_INTERVAL: ", "'0s'")
                .doesNotContain("PORT ");
        assertStartRefusedInALine(p);
    }

    @Test
    void aKeyThatCannotBeReadStopsStartWithExitCode2NamingTheVariable() throws IOException {
        ServerPem site = ServerPem.make(dir.resolve("site"), "site", ServerPem.Spec.ec("dns:localhost"));
        Path garbage = Files.writeString(dir.resolve("garbage.key"), "not a key");
        ProcessProxy p = proxy(
                "BACKENDS", "http://127.0.0.1:1",
                "TLS_CERT_FILE", site.cert().toString(),
                "TLS_KEY_FILE", garbage.toString());

        int code = p.awaitExit(Duration.ofSeconds(20));

        assertThat(code).as(p.output()).isEqualTo(2);
        assertThat(p.stderr()).as(p.output()).contains("  TLS_KEY_FILE " + garbage + ": ");
        assertStartRefusedInALine(p);
    }

    @Test
    void aCertificateThatCannotBeServedStopsStartWithExitCode2NamingTheFile() {
        ServerPem expired = ServerPem.make(
                dir.resolve("expired"),
                "site",
                ServerPem.Spec.ec("dns:localhost").valid(10, 2));
        ProcessProxy p = proxy(
                "BACKENDS", "http://127.0.0.1:1",
                "TLS_CERT_FILE", expired.cert().toString(),
                "TLS_KEY_FILE", expired.key().toString());

        int code = p.awaitExit(Duration.ofSeconds(20));

        assertThat(code).as(p.output()).isEqualTo(2);
        assertThat(p.stderr())
                .as(p.output())
                .contains("TLS_CERT_FILE " + expired.cert() + ": the certificate expired at");
        assertStartRefusedInALine(p);
    }

    /** One line per problem, no stack trace, nothing from the logging library. */
    private static void assertStartRefusedInALine(ProcessProxy p) {
        assertThat(p.output()).as(p.output()).doesNotContain("Exception", "\tat ", "StatusLogger", "FATAL");
    }

    // ---- Logging ----------------------------------------------------------------------------

    @Test
    void jsonLogFormatWritesOneEcsObjectPerLine() {
        TestBackend backend = backend("json");
        ProcessProxy p = readyProxyFor(backend, "LOG_FORMAT", " JSON "); // as checked: trimmed, any case
        assertThat(Http.get(p.url("/")).statusCode()).isEqualTo(200);

        p.terminate();
        p.awaitExit(EXIT);

        List<JsonNode> lines = jsonLines(p.stdout());
        assertThat(lines).as(p.output()).isNotEmpty().allSatisfy(line -> {
            assertThat(line.path("@timestamp").isTextual())
                    .as("@timestamp in %s", line)
                    .isTrue();
            assertThat(line.path("log.level").isTextual())
                    .as("log.level in %s", line)
                    .isTrue();
            assertThat(line.path("message").isTextual())
                    .as("message in %s", line)
                    .isTrue();
            assertThat(line.path("log.logger").isTextual())
                    .as("log.logger in %s", line)
                    .isTrue();
            assertThat(line.path("ecs.version").isTextual())
                    .as("ecs.version in %s", line)
                    .isTrue();
        });
        assertThat(lines).anySatisfy(line -> {
            assertThat(line.get("log.level").asText()).isEqualTo("INFO");
            assertThat(line.get("message").asText()).startsWith("Roundhouse proxy listening on 127.0.0.1:" + p.port());
            assertThat(line.get("log.logger").asText()).isEqualTo(RoundhouseProxy.class.getName());
        });
    }

    @Test
    void warnLogLevelLeavesOutInfoLinesButKeepsWarnings() {
        TestBackend backend = backend("sick");
        backend.healthy = false; // every health check fails: panic mode is logged at WARN
        ProcessProxy p = readyProxyFor(
                backend,
                "LOG_FORMAT",
                "json",
                "LOG_LEVEL",
                "warn",
                "HEALTH_CHECK_INTERVAL",
                "100ms",
                "HEALTH_CHECK_TIMEOUT",
                "50ms",
                "UNHEALTHY_THRESHOLD",
                "1");
        await().atMost(Duration.ofSeconds(10)).until(() -> p.stdout().contains("panic mode"));
        backend.healthy = true; // and its end, at the same level, so that a WARN log shows both
        await().atMost(Duration.ofSeconds(10)).until(() -> p.stdout().contains("Panic mode over"));

        p.terminate();
        p.awaitExit(EXIT);

        List<JsonNode> lines = jsonLines(p.stdout());
        assertThat(lines)
                .as(p.output())
                .noneSatisfy(line -> assertThat(line.path("log.level").asText()).isIn("INFO", "DEBUG", "TRACE"));
        assertThat(lines).anySatisfy(line -> {
            assertThat(line.path("log.level").asText()).isEqualTo("WARN");
            assertThat(line.path("message").asText()).contains("panic mode");
        });
        assertThat(lines).anySatisfy(line -> {
            assertThat(line.path("log.level").asText()).isEqualTo("WARN");
            assertThat(line.path("message").asText()).startsWith("Panic mode over");
        });
        assertThat(p.stdout()).doesNotContain("Roundhouse proxy listening");
    }

    /** Every non-empty line must be one JSON object. */
    private static List<JsonNode> jsonLines(String stdout) {
        List<JsonNode> nodes = new ArrayList<>();
        for (String line : stdout.split("\n")) {
            if (line.isBlank()) {
                continue;
            }
            try {
                JsonNode node = JSON.readTree(line);
                assertThat(node.isObject()).as("a JSON object: %s", line).isTrue();
                nodes.add(node);
            } catch (IOException e) {
                fail("not a JSON line: '" + line + "' (" + e.getMessage() + ")");
            }
        }
        return nodes;
    }

    // ---- Large bodies through a small heap ----------------------------------------------------

    @Test
    void fiftyMegabyteUploadStreamsThroughProxyWith64MegabyteHeap() throws Exception {
        TestBackend backend = TestBackend.start("upload");
        toClose.add(backend);
        ProcessProxy p =
                proxy("BACKENDS", backend.url(), "HEALTH_CHECK_PATH", "/health").awaitReady(READY);

        AtomicReference<GeneratedBody> sent = new AtomicReference<>();
        HttpRequest upload = HttpRequest.newBuilder(URI.create(p.url("/upload")))
                .timeout(Duration.ofSeconds(120))
                .POST(HttpRequest.BodyPublishers.fromPublisher(
                        HttpRequest.BodyPublishers.ofInputStream(() -> {
                            GeneratedBody body = new GeneratedBody(FIFTY_MB, 42);
                            sent.set(body);
                            return body;
                        }),
                        FIFTY_MB))
                .build();
        HttpResponse<String> response = Http.client().send(upload, HttpResponse.BodyHandlers.ofString());

        assertThat(response.statusCode())
                .as("%s\n%s", response.body(), p.output())
                .isEqualTo(200);
        GeneratedBody body = sent.get();
        assertThat(body.generated()).isEqualTo(FIFTY_MB);
        assertThat(response.body()).isEqualTo(FIFTY_MB + " " + body.sha256());
        assertThat(backend.hits.get()).isEqualTo(1);
        assertStillRunning(p);
    }

    @Test
    void fiftyMegabyteDownloadStreamsThroughProxyWith64MegabyteHeap() throws Exception {
        TestBackend backend = backend("bulk");
        ProcessProxy p = readyProxyFor(backend);

        HttpRequest download = HttpRequest.newBuilder(URI.create(p.url("/download?bytes=" + FIFTY_MB)))
                .timeout(Duration.ofSeconds(120))
                .GET()
                .build();
        HttpResponse<InputStream> response = Http.client().send(download, HttpResponse.BodyHandlers.ofInputStream());

        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.headers().firstValueAsLong("Content-Length")).hasValue(FIFTY_MB);
        long count = 0;
        long firstWrong = -1;
        byte[] buffer = new byte[64 * 1024];
        try (InputStream in = response.body()) {
            for (int n; (n = in.read(buffer)) != -1; ) {
                for (int i = 0; i < n && firstWrong < 0; i++) {
                    if (buffer[i] != (byte) ((count + i) % 16384)) {
                        firstWrong = count + i;
                    }
                }
                count += n;
                if (count > FIFTY_MB) {
                    break; // more than announced: stop reading, the assertion below fails
                }
            }
        }
        assertThat(count).isEqualTo(FIFTY_MB);
        assertThat(firstWrong).as("offset of the first byte off the pattern").isEqualTo(-1);
        assertStillRunning(p);
    }

    private static void assertStillRunning(ProcessProxy p) {
        assertThat(p.process().isAlive()).as(p.output()).isTrue();
        assertThat(p.readyStatus()).isEqualTo(200);
        assertThat(p.output()).doesNotContain("OutOfMemoryError");
    }

    /**
     * A deterministic stream of pseudo-random bytes (xorshift) that hashes what it hands out, so
     * the test holds neither the body nor a copy of it.
     */
    private static final class GeneratedBody extends InputStream {
        private final long length;
        private final MessageDigest sha;
        private long state;
        private long position;

        GeneratedBody(long length, long seed) {
            this.length = length;
            this.state = seed == 0 ? 1 : seed;
            try {
                this.sha = MessageDigest.getInstance("SHA-256");
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException(e);
            }
        }

        @Override
        public int read() {
            byte[] one = new byte[1];
            return read(one, 0, 1) == -1 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) {
            if (position >= length) {
                return -1;
            }
            int n = (int) Math.min(len, length - position);
            for (int i = 0; i < n; i++) {
                if (((position + i) & 7) == 0) {
                    state ^= state << 13;
                    state ^= state >>> 7;
                    state ^= state << 17;
                }
                b[off + i] = (byte) (state >>> (((position + i) & 7) * 8));
            }
            sha.update(b, off, n);
            position += n;
            return n;
        }

        long generated() {
            return position;
        }

        String sha256() {
            return HexFormat.of().formatHex(sha.digest());
        }
    }

    // ---- Graceful shutdown --------------------------------------------------------------------

    @Test
    void sigtermLetsTheRequestInFlightFinishThenExits() throws Exception {
        TestBackend backend = backend("slowpoke");
        ProcessProxy p = readyProxyFor(backend, "SHUTDOWN_TIMEOUT", "10s");
        CompletableFuture<HttpResponse<String>> slow = Http.client()
                .sendAsync(
                        HttpRequest.newBuilder(URI.create(p.url("/slow?ms=2000")))
                                .timeout(Duration.ofSeconds(20))
                                .build(),
                        HttpResponse.BodyHandlers.ofString());
        await().atMost(Duration.ofSeconds(10)).until(() -> backend.hits.get() > 0);
        assertThat(slow).as("still in flight when SIGTERM is sent").isNotDone();

        p.terminate();

        await().atMost(Duration.ofSeconds(5))
                .pollInterval(Duration.ofMillis(50))
                .until(() -> p.readyStatus() != 200); // 503 while draining, nothing once stopped
        HttpResponse<String> response = awaitResponse(slow, p);
        assertThat(response.statusCode()).as(p.output()).isEqualTo(200);
        assertThat(response.body()).isEqualTo("slowpoke");
        assertThat(p.awaitExit(EXIT)).as("a clean stop on SIGTERM").isEqualTo(0);
        assertThat(p.stdout())
                .contains("Stopped accepting connections: draining 1 requests in flight")
                .contains("Stopped")
                .doesNotContain("Shutdown timeout passed");
    }

    @Test
    void requestsArrivingWhileDrainingAreServedOrRefusedButNeverFailed() throws Exception {
        TestBackend backend = backend("draining");
        ProcessProxy p = readyProxyFor(backend, "SHUTDOWN_TIMEOUT", "10s");
        try (RawHttp kept = RawHttp.connect(p.port())) {
            RawHttp.Response before =
                    kept.send("GET /before HTTP/1.1\r\nHost: localhost\r\n\r\n").readResponse();
            assertThat(before.status()).isEqualTo(200);
            assertThat(before.header("Connection")).isNotEqualToIgnoringCase("close");
            CompletableFuture<HttpResponse<String>> slow = Http.client()
                    .sendAsync(
                            HttpRequest.newBuilder(URI.create(p.url("/slow?ms=3000")))
                                    .timeout(Duration.ofSeconds(20))
                                    .build(),
                            HttpResponse.BodyHandlers.ofString());
            await().atMost(Duration.ofSeconds(10))
                    .until(() -> backend.seen.stream().anyMatch(s -> s.uri().equals("/slow")));

            p.terminate();
            await().atMost(Duration.ofSeconds(5))
                    .pollInterval(Duration.ofMillis(50))
                    .until(() -> p.readyStatus() != 200);
            assertThat(slow)
                    .as("SIGTERM must not cut the request in flight: %s", p.output())
                    .isNotDone();

            // An open keep-alive connection: its next request is still served (DrainHandler adds Connection: close).
            RawHttp.Response during = kept.send("GET /during-kept HTTP/1.1\r\nHost: localhost\r\n\r\n")
                    .readResponse();
            assertThat(during.status())
                    .as("request on an open connection while draining: %s\n%s", during, p.output())
                    .isEqualTo(200);
            assertThat(during.bodyText()).isEqualTo("draining");

            // A new connection: refused, or answered without a server error; never left hanging.
            assertNewConnectionRefusedOrAnswered(p);

            HttpResponse<String> response = awaitResponse(slow, p);
            assertThat(response.statusCode()).isEqualTo(200);
            assertThat(response.body()).isEqualTo("draining");
        }
        assertThat(p.awaitExit(EXIT)).as("a clean stop on SIGTERM").isEqualTo(0);
    }

    private static void assertNewConnectionRefusedOrAnswered(ProcessProxy p) {
        RawHttp fresh;
        try {
            fresh = RawHttp.connect(p.port());
        } catch (UncheckedIOException refused) {
            return; // nothing listens any more: clients go elsewhere at once
        }
        try (fresh) {
            RawHttp.Response response = fresh.send("GET /during-new HTTP/1.1\r\nHost: localhost\r\n\r\n")
                    .readResponse();
            assertThat(response.timedOut())
                    .as("a new connection left hanging while draining")
                    .isFalse();
            if (response.answered()) {
                assertThat(response.status())
                        .as("new request while draining: %s", response)
                        .isLessThan(500);
                assertThat(response.header("Connection")).isEqualToIgnoringCase("close");
            }
        }
    }

    private static HttpResponse<String> awaitResponse(CompletableFuture<HttpResponse<String>> future, ProcessProxy p)
            throws InterruptedException {
        try {
            return future.get(15, TimeUnit.SECONDS);
        } catch (java.util.concurrent.ExecutionException e) {
            throw new AssertionError("the request in flight failed: " + e.getCause() + "\n" + p.output(), e.getCause());
        } catch (java.util.concurrent.TimeoutException e) {
            throw new AssertionError("the request in flight did not finish\n" + p.output(), e);
        }
    }
}
