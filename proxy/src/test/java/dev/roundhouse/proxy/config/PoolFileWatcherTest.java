package dev.roundhouse.proxy.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.roundhouse.poolformat.PoolDocument;
import dev.roundhouse.poolformat.PoolDocumentCodec;
import dev.roundhouse.proxy.breaker.Breakers;
import dev.roundhouse.proxy.metrics.ProxyMetrics;
import dev.roundhouse.proxy.pool.BackendPool;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Which directory events make {@link PoolFileWatcher} read the pool file (the interval read is an hour away). */
class PoolFileWatcherTest {

    @TempDir
    Path dir;

    private final ProxyMetrics metrics = new ProxyMetrics();
    private final BackendPool pool = new BackendPool(new Breakers(Clock.systemUTC()));
    private PoolFileWatcher watcher;

    @AfterEach
    void close() {
        if (watcher != null) {
            watcher.close();
        }
        pool.close();
        metrics.close();
    }

    private static String document(int port) {
        return PoolDocumentCodec.write(new PoolDocument(
                1,
                List.of(new PoolDocument.BackendEntry("http://127.0.0.1:" + port, 1)),
                PoolDocument.HealthCheck.DEFAULTS,
                PoolDocument.CircuitBreaker.DEFAULTS,
                PoolDocument.Timeouts.DEFAULTS));
    }

    private PoolFileWatcher watch(Path file) throws Exception {
        return watch(file, Duration.ofHours(1));
    }

    private PoolFileWatcher watch(Path file, Duration interval) throws Exception {
        watcher = new PoolFileWatcher(file, new PoolReloader(pool, metrics, change -> {}));
        watcher.loadInitial();
        watcher.start(interval);
        return watcher;
    }

    @Test
    void otherFilesInTheDirectoryAreIgnoredAndThePoolFileIsNot() throws Exception {
        Path file = Files.writeString(dir.resolve("pool.json"), document(1001));
        PoolFileWatcher watcher = watch(file);

        long batches = watcher.eventBatches();
        Files.writeString(dir.resolve("unrelated.log"), "busy directory");
        await().atMost(Duration.ofSeconds(5)).until(() -> watcher.eventBatches() > batches);
        assertThat(watcher.concerningBatches())
                .as("an unrelated file asks for no read")
                .isZero();

        Files.writeString(dir.resolve("pool.json.tmp"), document(1002));
        Files.move(dir.resolve("pool.json.tmp"), file, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        await().atMost(Duration.ofSeconds(5)).until(() -> pool.snapshot().backend("http://127.0.0.1:1002") != null);
        assertThat(watcher.concerningBatches()).isPositive();
    }

    @Test
    void whenItsDirectoryStopsBeingWatchableTheIntervalReadStillFollowsTheFile() throws Exception {
        Path sub = Files.createDirectory(dir.resolve("mounted"));
        Path file = Files.writeString(sub.resolve("pool.json"), document(1001));
        PoolFileWatcher watcher = watch(file, Duration.ofMillis(50));

        // Removing the watched directory cancels its watch key: no event will come from the new one.
        Files.delete(file);
        Files.delete(sub);
        await().atMost(Duration.ofSeconds(5)).until(() -> watcher.eventBatches() > 0);
        Files.createDirectory(sub);
        Files.writeString(sub.resolve("pool.json"), document(1002));

        await().atMost(Duration.ofSeconds(5)).until(() -> pool.snapshot().backend("http://127.0.0.1:1002") != null);
        assertThat(pool.snapshot().backend("http://127.0.0.1:1001"))
                .as("the old document's backend")
                .isNull();
    }
}
