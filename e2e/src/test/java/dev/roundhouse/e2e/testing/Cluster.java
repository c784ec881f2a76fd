package dev.roundhouse.e2e.testing;

import static org.assertj.core.api.Assertions.assertThat;

import dev.roundhouse.e2e.local.LocalCluster;
import dev.roundhouse.e2e.local.LocalKubelet.RunningProxy;
import dev.roundhouse.e2e.local.RoundhouseLocal;
import dev.roundhouse.operator.api.v1alpha1.LoadBalancer;
import dev.roundhouse.testing.TestBackend;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;
import org.awaitility.Awaitility;

/** What a user does to the local cluster, in one place: apply, wait for Ready, find the proxy, send requests. */
public final class Cluster {

    private static final HttpClient HTTP = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(2))
            .build();

    private final LocalCluster local;
    private final String namespace;
    private final Kubectl kubectl;

    public Cluster(LocalCluster local, String namespace) {
        this.local = local;
        this.namespace = namespace;
        this.kubectl = new Kubectl(local.kubeconfig());
        // The Secret the sample's spec.tls names, as roundhouse local creates it: the sample runs as shipped.
        local.client().secrets().inNamespace(namespace).resource(demoTls()).serverSideApply();
    }

    private static Secret demoTls;

    /** One certificate for every namespace of the run: keytool takes a second or two. */
    private static synchronized Secret demoTls() {
        if (demoTls == null) {
            try {
                demoTls = RoundhouseLocal.demoTlsSecret(Files.createTempDirectory("roundhouse-demo-tls"));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return new SecretBuilder(demoTls).build();
    }

    public LocalCluster local() {
        return local;
    }

    public String namespace() {
        return namespace;
    }

    public Kubectl kubectl() {
        return kubectl;
    }

    /** The repository's {@code samples/loadbalancer.yaml}, its backends replaced by {@code backends}. */
    public static String sample(List<TestBackend> backends) {
        try {
            String sample = Files.readString(Path.of("..", "samples", "loadbalancer.yaml"), StandardCharsets.UTF_8);
            LoadBalancer lb = Serialization.unmarshal(sample, LoadBalancer.class);
            assertThat(lb.getSpec().getBackends()).as("the sample's backends").hasSize(backends.size());
            for (int i = 0; i < backends.size(); i++) {
                String url = lb.getSpec().getBackends().get(i).getUrl();
                sample = sample.replace(url + "\n", backends.get(i).url() + "\n");
            }
            return sample;
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Applies YAML as a user would: {@code kubectl apply} where kubectl is installed, the Fabric8 client
     * otherwise. Returns the error a user would see, or empty when the API server accepted it.
     */
    public Optional<String> apply(String yaml) {
        if (Kubectl.available()) {
            Kubectl.Result result = kubectl.apply(namespace, yaml);
            return result.ok() ? Optional.empty() : Optional.of(result.stderr() + result.stdout());
        }
        try {
            local.client()
                    .load(new java.io.ByteArrayInputStream(yaml.getBytes(StandardCharsets.UTF_8)))
                    .inNamespace(namespace)
                    .serverSideApply();
            return Optional.empty();
        } catch (KubernetesClientException e) {
            return Optional.of(e.getMessage());
        }
    }

    public void applyOrFail(String yaml) {
        assertThat(apply(yaml)).as("error applying\n%s", yaml).isEmpty();
    }

    /** Deletes this namespace's LoadBalancers (their proxies stop once the objects they own are collected). */
    public void deleteLoadBalancers() {
        local.client().resources(LoadBalancer.class).inNamespace(namespace).delete();
    }

    public LoadBalancer loadBalancer(String name) {
        return local.client()
                .resources(LoadBalancer.class)
                .inNamespace(namespace)
                .withName(name)
                .get();
    }

    /** The LoadBalancer's condition of {@code type}, or null. */
    public Condition condition(String name, String type) {
        LoadBalancer lb = loadBalancer(name);
        if (lb == null || lb.getStatus() == null || lb.getStatus().getConditions() == null) {
            return null;
        }
        return lb.getStatus().getConditions().stream()
                .filter(c -> type.equals(c.getType()))
                .findFirst()
                .orElse(null);
    }

    /** Waits for Ready=True, as {@code kubectl wait --for=condition=Ready} does. */
    public LoadBalancer awaitReady(String name) {
        Awaitility.await("LoadBalancer " + namespace + "/" + name + " Ready")
                .atMost(Duration.ofSeconds(60))
                .pollInterval(Duration.ofMillis(100))
                .until(() -> condition(name, "Ready"), c -> c != null && "True".equals(c.getStatus()));
        return loadBalancer(name);
    }

    /** The proxy the local kubelet runs for the LoadBalancer, once it is ready. */
    public RunningProxy awaitProxy(String name) {
        AtomicReference<RunningProxy> proxy = new AtomicReference<>();
        Awaitility.await("a ready proxy for " + namespace + "/" + name)
                .atMost(Duration.ofSeconds(60))
                .pollInterval(Duration.ofMillis(100))
                .until(() -> {
                    proxy.set(local.kubelet().proxy(namespace, name + "-proxy").orElse(null));
                    return proxy.get() != null && proxy.get().ready();
                });
        return proxy.get();
    }

    public Optional<RunningProxy> proxy(String name) {
        return local.kubelet().proxy(namespace, name + "-proxy");
    }

    public static URI uri(RunningProxy proxy, String path) {
        return URI.create("http://127.0.0.1:" + proxy.port() + path);
    }

    /** GET, returning status and body; IOException is an answer too (a refused connection). */
    public static HttpResponse<String> get(URI uri) throws IOException, InterruptedException {
        return HTTP.send(
                HttpRequest.newBuilder(uri)
                        .timeout(Duration.ofSeconds(10))
                        .GET()
                        .build(),
                HttpResponse.BodyHandlers.ofString());
    }

    /** The proxy's Prometheus exposition text. */
    public static String metrics(RunningProxy proxy) throws IOException, InterruptedException {
        return get(URI.create("http://127.0.0.1:" + proxy.metricsPort() + "/metrics"))
                .body();
    }

    /** The lines of a metric family (name and labels), for assertion messages and lookups. */
    public static List<String> series(String exposition, String name) {
        return exposition
                .lines()
                .filter(l -> l.startsWith(name + "{") || l.startsWith(name + " "))
                .collect(Collectors.toList());
    }
}
