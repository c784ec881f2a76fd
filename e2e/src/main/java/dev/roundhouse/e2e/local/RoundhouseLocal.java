package dev.roundhouse.e2e.local;

import dev.roundhouse.e2e.demo.DemoBackends;
import dev.roundhouse.e2e.demo.DemoControl;
import dev.roundhouse.operator.api.v1alpha1.LoadBalancer;
import dev.roundhouse.testing.GrpcBackend;
import dev.roundhouse.testing.ServerPem;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

/**
 * {@code roundhouse local}: the whole system on this machine, no cluster needed. Starts three demo backends and two
 * demo gRPC backends, the {@link LocalCluster} (API server, operator, local kubelet), applies {@code
 * samples/loadbalancer.yaml} and {@code samples/loadbalancer-grpc.yaml} and waits for their proxies: on :8080 and
 * :8443 (HTTPS, with a certificate made at start; metrics :9090), and on :50051 for gRPC. The demo backends are
 * stopped and started with POSTs to :3006 ({@link DemoControl}). Ctrl-C stops everything it started.
 */
public final class RoundhouseLocal {

    /** The sample's backends, its proxy port and its metrics port. */
    static final List<Integer> BACKEND_PORTS = List.of(3001, 3002, 3003);

    static final int PROXY_PORT = 8080;
    static final int METRICS_PORT = 9090;
    /** The sample's spec.tls.port, and the Secret it names. */
    static final int HTTPS_PORT = 8443;

    public static final String TLS_SECRET = "demo-tls";
    static final String SAMPLE = "samples/loadbalancer.yaml";
    /** The gRPC sample's backends (demo gRPC servers) and its Service port. */
    static final List<Integer> GRPC_BACKEND_PORTS = List.of(3004, 3005);

    static final int GRPC_PORT = 50051;
    static final String GRPC_SAMPLE = "samples/loadbalancer-grpc.yaml";
    static final Duration READY_WITHIN = Duration.ofSeconds(90);
    /** Where {@link DemoControl} stops and starts the demo backends: beside their ports, unused by the samples. */
    static final int DEMO_CONTROL_PORT = 3006;

    private RoundhouseLocal() {}

    public static void main(String[] args) throws Exception {
        Path home = Path.of(".roundhouse");
        List<Integer> busy = new ArrayList<>();
        for (int port : concat(
                concat(BACKEND_PORTS, GRPC_BACKEND_PORTS),
                List.of(DEMO_CONTROL_PORT, PROXY_PORT, METRICS_PORT, HTTPS_PORT, GRPC_PORT))) {
            if (!free(port)) {
                busy.add(port);
            }
        }
        if (!busy.isEmpty()) {
            System.err.println("roundhouse local: port(s) " + busy + " of 127.0.0.1 are in use (is another "
                    + "`roundhouse local` running?). It needs 3001-3005 for the demo backends, 3006 to stop and start them, "
                    + "8080, 8443, 9090 and 50051 for the proxies.");
            System.exit(1);
        }

        DemoBackends backends = DemoBackends.start(BACKEND_PORTS);
        DemoControl control;
        try {
            control = DemoControl.start(backends, DEMO_CONTROL_PORT);
        } catch (IOException | RuntimeException e) {
            backends.close();
            throw e;
        }
        List<GrpcBackend> grpcBackends = new ArrayList<>();
        LocalCluster cluster;
        try {
            for (int i = 0; i < GRPC_BACKEND_PORTS.size(); i++) {
                grpcBackends.add(GrpcBackend.start("demo-grpc-" + (i + 1), GRPC_BACKEND_PORTS.get(i)));
            }
            cluster = LocalCluster.start(LocalCluster.Options.demo(home));
        } catch (RuntimeException e) {
            control.close();
            backends.close();
            grpcBackends.forEach(GrpcBackend::close);
            throw e;
        }
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime()
                .addShutdownHook(new Thread(
                        () -> {
                            System.out.println(
                                    "\nroundhouse local: stopping the proxies, the operator, the API server and the backends");
                            cluster.close();
                            control.close();
                            backends.close();
                            grpcBackends.forEach(GrpcBackend::close);
                            stopped.countDown();
                        },
                        "roundhouse-local-shutdown"));

        cluster.client()
                .secrets()
                .inNamespace("default")
                .resource(demoTlsSecret(home.resolve("tls")))
                .serverSideApply();
        List<HasMetadata> applied = cluster.apiServer().applyYaml(LocalCluster.resource(SAMPLE));
        String name = applied.get(0).getMetadata().getName();
        String ready = awaitReady(cluster, name);
        // After the first is ready, so that its proxy holds the metrics port 9090: the two Services share
        // 127.0.0.1 here, where a cluster gives each an address of its own.
        String grpcName = cluster.apiServer()
                .applyYaml(LocalCluster.resource(GRPC_SAMPLE))
                .get(0)
                .getMetadata()
                .getName();
        String grpcReady = awaitReady(cluster, grpcName);
        Path kubeconfig = home.resolve("kubeconfig");
        System.out.println("""

                Roundhouse is running locally.
                  API server  %s  (kubeconfig: %s)
                  operator    http://127.0.0.1:%d/metrics
                  backends    %s, gRPC %s
                  LoadBalancer default/%s applied from %s: %s
                  LoadBalancer default/%s applied from %s: %s
                  proxy logs  %s

                Try:
                  curl localhost:%d                  # answers alternate demo-backend-1, -2, -3
                  curl -k https://localhost:%d       # the same over HTTPS (a certificate made for localhost)
                  curl localhost:%d/metrics          # requests, breakers, healthy backends
                  # open http://localhost:%d/ in a browser: the status page (curl localhost:%d/status: as JSON)
                  printf '\\0\\0\\0\\0\\5world' | curl -s --http2-prior-knowledge -H 'content-type: application/grpc' \\
                    -H 'te: trailers' --data-binary @- localhost:%d/roundhouse.demo.Greeter/Hello --output - | tail -c +6; echo
                  # a gRPC call: answers alternate demo-grpc-1, -2, each call balanced on its own
                  KUBECONFIG=%s kubectl get lb
                  KUBECONFIG=%s kubectl patch lb %s --type=merge \\
                    -p '{"spec":{"backends":[{"url":"http://127.0.0.1:3001"},{"url":"http://127.0.0.1:3002","weight":3}]}}'
                  # ...and curl again: the pool changes in place, the proxy keeps running.
                  curl -X POST %s
                  # demo-backend-2 refuses connections: the proxy takes it out of rotation within 5 s (one health
                  # check), curl answers -1 and -3, and kubectl get lb shows HEALTHY 2/3 with BackendsHealthy=False
                  curl -X POST %s
                  # ...and it listens on its port again: HEALTHY 3/3 after two checks pass (curl localhost:%d/demo-backends lists them)

                Ctrl-C stops everything.
                """.formatted(
                cluster.apiServer().url(),
                kubeconfig,
                cluster.operatorHttpPort(),
                BACKEND_PORTS.stream().map(p -> "http://127.0.0.1:" + p).toList(),
                GRPC_BACKEND_PORTS.stream().map(p -> "h2c://127.0.0.1:" + p).toList(),
                name,
                SAMPLE,
                ready,
                grpcName,
                GRPC_SAMPLE,
                grpcReady,
                home.resolve("logs"),
                PROXY_PORT,
                HTTPS_PORT,
                METRICS_PORT,
                METRICS_PORT,
                METRICS_PORT,
                GRPC_PORT,
                kubeconfig,
                kubeconfig,
                name,
                control.url("demo-backend-2", "stop"),
                control.url("demo-backend-2", "start"),
                control.port()));
        stopped.await();
    }

