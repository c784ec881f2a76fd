package dev.roundhouse.e2e.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.roundhouse.operator.model.Labels;
import dev.roundhouse.testing.TestBackend;
import dev.roundhouse.testing.apiserver.EmbeddedApiServer;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerBuilder;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.PodSpecBuilder;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.DeploymentBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The local kubelet with the ports pod templates declare, as the demo runs it: every proxy on ports of its own
 * behind the declared ones, and a pod-template change rolled with surge. The declared ports here are free
 * ephemeral ones, so that test runs can share the machine.
 */
class LocalKubeletTest {

    private static final Duration WAIT = Duration.ofSeconds(60);

    @TempDir
    Path dir;

    private EmbeddedApiServer server;
    private KubernetesClient client;
    private LocalKubelet kubelet;

    @BeforeEach
    void start() {
        server = new EmbeddedApiServer().start();
        client = server.client();
        kubelet = new LocalKubelet(
                        server.newClient(),
                        LocalKubelet.PortPolicy.DECLARED,
                        server.writeKubeconfig(dir.resolve("kubeconfig")),
                        dir.resolve("logs"))
                .start();
    }

    @AfterEach
    void stop() {
        kubelet.close();
        server.close();
    }

    private Deployment deployment(String name, Map<String, String> env) {
        List<EnvVar> vars = env.entrySet().stream()
                .map(e -> new EnvVar(e.getKey(), e.getValue(), null))
                .toList();
        return client.apps()
                .deployments()
                .inNamespace("default")
                .resource(new DeploymentBuilder()
                        .withNewMetadata()
                        .withName(name)
                        .addToLabels(Labels.MANAGED_BY, "roundhouse-operator")
                        .endMetadata()
                        .withNewSpec()
                        .withReplicas(1)
                        .withNewSelector()
                        .addToMatchLabels(Labels.INSTANCE, name)
                        .endSelector()
                        .withNewTemplate()
                        .withNewMetadata()
                        .addToLabels(Labels.INSTANCE, name)
                        .endMetadata()
                        .withNewSpec()
                        .addNewContainer()
                        .withName("proxy")
                        .withImage("roundhouse-proxy")
                        .withEnv(vars)
                        .endContainer()
                        .endSpec()
                        .endTemplate()
                        .endSpec()
                        .build())
                .create();
    }

    private LocalKubelet.RunningProxy readyProxy(String name) {
        return Awaitility.await(name + "'s proxy ready")
                .atMost(WAIT)
                .pollInterval(Duration.ofMillis(100))
                .until(() -> kubelet.proxy("default", name).orElse(null), p -> p != null && p.ready());
    }

    @Test
    void aPodTemplateChangeStartsTheNewProxyBeforeItStopsTheOldOne() throws Exception {
        // The proxy's default SHUTDOWN_DELAY (5 s) outlasts the kubelet's endpoint lag (1 s): the old proxy still
        // accepts the connections that reach it after its SIGTERM.
        Rollout rollout = rollOutUnderTraffic(Map.of());
        assertThat(rollout.failures())
                .as("requests that failed during the rollout")
                .isEmpty();
        assertThat(rollout.refused())
                .as("connections the Service could not take to a proxy")
                .isZero();
    }

    @Test
    void withoutAShutdownDelayTheConnectionsThatStillArriveAreRefused() throws Exception {
        // The old behaviour, beside the new: the listener closed at SIGTERM while connections still come.
        Rollout rollout = rollOutUnderTraffic(Map.of("SHUTDOWN_DELAY", "0s"));
        assertThat(rollout.failures())
                .as("requests that failed during the rollout")
                .isNotEmpty();
        assertThat(rollout.refused())
                .as("connections the Service could not take to a proxy")
                .isPositive();
    }

    /** What clients met during a rollout: the failed requests, and the connections the old proxy refused. */
    private record Rollout(List<String> failures, long refused) {}

