package dev.roundhouse.proxy.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.roundhouse.poolformat.PoolDocument;
import dev.roundhouse.poolformat.PoolDocumentCodec;
import dev.roundhouse.proxy.RoundhouseProxy;
import dev.roundhouse.proxy.pool.Backend;
import dev.roundhouse.proxy.testing.Closeables;
import dev.roundhouse.proxy.testing.MutableClock;
import dev.roundhouse.proxy.testing.ProxyFixture;
import dev.roundhouse.proxy.testing.Scrape;
import dev.roundhouse.testing.TestBackend;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

class PoolFileReloadTest {

    @RegisterExtension
    final Closeables closeables = new Closeables();

    @TempDir
    Path dir;

    private Path poolFile;

    private static String document(PoolDocument.CircuitBreaker breaker, TestBackend... backends) {
        List<PoolDocument.BackendEntry> entries = java.util.Arrays.stream(backends)
                .map(b -> new PoolDocument.BackendEntry(b.url(), 1))
                .toList();
        return PoolDocumentCodec.write(new PoolDocument(
                1,
                entries,
                new PoolDocument.HealthCheck("/health", Duration.ofSeconds(30), Duration.ofSeconds(1), 2, 3),
                breaker,
                PoolDocument.Timeouts.DEFAULTS));
    }

    private static String document(TestBackend... backends) {
        return document(new PoolDocument.CircuitBreaker(50f, 4, 4, Duration.ofSeconds(30), 2), backends);
    }

