package dev.roundhouse.operator.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.roundhouse.operator.OperatorSettings;
import dev.roundhouse.operator.RoundhouseOperator;
import dev.roundhouse.operator.api.v1alpha1.BackendSpec;
import dev.roundhouse.operator.api.v1alpha1.LoadBalancer;
import dev.roundhouse.operator.api.v1alpha1.LoadBalancerSpec;
import dev.roundhouse.poolformat.PoolDocument;
import dev.roundhouse.poolformat.PoolDocumentCodec;
import dev.roundhouse.testing.apiserver.EmbeddedApiServer;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.DeploymentStatusBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Set;
import java.util.function.UnaryOperator;

/**
 * The embedded API server with the LoadBalancer CRD and (once {@link #startOperator}) the operator in the
 * server-side-apply mode production clusters use, plus what tests do to LoadBalancers and their objects.
 */
public final class OperatorCluster implements AutoCloseable {

    public static final String NS = "default";
    public static final Duration WAIT = Duration.ofSeconds(20);
    public static final Path CRD = Path.of("..", "crds", "loadbalancers.roundhouse.dev-v1.yml");

    public final EmbeddedApiServer api;
    public final KubernetesClient client;
    private RoundhouseOperator operator;

    private OperatorCluster(EmbeddedApiServer api) {
        this.api = api;
        this.client = api.client();
    }

    /** The API server with the CRD applied and the operator running. */
    public static OperatorCluster start() {
        OperatorCluster cluster = withoutCrd();
        cluster.api.applyCrds(CRD);
        return cluster.startOperator();
    }

    /** Only the API server, with no CRD yet: for what a cluster held before the operator (or the CRD) came. */
    public static OperatorCluster withoutCrd() {
        return new OperatorCluster(new EmbeddedApiServer().start());
    }

    public OperatorCluster startOperator() {
        try {
            operator = RoundhouseOperator.start(
                    new OperatorSettings(Set.of(), "example.org/roundhouse-proxy:test", "info", 0, false, NS),
                    api.newClient());
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return this;
    }

    public RoundhouseOperator operator() {
        return operator;
    }

    public void stopOperator() {
        operator.close();
        operator = null;
    }

    public static LoadBalancer loadBalancer(String name, String... urls) {
        LoadBalancer lb = new LoadBalancer();
        lb.setMetadata(new ObjectMetaBuilder()
                .withName(name)
                .withNamespace(NS)
                .withAnnotations(new HashMap<>())
                .build());
        LoadBalancerSpec spec = new LoadBalancerSpec();
        if (urls.length > 0) {
            spec.setBackends(Arrays.stream(urls)
                    .map(u -> {
                        BackendSpec b = new BackendSpec();
                        b.setUrl(u);
                        return b;
                    })
                    .toList());
        }
        lb.setSpec(spec);
        return lb;
    }

    public LoadBalancer create(LoadBalancer lb) {
        return client.resource(lb).create();
    }

    /**
     * Edits a LoadBalancer as a user would. The edit carries the resourceVersion it read, and the operator may write
     * the status in between (409): read again and retry, a bounded number of times.
     */
    public void edit(String name, UnaryOperator<LoadBalancer> change) {
        for (int attempt = 1; ; attempt++) {
            try {
                client.resources(LoadBalancer.class)
                        .inNamespace(NS)
                        .withName(name)
                        .edit(change);
                return;
            } catch (KubernetesClientException e) {
                if (e.getCode() != 409 || attempt == 5) {
                    throw e;
                }
            }
        }
    }

    public LoadBalancer get(String name) {
        return client.resources(LoadBalancer.class)
                .inNamespace(NS)
                .withName(name)
                .get();
    }

    public ConfigMap pool(String name) {
        return client.configMaps().inNamespace(NS).withName(name + "-pool").get();
    }

    public Deployment deployment(String name) {
        return client.apps()
                .deployments()
                .inNamespace(NS)
                .withName(name + "-proxy")
                .get();
    }

    public PoolDocument poolDocument(String name) throws Exception {
        return PoolDocumentCodec.parse(pool(name).getData().get("pool.json"));
    }

    public Condition condition(String name, String type) {
        LoadBalancer lb = get(name);
        if (lb == null || lb.getStatus() == null || lb.getStatus().getConditions() == null) {
            return null;
        }
        return lb.getStatus().getConditions().stream()
                .filter(c -> type.equals(c.getType()))
                .findFirst()
                .orElse(null);
    }

    public void awaitCondition(String name, String type, String status, String reason) {
        await().atMost(WAIT).untilAsserted(() -> {
            Condition c = condition(name, type);
            assertThat(c).as(type + " condition of " + name).isNotNull();
            assertThat(c.getStatus()).isEqualTo(status);
            assertThat(c.getReason()).isEqualTo(reason);
        });
    }

    /** Plays the kubelet and the Deployment controller: all replicas up to date and ready. */
    public void markProxiesReady(String name) {
        Deployment d = deployment(name);
        int replicas = d.getSpec().getReplicas();
        d.setStatus(new DeploymentStatusBuilder()
                .withObservedGeneration(d.getMetadata().getGeneration())
                .withReplicas(replicas)
                .withUpdatedReplicas(replicas)
                .withReadyReplicas(replicas)
                .withAvailableReplicas(replicas)
                .build());
        client.apps().deployments().inNamespace(NS).resource(d).updateStatus();
    }

    @Override
    public void close() {
        if (operator != null) {
            operator.close();
        }
        api.close();
    }
}
