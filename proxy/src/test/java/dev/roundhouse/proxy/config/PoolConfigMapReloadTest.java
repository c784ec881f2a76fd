package dev.roundhouse.proxy.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.roundhouse.poolformat.Durations;
import dev.roundhouse.poolformat.PoolDocument;
import dev.roundhouse.poolformat.PoolDocumentCodec;
import dev.roundhouse.proxy.RoundhouseProxy;
import dev.roundhouse.proxy.pool.Backend;
import dev.roundhouse.proxy.testing.Closeables;
import dev.roundhouse.proxy.testing.LogCapture;
import dev.roundhouse.proxy.testing.ProcessProxy;
import dev.roundhouse.proxy.testing.ProxyFixture;
import dev.roundhouse.proxy.testing.Scrape;
import dev.roundhouse.testing.Http;
import dev.roundhouse.testing.TestBackend;
import dev.roundhouse.testing.Traffic;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.server.mock.KubernetesMixedDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import io.fabric8.mockwebserver.ServerRequest;
import io.fabric8.mockwebserver.ServerResponse;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import java.util.logging.Level;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Kubernetes mode: the proxy follows its pool ConfigMap on a Fabric8 mock API server (CRUD mode, plain HTTP on
 * 127.0.0.1), with a client the test hands it. The test writes the ConfigMap with a client of its own.
 */
class PoolConfigMapReloadTest {

    /** The mock web server logs every request at INFO through java.util.logging; held so the level sticks. */
    private static final java.util.logging.Logger MOCK_REQUEST_LOG =
            java.util.logging.Logger.getLogger("io.fabric8.mockwebserver.MockWebServer");

    static {
        MOCK_REQUEST_LOG.setLevel(Level.WARNING);
    }

    private static final String NAMESPACE = "shop";
    private static final String NAME = "web-pool";
    private static final Duration POLL = Duration.ofMillis(1);

    @RegisterExtension
    final Closeables closeables = new Closeables();

    private KubernetesMockServer api;
    private KubernetesClient writer;
    private ConfigMap current;

    /**
     * A CRUD mock API server over plain HTTP on 127.0.0.1 ({@code port} 0: an ephemeral one), as
     * {@code @EnableKubernetesMockClient(crud = true, https = false)} makes, plus a client to write with.
     */
    private KubernetesMockServer startApi(int port) throws IOException {
        Map<ServerRequest, Queue<ServerResponse>> responses = new HashMap<>();
        KubernetesMockServer server = new KubernetesMockServer(
                new Context(), new MockWebServer(), responses, new KubernetesMixedDispatcher(responses), false);
        server.init(InetAddress.getByName("127.0.0.1"), port);
        AutoCloseable stop = server::destroy;
        closeables.add(stop);
        api = server;
        writer = closeables.add(client(server.getPort()));
        return server;
    }

    /** Fabric8's defaults (no kubeconfig read) but for the server's address. */
    private static KubernetesClient client(int port) {
        return client(new ConfigBuilder(Config.empty()), port);
    }

    private static KubernetesClient client(ConfigBuilder config, int port) {
        return new KubernetesClientBuilder()
                .withConfig(config.withMasterUrl("http://127.0.0.1:" + port + "/")
                        .withNamespace("default")
                        .withHttp2Disable(true)
                        .build())
                .build();
    }

    private RoundhouseProxy startProxy() {
        int port = api.getPort();
        return startProxy(() -> client(port));
    }

    private RoundhouseProxy startProxy(Supplier<KubernetesClient> clients) {
        return closeables.add(
                ProxyFixture.start(ProxyFixture.env("POOL_CONFIGMAP", NAME, "POD_NAMESPACE", NAMESPACE), clients));
    }

    private static String document(List<TestBackend> backends) {
        List<PoolDocument.BackendEntry> entries = backends.stream()
                .map(b -> new PoolDocument.BackendEntry(b.url(), 1))
                .toList();
        // Long health interval: this test is about reloads, not health checks.
        return PoolDocumentCodec.write(new PoolDocument(
                1,
                entries,
                new PoolDocument.HealthCheck("/health", Duration.ofSeconds(30), Duration.ofSeconds(1), 2, 3),
                PoolDocument.CircuitBreaker.DEFAULTS,
                PoolDocument.Timeouts.DEFAULTS));
    }

