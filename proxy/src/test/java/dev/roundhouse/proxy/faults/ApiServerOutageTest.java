package dev.roundhouse.proxy.faults;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.roundhouse.poolformat.PoolDocument;
import dev.roundhouse.poolformat.PoolDocumentCodec;
import dev.roundhouse.proxy.RoundhouseProxy;
import dev.roundhouse.proxy.config.PoolConfigMapWatcher;
import dev.roundhouse.proxy.testing.Closeables;
import dev.roundhouse.proxy.testing.CrudApiServer;
import dev.roundhouse.proxy.testing.ProxyFixture;
import dev.roundhouse.testing.Http;
import dev.roundhouse.testing.TestBackend;
import dev.roundhouse.testing.Traffic;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import java.net.Socket;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Fault: the API server goes away for a while (POOL_CONFIGMAP mode) and comes back as a new server on the same
 * address with its storage lost, as after an etcd restore: objects are re-created, and resourceVersions start
 * over, so the re-created ConfigMap has the very resourceVersion the proxy's informer holds for the old one.
 * Meanwhile the proxy serves its last good pool without failing a request; once the server is back it follows
 * the ConfigMap again, re-created and edited, within a bounded time.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class ApiServerOutageTest {

    private static final String NAMESPACE = "shop";
    private static final String NAME = "web-pool";
    /** From the re-created ConfigMap to the proxy serving it: the watch's reconnect back-off, then one list. */
    /**
     * The watch usually notices the new server within seconds; when it does not (a reconnect too quick to see,
     * a loaded machine), the watcher's direct read every RESYNC_MILLIS (30 s) still finds the new document.
     */
    private static final Duration PICKED_UP_AFTER_RETURN =
            Duration.ofMillis(PoolConfigMapWatcher.RESYNC_MILLIS + 15_000);
    /** An edit while the watch is up. */
    private static final Duration PICKED_UP_WHILE_WATCHING = Duration.ofSeconds(5);

    @RegisterExtension
    final Closeables closeables = new Closeables();

    private static String document(TestBackend... backends) {
        List<PoolDocument.BackendEntry> entries = Arrays.stream(backends)
                .map(b -> new PoolDocument.BackendEntry(b.url(), 1))
                .toList();
        return PoolDocumentCodec.write(new PoolDocument(
                1,
                entries,
                new PoolDocument.HealthCheck("/health", Duration.ofSeconds(30), Duration.ofSeconds(1), 2, 3),
                PoolDocument.CircuitBreaker.DEFAULTS,
                PoolDocument.Timeouts.DEFAULTS));
    }

    private static ConfigMap create(CrudApiServer api, String text) {
        return api.client()
                .configMaps()
                .inNamespace(NAMESPACE)
                .resource(new ConfigMapBuilder()
                        .withNewMetadata()
                        .withName(NAME)
                        .withNamespace(NAMESPACE)
                        .endMetadata()
                        .withData(Map.of(PoolConfigMapWatcher.POOL_KEY, text))
                        .build())
                .create();
    }

    private static ConfigMap update(CrudApiServer api, ConfigMap current, String text) {
        return api.client()
                .configMaps()
                .inNamespace(NAMESPACE)
                .resource(new ConfigMapBuilder(current)
                        .withData(Map.of(PoolConfigMapWatcher.POOL_KEY, text))
                        .build())
                .update();
    }

    private static boolean live(RoundhouseProxy proxy, String text) {
        return proxy.pool().snapshot().hash().equals(PoolDocumentCodec.contentHash(text));
    }

    /** Waits until {@code text} is the live pool; returns when (System.nanoTime()) it was first seen live. */
    private static long awaitLive(RoundhouseProxy proxy, String text, Duration atMost) {
        AtomicLong liveAt = new AtomicLong();
        await().atMost(atMost).pollInterval(Duration.ofMillis(5)).until(() -> {
            boolean isLive = live(proxy, text);
            if (isLive) {
                liveAt.set(System.nanoTime());
            }
            return isLive;
        });
        return liveAt.get();
    }

    private static int readyStatus(RoundhouseProxy proxy) {
        return Http.get("http://127.0.0.1:" + proxy.metricsPort() + "/readyz").statusCode();
    }

    @Test
    void theProxyServesThroughTheOutageAndFollowsTheConfigMapOnTheServerThatReplacesIt() {
        TestBackend a = closeables.add(TestBackend.start("a"));
        TestBackend b = closeables.add(TestBackend.start("b"));
        TestBackend c = closeables.add(TestBackend.start("c"));
        CrudApiServer first = closeables.add(CrudApiServer.start(0));
        int apiPort = first.port();
        String beforeOutage = document(a);
        // Created once and never edited: its resourceVersion is the first the server hands out.
        String firstVersion = create(first, beforeOutage).getMetadata().getResourceVersion();
        RoundhouseProxy proxy = closeables.add(ProxyFixture.start(
                ProxyFixture.env("POOL_CONFIGMAP", NAME, "POD_NAMESPACE", NAMESPACE),
                () -> CrudApiServer.client(apiPort)));
        awaitLive(proxy, beforeOutage, Duration.ofSeconds(10));
        Traffic traffic = closeables.add(Traffic.start(ProxyFixture.url(proxy, "/"), 2, Duration.ofSeconds(80)));

        // The API server goes away; its port stays taken (refusing connections) so nothing else gets it.
        first.stop();
        Socket held = closeables.add(CrudApiServer.holdPort(apiPort));
        long stoppedAt = System.nanoTime();
        int completedAtStop = traffic.completed();
        await().atMost(Duration.ofSeconds(30))
                .pollInterval(Duration.ofMillis(10))
                .until(() -> traffic.completed() >= completedAtStop + 1000
                        && System.nanoTime() - stoppedAt
                                >= Duration.ofSeconds(3).toNanos());
        assertThat(readyStatus(proxy))
                .as("ready on the last good pool while the API server is away")
                .isEqualTo(200);
        assertThat(live(proxy, beforeOutage)).isTrue();
        int servedDuringOutage = traffic.completed() - completedAtStop;

        // A new API server on the same address, storage empty: the ConfigMap is re-created, with another pool.
        closeQuietly(held);
        CrudApiServer second = closeables.add(CrudApiServer.start(apiPort));
        String afterOutage = document(b);
        long recreatedAt = System.nanoTime();
        ConfigMap recreated = create(second, afterOutage);
        assertThat(recreated.getMetadata().getResourceVersion())
                .as("the new server numbers resourceVersions from the start again")
                .isEqualTo(firstVersion);
        long liveAfterReturn = awaitLive(proxy, afterOutage, PICKED_UP_AFTER_RETURN);

        // And it keeps following the ConfigMap: an edit on the new server.
        String edited = document(c);
        long editedAt = System.nanoTime();
        update(second, recreated, edited);
        long liveAfterEdit = awaitLive(proxy, edited, PICKED_UP_WHILE_WATCHING);
        int cHits = c.hits.get();
        await().atMost(Duration.ofSeconds(10))
                .pollInterval(Duration.ofMillis(5))
                .until(() -> c.hits.get() > cHits + 10);
        List<Traffic.Exchange> exchanges = traffic.stop();

        System.out.printf(
                "API server away %d ms (%d requests served meanwhile); re-created ConfigMap (same"
                        + " resourceVersion %s) -> live: %d ms; edit -> live: %d ms%n",
                (recreatedAt - stoppedAt) / 1_000_000,
                servedDuringOutage,
                firstVersion,
                (liveAfterReturn - recreatedAt) / 1_000_000,
                (liveAfterEdit - editedAt) / 1_000_000);
        assertThat(exchanges)
                .as("requests during the outage and after it")
                .hasSizeGreaterThan(1000)
                .allMatch(Traffic.Exchange::ok, "answered 200");
        assertThat(exchanges.stream()
                        .filter(e ->
                                e.endNanos() < stoppedAt + Duration.ofSeconds(3).toNanos()
                                        && e.startNanos() > stoppedAt)
                        .map(Traffic.Exchange::body))
                .as("served by the last good pool while the server was away")
                .isNotEmpty()
                .containsOnly("a");
        assertThat(exchanges.stream()
                        .filter(e -> e.startNanos() > liveAfterEdit)
                        .map(Traffic.Exchange::body))
                .isNotEmpty()
                .containsOnly("c");
        assertThat(readyStatus(proxy)).isEqualTo(200);
    }

    private static void closeQuietly(Socket socket) {
        try {
            socket.close();
        } catch (java.io.IOException ignored) {
            // released
        }
    }
}