    /**
     * The Secret the sample's {@code spec.tls} names, with a certificate for localhost and 127.0.0.1 made now in
     * {@code dir} (by the JDK's keytool): what cert-manager would write on a cluster.
     */
    public static Secret demoTlsSecret(Path dir) throws IOException {
        ServerPem pem = ServerPem.make(
                dir,
                "localhost",
                ServerPem.Spec.ec("dns:localhost,ip:127.0.0.1").valid(0, 365));
        return new SecretBuilder()
                .withNewMetadata()
                .withName(TLS_SECRET)
                .endMetadata()
                .withType("kubernetes.io/tls")
                .withStringData(Map.of("tls.crt", Files.readString(pem.cert()), "tls.key", Files.readString(pem.key())))
                .build();
    }

    /** Waits for the LoadBalancer's Ready condition; returns how it stands (ready or why not). */
    private static String awaitReady(LocalCluster cluster, String name) throws InterruptedException {
        Instant deadline = Instant.now().plus(READY_WITHIN);
        String last = "no status yet";
        while (Instant.now().isBefore(deadline)) {
            LoadBalancer lb = cluster.client()
                    .resources(LoadBalancer.class)
                    .inNamespace("default")
                    .withName(name)
                    .get();
            Condition ready =
                    lb == null || lb.getStatus() == null || lb.getStatus().getConditions() == null
                            ? null
                            : lb.getStatus().getConditions().stream()
                                    .filter(c -> "Ready".equals(c.getType()))
                                    .findFirst()
                                    .orElse(null);
            if (ready != null) {
                last = "Ready=" + ready.getStatus() + " (" + ready.getReason() + ": " + ready.getMessage() + ")";
                if ("True".equals(ready.getStatus())) {
                    return last;
                }
            }
            Thread.sleep(200); // polling the API, as `kubectl wait` does
        }
        return last + " after " + READY_WITHIN.toSeconds() + " s; see the proxy log";
    }

    private static boolean free(int port) {
        try (ServerSocket socket = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private static List<Integer> concat(List<Integer> a, List<Integer> b) {
        List<Integer> all = new ArrayList<>(a);
        all.addAll(b);
        return all;
    }
}