    private static String document(TestBackend... backends) {
        return document(Arrays.asList(backends));
    }

    private void createPool(String text) {
        current = writer.configMaps()
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

    /** One API write (a PUT of the last written version with new data), so latencies start from one request. */
    private void updatePool(String text) {
        current = writer.configMaps()
                .inNamespace(NAMESPACE)
                .resource(new ConfigMapBuilder(current)
                        .withData(Map.of(PoolConfigMapWatcher.POOL_KEY, text))
                        .build())
                .update();
    }

    /**
     * Binds a loopback port without listening: connections to it are refused, as to a stopped API server, and
     * nothing else (a proxy port, an outgoing connection) can take it until the socket is closed.
     */
    private Socket reservePort(int port) throws IOException {
        Socket socket = closeables.add(new Socket());
        socket.setReuseAddress(true);
        socket.bind(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), port));
        return socket;
    }

    private static boolean live(RoundhouseProxy proxy, String text) {
        return proxy.pool().snapshot().hash().equals(PoolDocumentCodec.contentHash(text));
    }

    private static void awaitLive(RoundhouseProxy proxy, String text) {
        await().atMost(Duration.ofSeconds(5))
                .pollInterval(Duration.ofMillis(10))
                .until(() -> live(proxy, text));
    }

    private static int readyStatus(RoundhouseProxy proxy) {
        return Http.get("http://127.0.0.1:" + proxy.metricsPort() + "/readyz").statusCode();
    }

    private static double metric(RoundhouseProxy proxy, String series) {
        String prefix = series + " ";
        return ProxyFixture.metrics(proxy)
                .lines()
                .filter(l -> l.startsWith(prefix))
                .mapToDouble(l -> Double.parseDouble(l.substring(prefix.length())))
                .findFirst()
                .orElse(Double.NaN);
    }

    /** Pool k was live from {@code liveNanos} until the write of pool k+1 at {@code endNanos}. */
    private record Window(long liveNanos, long endNanos, Set<String> names) {}

    @Test
    void fiftyConfigMapEditsWhileTrafficFlowsLoseNoRequestAndEachIsLiveWithinOneSecond() throws IOException {
        startApi(0);
        TestBackend a = closeables.add(TestBackend.start("a"));
        TestBackend b = closeables.add(TestBackend.start("b"));
        TestBackend c = closeables.add(TestBackend.start("c"));
        // Each edit removes one backend and adds another; two always serve.
        List<List<TestBackend>> sets = List.of(List.of(a, b), List.of(b, c), List.of(c, a));
        String first = document(sets.get(0));
        createPool(first);
        RoundhouseProxy proxy = startProxy();
        awaitLive(proxy, first);
        int port = proxy.port();

        Traffic traffic = closeables.add(Traffic.start(ProxyFixture.url(proxy, "/"), 2, Duration.ofSeconds(120)));
        List<Window> windows = new ArrayList<>();
        long previousLive = System.nanoTime();
        Set<String> previousNames = Set.of("a", "b");
        List<Long> liveMillis = new ArrayList<>();
        List<Long> firstHitMillis = new ArrayList<>();
        for (int edit = 1; edit <= 50; edit++) {
            List<TestBackend> next = sets.get(edit % sets.size());
            Set<String> was = previousNames;
            TestBackend added =
                    next.stream().filter(t -> !was.contains(t.name)).findFirst().orElseThrow();
            int addedHitsBefore = added.hits.get();
            String text = document(next);

            long written = System.nanoTime();
            windows.add(new Window(previousLive, written, previousNames));
            updatePool(text);
            AtomicLong liveAt = new AtomicLong();
            await().atMost(Duration.ofSeconds(10)).pollInterval(POLL).until(() -> {
                boolean isLive = live(proxy, text);
                if (isLive) {
                    liveAt.set(System.nanoTime());
                }
                return isLive;
            });
            AtomicLong firstHitAt = new AtomicLong();
            await().atMost(Duration.ofSeconds(10)).pollInterval(POLL).until(() -> {
                boolean hit = added.hits.get() > addedHitsBefore;
                if (hit) {
                    firstHitAt.set(System.nanoTime());
                }
                return hit;
            });
            liveMillis.add((liveAt.get() - written) / 1_000_000);
            firstHitMillis.add((firstHitAt.get() - written) / 1_000_000);

            // Let some requests run wholly on this pool before the next edit: each client has at most one
            // request in flight, so clientCount + 3 more completions include requests started after liveAt.
            int completedAtLive = traffic.completed();
            await().atMost(Duration.ofSeconds(10))
                    .pollInterval(POLL)
                    .until(() -> traffic.completed() >= completedAtLive + traffic.clientCount() + 3);
            previousLive = liveAt.get();
            previousNames = next.stream().map(t -> t.name).collect(Collectors.toSet());
        }
        windows.add(new Window(previousLive, Long.MAX_VALUE, previousNames));
        assertThat(traffic.running()).as("traffic flowed during every edit").isTrue();
        List<Traffic.Exchange> exchanges = traffic.stop();

        System.out.println("ConfigMap write -> pool live (ms): " + liveMillis + "\n  " + summary(liveMillis));
        System.out.println("ConfigMap write -> first request on the added backend (ms): " + firstHitMillis + "\n  "
                + summary(firstHitMillis));
        System.out.println(exchanges.size() + " requests during 50 edits");

        assertThat(exchanges).as("every request answered 200").allMatch(Traffic.Exchange::ok);
        assertThat(liveMillis).as("each edit live within 1 s").allMatch(ms -> ms < 1000);
        assertThat(firstHitMillis).as("each added backend serves within 1 s").allMatch(ms -> ms < 1000);
        // A request that started after pool k went live and ended before pool k+1 was written can only have
        // been served by a backend of pool k: removed backends get nothing once their removal is live.
        int checked = 0;
        for (Window window : windows) {
            for (Traffic.Exchange e : exchanges) {
                if (e.startNanos() >= window.liveNanos() && e.endNanos() <= window.endNanos()) {
                    assertThat(window.names())
                            .as("backend serving a request while %s was live", window.names())
                            .contains(e.body());
                    checked++;
                }
            }
        }
        assertThat(checked).as("requests wholly inside one pool's lifetime").isGreaterThanOrEqualTo(51 * 3);
        assertThat(proxy.port()).isEqualTo(port);
        Scrape.awaitValue(proxy, "roundhouse_config_reloads_total{result=\"applied\"}", 51.0);
    }

    private static String summary(List<Long> millis) {
        List<Long> sorted = millis.stream().sorted().toList();
        return "p50 " + sorted.get((sorted.size() - 1) / 2) + " ms, p99 "
                + sorted.get((int) Math.ceil(sorted.size() * 0.99) - 1) + " ms, max " + sorted.get(sorted.size() - 1)
                + " ms";
    }

    @Test
    void anInvalidEditKeepsTheLastGoodPoolIsCountedAndTheNextValidOneApplies() throws IOException {
        startApi(0);
        TestBackend a = closeables.add(TestBackend.start("a"));
        TestBackend b = closeables.add(TestBackend.start("b"));
        String good = document(a);
        createPool(good);
        RoundhouseProxy proxy = startProxy();
        awaitLive(proxy, good);
        String hash = PoolDocumentCodec.contentHash(good).substring(0, 12);
        Scrape.awaitValue(proxy, "roundhouse_config_info{hash=\"" + hash + "\"}", 1.0);

        updatePool("{\"version\":1,\"backends\":[{\"url\":\"ftp://x\"}]}");

        await().atMost(Duration.ofSeconds(5))
                .pollInterval(Duration.ofMillis(10))
                .until(() -> metric(proxy, "roundhouse_config_reloads_total{result=\"invalid\"}") == 1.0);
        assertThat(proxy.pool().snapshot().backends()).extracting(Backend::key).containsExactly(a.url());
        assertThat(ProxyFixture.get(proxy, "/").body()).isEqualTo("a");
        assertThat(readyStatus(proxy)).isEqualTo(200);
        assertThat(ProxyFixture.metrics(proxy)).contains("roundhouse_config_info{hash=\"" + hash + "\"} 1");

        String next = document(b);
        updatePool(next);

        awaitLive(proxy, next);
        assertThat(ProxyFixture.get(proxy, "/").body()).isEqualTo("b");
        // The pool is swapped in before the reload is counted and its hash shown: both are read until they are.
        await().atMost(Duration.ofSeconds(10))
                .pollInterval(Duration.ofMillis(20))
                .untilAsserted(() -> {
                    String metrics = ProxyFixture.metrics(proxy);
                    assertThat(Scrape.value(
                                    metrics,
                                    "roundhouse_config_info{hash=\""
                                            + PoolDocumentCodec.contentHash(next)
                                                    .substring(0, 12) + "\"}"))
                            .isEqualTo(1.0);
                    assertThat(metrics).doesNotContain("roundhouse_config_info{hash=\"" + hash + "\"}");
                    assertThat(Scrape.value(metrics, "roundhouse_config_reloads_total{result=\"applied\"}"))
                            .isEqualTo(2.0);
                    assertThat(Scrape.value(metrics, "roundhouse_config_reloads_total{result=\"invalid\"}"))
                            .isEqualTo(1.0);
                });
    }

    @Test
    void anInvalidFirstDocumentSaysThatNoPoolIsLoadedNotThatOneIsKept() throws IOException {
        LogCapture log = closeables.add(LogCapture.of(PoolReloader.class));
        startApi(0);
        createPool("{\"version\": 1, \"backends\": [{\"url\": \"ftp://x\"}]}");
        RoundhouseProxy proxy = startProxy();

        await().atMost(Duration.ofSeconds(10))
                .pollInterval(Duration.ofMillis(10))
                .until(() -> log.count("no pool is loaded yet (answering 503 until one is)") == 1);
        assertThat(log.count("keeping the last good pool")).as("there is none").isZero();
        assertThat(readyStatus(proxy)).isEqualTo(503);
    }

    @Test
    void notReadyUntilTheConfigMapExists() throws IOException {
        LogCapture log = closeables.add(LogCapture.of(PoolConfigMapWatcher.class));
        startApi(0);
        TestBackend a = closeables.add(TestBackend.start("a"));
        RoundhouseProxy proxy = startProxy();
        // Logged once the informer has listed (nothing) and opened its watch.
        await().atMost(Duration.ofSeconds(10))
                .pollInterval(Duration.ofMillis(10))
                .until(() -> log.count("Pool ConfigMap shop/web-pool not found yet; not ready") == 1);

        assertThat(readyStatus(proxy)).isEqualTo(503);
        var refused = ProxyFixture.get(proxy, "/");
        assertThat(refused.statusCode()).isEqualTo(503);
        assertThat(refused.body()).contains("no pool loaded yet");
        assertThat(ProxyFixture.metrics(proxy))
                .doesNotContain("roundhouse_config_info{")
                .contains("roundhouse_errors_total{backend=\"none\",type=\"no_backend\"} 1.0");
        Scrape.awaitValue(proxy, "roundhouse_requests_total{backend=\"none\",method=\"GET\",status=\"503\"}", 1.0);

        String text = document(a);
        createPool(text);

        await().atMost(Duration.ofSeconds(5))
                .pollInterval(Duration.ofMillis(10))
                .until(() -> readyStatus(proxy) == 200);
        assertThat(ProxyFixture.get(proxy, "/").body()).isEqualTo("a");
        assertThat(live(proxy, text)).isTrue();

        // Deleted later: the last good pool stays, and so does readiness.
        writer.configMaps().inNamespace(NAMESPACE).withName(NAME).delete();
        await().atMost(Duration.ofSeconds(5))
                .pollInterval(Duration.ofMillis(10))
                .until(() -> log.count("WARN Pool ConfigMap shop/web-pool deleted; keeping the last good pool") == 1);
        assertThat(readyStatus(proxy)).isEqualTo(200);
        assertThat(ProxyFixture.get(proxy, "/").body()).isEqualTo("a");
        assertThat(log.count("not found yet")).isEqualTo(1);
    }

    /**
     * With the API server down at boot the first list fails; Fabric8's default exception handler would then
     * stop the informer for good. The proxy starts anyway, not ready, and loads the pool once the server is up.
     */
    @Test
    void anApiServerThatCannotBeReachedAtStartIsLoggedWithinSeconds() throws IOException {
        LogCapture log = closeables.add(LogCapture.of(PoolConfigMapWatcher.class));
        Socket heldPort = reservePort(0);
        closeables.add(heldPort);
        int apiPort = heldPort.getLocalPort();
        // Fabric8's defaults, as in production: each request is retried for minutes before the informer hears of it.
        RoundhouseProxy proxy = startProxy(() -> client(apiPort));

        await().atMost(Duration.ofSeconds(15))
                .pollInterval(Duration.ofMillis(50))
                .until(() -> log.lines().stream()
                        .anyMatch(line -> line.startsWith("WARN ")
                                && line.contains("ConfigMap shop/web-pool")
                                && line.contains("127.0.0.1:" + apiPort)));
        assertThat(readyStatus(proxy)).isEqualTo(503);
    }

    @Test
    void startsWhileTheApiServerIsDownAndLoadsThePoolOnceItIsUp() throws IOException {
        LogCapture log = closeables.add(LogCapture.of(PoolConfigMapWatcher.class));
        TestBackend a = closeables.add(TestBackend.start("a"));
        Socket heldPort = reservePort(0);
        int apiPort = heldPort.getLocalPort();
        // No HTTP-level retries, so the list fails at once and the informer's own retry is what brings it back.
        RoundhouseProxy proxy =
                startProxy(() -> client(new ConfigBuilder(Config.empty()).withRequestRetryBackoffLimit(0), apiPort));
        await().atMost(Duration.ofSeconds(10))
                .pollInterval(Duration.ofMillis(10))
                .until(() -> log.count("WARN Cannot read ConfigMap shop/web-pool yet") == 1);
        assertThat(readyStatus(proxy)).isEqualTo(503);
        assertThat(ProxyFixture.get(proxy, "/").statusCode()).isEqualTo(503);

        heldPort.close();
        startApi(apiPort);
        String text = document(a);
        long createdAt = System.nanoTime();
        createPool(text);

        await().atMost(Duration.ofSeconds(30))
                .pollInterval(Duration.ofMillis(10))
                .until(() -> readyStatus(proxy) == 200);
        System.out.printf(
                "API server up after a failed first list -> pool live: %d ms%n",
                (System.nanoTime() - createdAt) / 1_000_000);
        assertThat(ProxyFixture.get(proxy, "/").body()).isEqualTo("a");
        assertThat(live(proxy, text)).isTrue();
    }

    @Test
    void theProxyServesThroughAnApiServerOutageAndResumesWatchingWithoutRestart() throws IOException {
        KubernetesMockServer first = startApi(0);
        int apiPort = first.getPort();
        TestBackend a = closeables.add(TestBackend.start("a"));
        TestBackend b = closeables.add(TestBackend.start("b"));
        createPool(document(a, b));
        RoundhouseProxy proxy = startProxy();
        // An edit before the outage. Besides showing the watch works, it keeps resourceVersions apart: the new mock
        // numbers them from 1 again, where a real API server's only grow, and Fabric8's informer takes an object
        // with the resourceVersion it already holds for a copy of it.
        String before = document(a);
        updatePool(before);
        awaitLive(proxy, before);
        int port = proxy.port();
        Traffic traffic = closeables.add(Traffic.start(ProxyFixture.url(proxy, "/"), 2, Duration.ofSeconds(120)));

        first.destroy();
        Socket heldPort = reservePort(apiPort);
        long stoppedAt = System.nanoTime();
        int completedAtStop = traffic.completed();
        // The outage lasts a couple of seconds of traffic, long enough for the watch to fail and retry meanwhile.
        await().atMost(Duration.ofSeconds(20))
                .pollInterval(POLL)
                .until(() -> traffic.completed() >= completedAtStop + 1500);
        assertThat(readyStatus(proxy))
                .as("ready on the last pool while the API server is away")
                .isEqualTo(200);
        int servedDuringOutage = traffic.completed() - completedAtStop;

        // A new API server on the same port; its storage starts empty, as after losing etcd.
        heldPort.close();
        startApi(apiPort);
        String after = document(b);
        long createdAt = System.nanoTime();
        createPool(after);
        AtomicLong liveAt = new AtomicLong();
        await().atMost(Duration.ofSeconds(40))
                .pollInterval(Duration.ofMillis(5))
                .until(() -> {
                    boolean isLive = live(proxy, after);
                    if (isLive) {
                        liveAt.set(System.nanoTime());
                    }
                    return isLive;
                });
        int bHits = b.hits.get();
        await().atMost(Duration.ofSeconds(10)).pollInterval(POLL).until(() -> b.hits.get() > bHits + 10);
        List<Traffic.Exchange> exchanges = traffic.stop();

        System.out.printf(
                "API server away for %d ms (%d requests served meanwhile); ConfigMap created on the new one"
                        + " -> pool live: %d ms%n",
                (createdAt - stoppedAt) / 1_000_000, servedDuringOutage, (liveAt.get() - createdAt) / 1_000_000);
        assertThat(exchanges).as("every request answered 200").allMatch(Traffic.Exchange::ok);
        assertThat(exchanges.stream().filter(e -> e.startNanos() > liveAt.get()).map(Traffic.Exchange::body))
                .isNotEmpty()
                .containsOnly("b");
        assertThat(proxy.port()).isEqualTo(port);
        assertThat(readyStatus(proxy)).isEqualTo(200);
    }

    /**
     * The real main class in its own JVM finds the API server the way it does outside a cluster, through
     * KUBECONFIG, and without POD_NAMESPACE takes the namespace of the kubeconfig's context.
     */
    @Test
    void theProxyProcessFindsTheApiServerThroughKubeconfig(@TempDir Path dir) throws IOException {
        startApi(0);
        TestBackend a = closeables.add(TestBackend.start("a"));
        createPool(document(a));
        Path kubeconfig = Files.writeString(
                dir.resolve("kubeconfig"),
                String.join(
                        "\n",
                        "apiVersion: v1",
                        "kind: Config",
                        "clusters:",
                        "- name: mock",
                        "  cluster:",
                        "    server: http://127.0.0.1:" + api.getPort(),
                        "contexts:",
                        "- name: mock",
                        "  context:",
                        "    cluster: mock",
                        "    namespace: " + NAMESPACE,
                        "current-context: mock",
                        "users: []",
                        ""));

        ProcessProxy proxy =
                closeables.add(ProcessProxy.start(Map.of("KUBECONFIG", kubeconfig.toString(), "POOL_CONFIGMAP", NAME)));

        proxy.awaitReady(Duration.ofSeconds(30));
        assertThat(Http.get(proxy.url("/")).body()).isEqualTo("a");
        assertThat(proxy.stdout()).contains("Pool from ConfigMap shop/web-pool applied: 1 backends");
    }

    /**
     * The contract with the operator: {@code contract/operator-rendered-pool.json} is what the operator renders
     * for {@code samples/loadbalancer.yaml} (the operator's tests check the same file from their side). Fed
     * through a real ConfigMap, the proxy applies it with the sample's backends and health check.
     */
    @Test
    void theProxyAppliesWhatTheOperatorRendersForTheSample() throws Exception {
        String rendered;
        try (InputStream in = getClass().getResourceAsStream("/contract/operator-rendered-pool.json")) {
            assertThat(in)
                    .as("contract/operator-rendered-pool.json in the test resources")
                    .isNotNull();
            rendered = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        // The operator writes canonical text: a hand edit that the codec would write differently breaks the contract.
        assertThat(PoolDocumentCodec.write(PoolDocumentCodec.parse(rendered))).isEqualTo(rendered);
        GenericKubernetesResource sample = new KubernetesSerialization()
                .unmarshal(Files.readString(Path.of("../samples/loadbalancer.yaml")), GenericKubernetesResource.class);
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> sampleBackends = (List<Map<String, Object>>) sample.get("spec", "backends");
        Object sampleInterval = sample.get("spec", "healthCheck", "interval");
        Object samplePath = sample.get("spec", "healthCheck", "path");

        startApi(0);
        createPool(rendered);
        RoundhouseProxy proxy = startProxy();
        awaitLive(proxy, rendered);

        PoolDocument applied = proxy.pool().snapshot().document();
        assertThat(applied.backends())
                .extracting(PoolDocument.BackendEntry::url)
                .containsExactlyElementsOf(
                        sampleBackends.stream().map(b -> (String) b.get("url")).toList())
                .hasSize(3);
        assertThat(applied.healthCheck().interval())
                .isEqualTo(Durations.parse((String) sampleInterval))
                .isEqualTo(Duration.ofSeconds(5));
        assertThat(applied.healthCheck().path()).isEqualTo(samplePath);
        assertThat(readyStatus(proxy)).isEqualTo(200);
    }
}
