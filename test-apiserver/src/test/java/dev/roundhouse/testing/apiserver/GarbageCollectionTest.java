package dev.roundhouse.testing.apiserver;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.DeletionPropagation;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.OwnerReference;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import io.fabric8.kubernetes.api.model.ServiceAccountBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.Watcher;
import io.fabric8.kubernetes.client.WatcherException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BooleanSupplier;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Owner references hold here only as they would on a cluster: what an owner's delete leaves without an owner is
 * deleted, and so is an object created with a reference to no existing owner.
 */
class GarbageCollectionTest {

    private static final String NS = "default";
    private static final Duration WAIT = Duration.ofSeconds(10);

    private EmbeddedApiServer server;
    private KubernetesClient client;

    @BeforeEach
    void start() {
        server = new EmbeddedApiServer().start();
        client = server.client();
    }

    @AfterEach
    void stop() {
        server.close();
    }

    private ConfigMap configMap(String name, OwnerReference... owners) {
        return client.configMaps()
                .inNamespace(NS)
                .resource(new ConfigMapBuilder()
                        .withNewMetadata()
                        .withName(name)
                        .withOwnerReferences(owners)
                        .endMetadata()
                        .withData(Map.of("k", "v"))
                        .build())
                .create();
    }

    private static OwnerReference ownedBy(HasMetadata owner) {
        return new OwnerReferenceBuilder()
                .withApiVersion(owner.getApiVersion())
                .withKind(owner.getKind())
                .withName(owner.getMetadata().getName())
                .withUid(owner.getMetadata().getUid())
                .withController(true)
                .build();
    }

    private boolean exists(String name) {
        return client.configMaps().inNamespace(NS).withName(name).get() != null;
    }

    /** Polls until {@code condition} holds, failing after {@link #WAIT}. */
    private static void await(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (!condition.getAsBoolean()) {
            assertThat(System.nanoTime()).as(what).isLessThan(deadline);
            Thread.sleep(20);
        }
    }

    @Test
    void deletingAnOwnerDeletesItsDependentsAndTheirsWithoutCountingAsAClientsWrite() throws Exception {
        ConfigMap owner = configMap("owner");
        ConfigMap child = configMap("child", ownedBy(owner));
        configMap("grandchild", ownedBy(child));
        configMap("bystander");
        List<String> deleted = new CopyOnWriteArrayList<>();
        try (var watch = client.configMaps().inNamespace(NS).watch(new Watcher<>() {
            @Override
            public void eventReceived(Action action, ConfigMap resource) {
                if (action == Action.DELETED) {
                    deleted.add(resource.getMetadata().getName());
                }
            }

            @Override
            public void onClose(WatcherException cause) {}
        })) {
            server.resetWriteCount();
            client.configMaps().inNamespace(NS).withName("owner").delete();

            await("the dependents deleted", () -> !exists("child") && !exists("grandchild"));
            await("watchers told", () -> deleted.containsAll(List.of("owner", "child", "grandchild")));
        }
        assertThat(exists("bystander"))
                .as("an object with no owner is never garbage")
                .isTrue();
        assertThat(server.writes()).as("the client's own writes only").hasSize(1);
    }

    @Test
    void anObjectCreatedWithAReferenceToNoOwnerIsDeletedAsOnACluster() throws Exception {
        ConfigMap owner = configMap("real-owner");
        OwnerReference wrongUid = new OwnerReferenceBuilder(ownedBy(owner))
                .withUid(UUID.randomUUID().toString())
                .build();
        OwnerReference wrongKind =
                new OwnerReferenceBuilder(ownedBy(owner)).withKind("Secret").build();
        configMap("wrong-uid", wrongUid);
        configMap("wrong-kind", wrongKind);
        configMap("right", ownedBy(owner));

        await("garbage collected", () -> !exists("wrong-uid") && !exists("wrong-kind"));
        assertThat(exists("right")).isTrue();
    }

    @Test
    void anObjectStaysWhileOneOfItsOwnersDoes() throws Exception {
        ConfigMap first = configMap("first");
        var second = client.serviceAccounts()
                .inNamespace(NS)
                .resource(new ServiceAccountBuilder()
                        .withNewMetadata()
                        .withName("second")
                        .endMetadata()
                        .build())
                .create();
        configMap("shared", ownedBy(first), ownedBy(second));
        configMap("first-only", ownedBy(first));

        client.configMaps().inNamespace(NS).withName("first").delete();
        await("the dependent of the first alone deleted", () -> !exists("first-only"));
        assertThat(exists("shared")).as("still owned by the second").isTrue();

        client.serviceAccounts().inNamespace(NS).withName("second").delete();
        await("deleted once its last owner is", () -> !exists("shared"));
    }

    /**
     * The server stores a kind it serves no resource for (posted to any path): garbage of that kind cannot be deleted
     * by path, and must not hold the collector in a loop over it.
     */
    @Test
    void garbageOfAKindNoResourceServesDoesNotStopTheCollector() throws Exception {
        List<String> warnings = new CopyOnWriteArrayList<>();
        Logger log = Logger.getLogger(GarbageCollector.class.getName());
        Handler handler = new Handler() {
            @Override
            public void publish(LogRecord record) {
                warnings.add(record.getMessage());
            }

            @Override
            public void flush() {}

            @Override
            public void close() {}
        };
        log.addHandler(handler);
        try {
            var stored = RawHttp.post(
                    server, "/apis/example.com/v1/namespaces/default/gadgets", "application/json", """
                    {"apiVersion": "example.com/v1", "kind": "Gadget",
                     "metadata": {"name": "stray", "namespace": "default", "ownerReferences": [
                       {"apiVersion": "v1", "kind": "ConfigMap", "name": "never", "uid": "%s"}]}}""".formatted(
                                    UUID.randomUUID()));
            assertThat(stored.code()).as(stored.body()).isLessThan(300);

            for (String owner : List.of("after-the-stray", "later-still")) {
                configMap(owner + "-dependent", ownedBy(configMap(owner)));
                client.configMaps().inNamespace(NS).withName(owner).delete();
                await("collected, the stray notwithstanding", () -> !exists(owner + "-dependent"));
            }
        } finally {
            log.removeHandler(handler);
        }
        assertThat(warnings)
                .as("said once, not over and over in a loop")
                .containsOnlyOnce("garbage collection: no resource serves Gadget default/stray, left in place");
    }

    @Test
    void anOrphaningDeleteLeavesTheDependents() throws Exception {
        ConfigMap owner = configMap("orphaning-owner");
        configMap("orphan", ownedBy(owner));

        client.configMaps()
                .inNamespace(NS)
                .withName("orphaning-owner")
                .withPropagationPolicy(DeletionPropagation.ORPHAN)
                .delete();
        // A later collection (any write wakes one) must not take it either.
        configMap("after", ownedBy(configMap("other-owner")));
        client.configMaps().inNamespace(NS).withName("other-owner").delete();
        await("the later collection ran", () -> !exists("after"));

        assertThat(exists("orphan")).isTrue();
    }
}
