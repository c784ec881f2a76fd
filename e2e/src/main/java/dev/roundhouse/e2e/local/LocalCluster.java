package dev.roundhouse.e2e.local;

import dev.roundhouse.operator.OperatorSettings;
import dev.roundhouse.operator.RoundhouseOperator;
import dev.roundhouse.testing.apiserver.EmbeddedApiServer;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The whole control plane on one machine: the embedded API server (CRDs applied; it collects garbage by owner
 * references), the operator, and the {@link LocalKubelet} that runs the proxies. The local demo and the
 * end-to-end tests both stand on it.
 */
public final class LocalCluster implements AutoCloseable {

    /** The CRDs of {@code crds/}, packaged with this module (see its pom). */
    static final List<String> CRD_RESOURCES = List.of("crds/loadbalancers.roundhouse.dev-v1.yml");

    /**
     * @param workDir          where the kubeconfig ({@code kubeconfig}) and the proxies' logs ({@code logs/}) go
     * @param apiServerPort    0 for an ephemeral port
     * @param operatorHttpPort the operator's probes and metrics; 0 for an ephemeral port
     * @param endpointLag      how long an old proxy still gets new connections after its SIGTERM
     * @param proxyEnvironment variables every proxy gets over its pod template's (benchmarks of older behaviour)
     */
    public record Options(
            Path workDir,
            int apiServerPort,
            int operatorHttpPort,
            LocalKubelet.PortPolicy portPolicy,
            Duration endpointLag,
            Map<String, String> proxyEnvironment) {

        public Options(Path workDir, int apiServerPort, int operatorHttpPort, LocalKubelet.PortPolicy portPolicy) {
            this(workDir, apiServerPort, operatorHttpPort, portPolicy, LocalKubelet.DEFAULT_ENDPOINT_LAG, Map.of());
        }

        /** The demo: proxies on the ports their LoadBalancers declare. */
        public static Options demo(Path workDir) {
            return new Options(workDir, 0, 0, LocalKubelet.PortPolicy.DECLARED);
        }

        /** Tests: every port ephemeral, so that runs can share a machine. */
        public static Options forTests(Path workDir) {
            return new Options(workDir, 0, 0, LocalKubelet.PortPolicy.EPHEMERAL);
        }

        public Options withEndpointLag(Duration lag) {
            return new Options(workDir, apiServerPort, operatorHttpPort, portPolicy, lag, proxyEnvironment);
        }

        public Options withProxyEnvironment(Map<String, String> environment) {
            return new Options(
                    workDir, apiServerPort, operatorHttpPort, portPolicy, endpointLag, Map.copyOf(environment));
        }
    }

    private final EmbeddedApiServer apiServer = new EmbeddedApiServer();
    private final List<AutoCloseable> started = new ArrayList<>();
    private Path kubeconfig;
    private RoundhouseOperator operator;
    private LocalKubelet kubelet;

    private LocalCluster() {}

    public static LocalCluster start(Options options) {
        LocalCluster cluster = new LocalCluster();
        try {
            cluster.startAll(options);
            return cluster;
        } catch (RuntimeException | IOException e) {
            cluster.close();
            throw e instanceof RuntimeException r ? r : new UncheckedIOException((IOException) e);
        }
    }

    private void startAll(Options options) throws IOException {
        apiServer.start(options.apiServerPort());
        started.add(apiServer);
        for (String crd : CRD_RESOURCES) {
            apiServer.applyCrdYaml(resource(crd));
        }
        kubeconfig = apiServer.writeKubeconfig(options.workDir().resolve("kubeconfig"));
        operator = RoundhouseOperator.start(
                new OperatorSettings(
                        Set.of(),
                        OperatorSettings.DEFAULT_PROXY_IMAGE,
                        "info",
                        options.operatorHttpPort(),
                        false,
                        "default"),
                apiServer.newClient());
        started.add(operator);
        KubernetesClient kubeletClient = apiServer.newClient();
        started.add(kubeletClient);
        kubelet = new LocalKubelet(
                        kubeletClient,
                        options.portPolicy(),
                        kubeconfig,
                        options.workDir().resolve("logs"),
                        options.endpointLag())
                .overridingEnvironment(options.proxyEnvironment())
                .start();
        started.add(kubelet);
    }

    static String resource(String name) {
        try (InputStream in = LocalCluster.class.getClassLoader().getResourceAsStream(name)) {
            if (in == null) {
                throw new IllegalStateException(name + " is not on the class path; build with mvn package");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A client of the embedded API server (shared; closed with the cluster). */
    public KubernetesClient client() {
        return apiServer.client();
    }

    public EmbeddedApiServer apiServer() {
        return apiServer;
    }

    /** The kubeconfig for kubectl and for the proxies. */
    public Path kubeconfig() {
        return kubeconfig;
    }

    public LocalKubelet kubelet() {
        return kubelet;
    }

    public int operatorHttpPort() {
        return operator.httpPort();
    }

    /** Stops in reverse order of start: the proxies first (they drain), the API server last. */
    @Override
    public void close() {
        for (int i = started.size() - 1; i >= 0; i--) {
            try {
                started.get(i).close();
            } catch (Exception e) {
                System.err.println("roundhouse local: error while stopping: " + e);
            }
        }
        started.clear();
    }
}