    /** Rolls a Deployment's proxy while one request per connection goes to its Service port. */
    private Rollout rollOutUnderTraffic(Map<String, String> extraEnv) throws Exception {
        try (TestBackend backend = TestBackend.start("backend")) {
            int port = LocalKubelet.freePort();
            Map<String, String> env = new java.util.HashMap<>(Map.of(
                    "PORT",
                    String.valueOf(port),
                    "METRICS_PORT",
                    String.valueOf(LocalKubelet.freePort()),
                    "BACKENDS",
                    backend.url()));
            env.putAll(extraEnv);
            deployment("web", env);
            LocalKubelet.RunningProxy first = readyProxy("web");
            assertThat(first.servicePort()).isEqualTo(port);
            assertThat(first.port())
                    .as("the proxy's own port, behind the declared one")
                    .isNotEqualTo(port);
            assertThat(get(port)).startsWith("HTTP/1.1 200");

            Traffic traffic = new Traffic(port);
            Thread load = new Thread(traffic::run, "traffic");
            load.start();
            try {
                Awaitility.await("traffic flowing").atMost(WAIT).until(() -> traffic.ok.get() >= 20);
                client.apps()
                        .deployments()
                        .inNamespace("default")
                        .withName("web")
                        .edit(d -> {
                            d.getSpec()
                                    .getTemplate()
                                    .getSpec()
                                    .getContainers()
                                    .get(0)
                                    .getEnv()
                                    .add(new EnvVar("LOG_LEVEL", "debug", null));
                            return d;
                        });

                LocalKubelet.RunningProxy second = Awaitility.await("the new proxy serving, the old one gone")
                        .atMost(WAIT)
                        .pollInterval(Duration.ofMillis(100))
                        .until(
                                () -> kubelet.proxy("default", "web").orElse(null),
                                p -> p != null
                                        && p.pid() != first.pid()
                                        && p.ready()
                                        && p.servicePort() == port
                                        && ProcessHandle.of(first.pid())
                                                .map(h -> !h.isAlive())
                                                .orElse(true));
                int afterSwitch = traffic.ok.get();
                Awaitility.await("traffic through the new proxy")
                        .atMost(WAIT)
                        .until(() -> traffic.ok.get() >= afterSwitch + 20);
                assertThat(second.pid()).isNotEqualTo(first.pid());
            } finally {
                traffic.stop.set(true);
                load.join(WAIT.toMillis());
            }
            return new Rollout(List.copyOf(traffic.failures), kubelet.refusedConnections("default", "web"));
        }
    }

    @Test
    void everyProxyIsProbedOnItsOwnPortWhateverTheyDeclare() throws Exception {
        try (TestBackend backend = TestBackend.start("backend")) {
            int metricsPort = LocalKubelet.freePort();
            deployment(
                    "first",
                    Map.of(
                            "PORT",
                            String.valueOf(LocalKubelet.freePort()),
                            "METRICS_PORT",
                            String.valueOf(metricsPort),
                            "BACKENDS",
                            backend.url()));
            LocalKubelet.RunningProxy first = readyProxy("first");
            assertThat(first.serviceMetricsPort()).isEqualTo(metricsPort);

            // The same declared metrics port, and a pool that never loads: its proxy runs but is never ready.
            deployment(
                    "second",
                    Map.of(
                            "PORT",
                            String.valueOf(LocalKubelet.freePort()),
                            "METRICS_PORT",
                            String.valueOf(metricsPort),
                            "POOL_CONFIGMAP",
                            "missing",
                            "POD_NAMESPACE",
                            "default"));
            LocalKubelet.RunningProxy second = Awaitility.await("second proxy running")
                    .atMost(WAIT)
                    .until(() -> kubelet.proxy("default", "second").orElse(null), p -> p != null);
            // A false Ready (the first proxy answering the second's probe) would show within a few probes.
            Awaitility.await("the second proxy's own readiness, not the first's, for 5 s")
                    .during(Duration.ofSeconds(5))
                    .atMost(Duration.ofSeconds(10))
                    .pollInterval(Duration.ofMillis(100))
                    .until(() ->
                            !kubelet.proxy("default", "second").orElseThrow().ready());
            second = kubelet.proxy("default", "second").orElseThrow();
            assertThat(second.metricsPort()).isNotIn(metricsPort, first.metricsPort());
            assertThat(second.serviceMetricsPort())
                    .as("9090 is the first's: the second's metrics are on its own port")
                    .isZero();
            assertThat(second.restarts())
                    .as("running, not crash-looping on a taken port")
                    .isZero();
            assertThat(ProcessHandle.of(second.pid()).map(ProcessHandle::isAlive))
                    .contains(true);
            Deployment status = client.apps()
                    .deployments()
                    .inNamespace("default")
                    .withName("second")
                    .get();
            assertThat(status.getStatus().getReadyReplicas()).isZero();
        }
    }