    /** Replaces the file atomically, as an editor or a ConfigMap volume does. */
    private void writePool(String text) throws IOException {
        Path tmp = Files.createTempFile(dir, "pool", ".tmp");
        Files.writeString(tmp, text);
        Files.move(tmp, poolFile, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    private RoundhouseProxy proxy(String initial, MutableClock clock) throws IOException {
        return proxy(initial, clock, "20ms");
    }

    private RoundhouseProxy proxy(String initial, MutableClock clock, String pollInterval) throws IOException {
        poolFile = dir.resolve("pool.json");
        writePool(initial);
        return startOn(poolFile, clock, pollInterval);
    }

    private RoundhouseProxy startOn(Path file, MutableClock clock, String pollInterval) {
        return closeables.add(ProxyFixture.start(
                ProxyFixture.env("POOL_FILE", file.toString(), "POOL_FILE_POLL_INTERVAL", pollInterval), clock));
    }

    @Test
    void aChangeIsAppliedOnTheFileSystemEventNotAtTheNextIntervalRead() throws IOException {
        TestBackend a = closeables.add(TestBackend.start("a"));
        TestBackend b = closeables.add(TestBackend.start("b"));
        // the interval read would come only after an hour: only the directory's events can make this pass
        RoundhouseProxy proxy = proxy(document(a), new MutableClock(), "1h");

        writePool(document(b));

        await().atMost(Duration.ofSeconds(5))
                .until(() -> proxy.pool().snapshot().backend(b.url()) != null);
        assertThat(ProxyFixture.get(proxy, "/").body()).isEqualTo("b");
    }

    @Test
    void aFileRewrittenInPlaceIsReadOnceWholeNotHalfWritten() throws IOException {
        TestBackend a = closeables.add(TestBackend.start("a"));
        TestBackend b = closeables.add(TestBackend.start("b"));
        RoundhouseProxy proxy = proxy(document(a), new MutableClock(), "1h");

        // truncate, then write: the events of both arrive, and a read at the first would see an empty file
        Files.writeString(poolFile, document(b));

        await().atMost(Duration.ofSeconds(5))
                .until(() -> proxy.pool().snapshot().backend(b.url()) != null);
        Scrape.awaitValue(proxy, "roundhouse_config_reloads_total{result=\"applied\"}", 2.0);
        assertThat(ProxyFixture.metrics(proxy)).contains("roundhouse_config_reloads_total{result=\"invalid\"} 0.0");
    }

    @Test
    void aKubernetesConfigMapVolumeSwapIsAppliedAtOnce() throws IOException {
        // The kubelet's layout: pool.json -> ..data/pool.json, ..data -> a timestamped directory; an update
        // writes a new directory and renames a new ..data symlink over the old one. The file itself never changes.
        TestBackend a = closeables.add(TestBackend.start("a"));
        TestBackend b = closeables.add(TestBackend.start("b"));
        Path first = Files.createDirectory(dir.resolve("..2026_11_26_first"));
        Files.writeString(first.resolve("pool.json"), document(a));
        Files.createSymbolicLink(dir.resolve("..data"), first.getFileName());
        Path volumeFile = Files.createSymbolicLink(dir.resolve("pool.json"), Path.of("..data", "pool.json"));
        RoundhouseProxy proxy = startOn(volumeFile, new MutableClock(), "1h");
        assertThat(ProxyFixture.get(proxy, "/").body()).isEqualTo("a");

        Path second = Files.createDirectory(dir.resolve("..2026_11_26_second"));
        Files.writeString(second.resolve("pool.json"), document(b));
        Path newLink = Files.createSymbolicLink(dir.resolve("..data_tmp"), second.getFileName());
        Files.move(newLink, dir.resolve("..data"), StandardCopyOption.ATOMIC_MOVE);

        await().atMost(Duration.ofSeconds(5))
                .until(() -> proxy.pool().snapshot().backend(b.url()) != null);
        assertThat(proxy.pool().snapshot().backend(a.url())).isNull();
        assertThat(ProxyFixture.get(proxy, "/").body()).isEqualTo("b");
    }

    @Test
    void aChangedFileReloadsThePoolWithoutRestart() throws IOException {
        TestBackend a = closeables.add(TestBackend.start("a"));
        TestBackend b = closeables.add(TestBackend.start("b"));
        RoundhouseProxy proxy = proxy(document(a), new MutableClock());
        assertThat(ProxyFixture.get(proxy, "/").body()).isEqualTo("a");
        int port = proxy.port();

        writePool(document(b));

        await().atMost(Duration.ofSeconds(5))
                .until(() -> proxy.pool().snapshot().backend(b.url()) != null);
        int aHits = a.hits.get();
        for (int i = 0; i < 5; i++) {
            assertThat(ProxyFixture.get(proxy, "/").body()).isEqualTo("b");
        }
        assertThat(a.hits.get())
                .as("the removed backend gets nothing after the reload")
                .isEqualTo(aHits);
        assertThat(proxy.port()).isEqualTo(port);
        Scrape.awaitValue(proxy, "roundhouse_config_reloads_total{result=\"applied\"}", 2.0);
    }

    @Test
    void aBackendAddedByAReloadHasItsRequestSeriesBeforeItsFirstRequest() throws IOException {
        TestBackend a = closeables.add(TestBackend.start("a"));
        TestBackend b = closeables.add(TestBackend.start("b"));
        RoundhouseProxy proxy = proxy(document(a), new MutableClock());

        writePool(document(a, b));
        await().atMost(Duration.ofSeconds(5))
                .until(() -> proxy.pool().snapshot().backend(b.url()) != null);

        // registered by the reload, not by a request: no request has been sent through the proxy
        String series = "{backend=\"" + b.url() + "\",method=\"GET\"";
        assertThat(ProxyFixture.metrics(proxy))
                .contains("roundhouse_requests_total" + series + ",status=\"200\"} 0.0")
                .contains("roundhouse_request_duration_seconds_count" + series + "} 0");
        assertThat(b.hits.get()).isZero();
    }

    @Test
    void anInvalidDocumentKeepsTheLastGoodPoolAndIsCounted() throws IOException {
        TestBackend a = closeables.add(TestBackend.start("a"));
        RoundhouseProxy proxy = proxy(document(a), new MutableClock());

        writePool("{\"version\":1,\"backends\":[{\"url\":\"ftp://nope\"}]}");

        await().atMost(Duration.ofSeconds(5))
                .until(() -> ProxyFixture.metrics(proxy)
                        .contains("roundhouse_config_reloads_total{result=\"invalid\"} 1.0"));
        assertThat(proxy.pool().snapshot().backends()).extracting(Backend::key).containsExactly(a.url());
        assertThat(ProxyFixture.get(proxy, "/").body()).isEqualTo("a");
    }

    @Test
    void aReloadKeepsTheBreakerAndHealthStateOfBackendsThatStay() throws IOException {
        TestBackend failing = closeables.add(TestBackend.start("failing"));
        TestBackend other = closeables.add(TestBackend.start("other"));
        failing.status = 500;
        RoundhouseProxy proxy = proxy(document(failing), new MutableClock());
        for (int i = 0; i < 4; i++) {
            ProxyFixture.get(proxy, "/");
        }
        Backend before = proxy.pool().snapshot().backend(failing.url());
        // outcomes are recorded when each exchange completes, just after the client has its answer
        await().atMost(Duration.ofSeconds(5)).until(() -> before.breaker().getState() == CircuitBreaker.State.OPEN);

        writePool(document(failing, other));
        await().atMost(Duration.ofSeconds(5))
                .until(() -> proxy.pool().snapshot().size() == 2);

        Backend after = proxy.pool().snapshot().backend(failing.url());
        assertThat(after).isSameAs(before);
        assertThat(after.breaker().getState()).isEqualTo(CircuitBreaker.State.OPEN);
        for (int i = 0; i < 6; i++) {
            assertThat(ProxyFixture.get(proxy, "/").body()).isEqualTo("other");
        }
        assertThat(failing.hits.get()).isEqualTo(4);
    }

    @Test
    void newBreakerSettingsReplaceTheBreakers() throws IOException {
        TestBackend a = closeables.add(TestBackend.start("a"));
        RoundhouseProxy proxy = proxy(document(a), new MutableClock());
        CircuitBreaker first = proxy.pool().snapshot().backend(a.url()).breaker();

        writePool(document(new PoolDocument.CircuitBreaker(25f, 10, 5, Duration.ofSeconds(5), 1), a));
        await().atMost(Duration.ofSeconds(5))
                .until(() -> proxy.pool().snapshot().backend(a.url()).breaker() != first);

        CircuitBreaker second = proxy.pool().snapshot().backend(a.url()).breaker();
        assertThat(second.getCircuitBreakerConfig().getFailureRateThreshold()).isEqualTo(25f);
        assertThat(ProxyFixture.get(proxy, "/").statusCode()).isEqualTo(200);
    }
}