    @Test
    void aServicesPortLeadsToThePodsItSelectsAsKubeProxyWould() throws Exception {
        try (TestBackend backend = TestBackend.start("backend")) {
            int servicePort = LocalKubelet.freePort();
            // The container declares 8080, as every proxy does now; the Service says where clients reach it.
            client.services()
                    .inNamespace("default")
                    .resource(new ServiceBuilder()
                            .withNewMetadata()
                            .withName("web")
                            .addToLabels(Labels.MANAGED_BY, "roundhouse-operator")
                            .endMetadata()
                            .withNewSpec()
                            .addToSelector(Labels.INSTANCE, "web")
                            .addNewPort()
                            .withName("http")
                            .withPort(servicePort)
                            .withTargetPort(new IntOrString("http"))
                            .endPort()
                            .endSpec()
                            .build())
                    .create();
            deployment(
                    "web",
                    Map.of(
                            "PORT",
                            "8080",
                            "METRICS_PORT",
                            String.valueOf(LocalKubelet.freePort()),
                            "BACKENDS",
                            backend.url()));

            LocalKubelet.RunningProxy proxy = Awaitility.await("the proxy behind the Service's port")
                    .atMost(WAIT)
                    .pollInterval(Duration.ofMillis(100))
                    .until(
                            () -> kubelet.proxy("default", "web").orElse(null),
                            p -> p != null && p.ready() && p.servicePort() == servicePort);
            assertThat(get(servicePort)).startsWith("HTTP/1.1 200");
            assertThat(proxy.port()).isNotEqualTo(servicePort);
        }
    }

    @Test
    void aNonRootContainerDeclaringAPrivilegedPortIsRefusedAsARuntimeWould() {
        var pod = new PodSpecBuilder()
                .withNewSecurityContext()
                .withRunAsNonRoot(true)
                .endSecurityContext()
                .build();
        Container port80 = new ContainerBuilder()
                .withName("proxy")
                .addNewPort()
                .withContainerPort(80)
                .endPort()
                .addNewEnv()
                .withName("PORT")
                .withValue("80")
                .endEnv()
                .build();
        Container port8080 = new ContainerBuilder()
                .withName("proxy")
                .addNewPort()
                .withContainerPort(8080)
                .endPort()
                .addNewEnv()
                .withName("PORT")
                .withValue("8080")
                .endEnv()
                .build();
        Container allowed = new ContainerBuilder(port80)
                .withNewSecurityContext()
                .withNewCapabilities()
                .addToAdd("NET_BIND_SERVICE")
                .endCapabilities()
                .endSecurityContext()
                .build();

        assertThatThrownBy(() -> LocalKubelet.refuseWhatAContainerCouldNotDo(pod, port80))
                .hasMessageContaining("cannot listen on port 80");
        LocalKubelet.refuseWhatAContainerCouldNotDo(pod, port8080);
        LocalKubelet.refuseWhatAContainerCouldNotDo(pod, allowed);
        LocalKubelet.refuseWhatAContainerCouldNotDo(new PodSpecBuilder().build(), port80); // root may
    }

    /** One request per connection to the declared port until stopped (or a minute passes), failures kept. */
    private static final class Traffic {
        final int port;
        final AtomicInteger ok = new AtomicInteger();
        final ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
        final AtomicBoolean stop = new AtomicBoolean();

        Traffic(int port) {
            this.port = port;
        }

        void run() {
            Instant deadline = Instant.now().plus(WAIT);
            while (!stop.get() && Instant.now().isBefore(deadline)) {
                try {
                    String answer = get(port);
                    if (answer.startsWith("HTTP/1.1 200")) {
                        ok.incrementAndGet();
                    } else {
                        failures.add(answer.lines().findFirst().orElse("(nothing)"));
                    }
                } catch (IOException e) {
                    failures.add(e.toString());
                }
            }
        }
    }

    private static String get(int port) throws IOException {
        try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), port)) {
            socket.setSoTimeout(10_000);
            OutputStream out = socket.getOutputStream();
            out.write("GET / HTTP/1.1\r\nHost: local\r\nConnection: close\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = socket.getInputStream();
            return new String(in.readAllBytes(), StandardCharsets.ISO_8859_1);
        }
    }
}
