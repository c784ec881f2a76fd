package dev.roundhouse.testing.apiserver;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinitionStatusBuilder;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.fabric8.kubernetes.client.jdkhttp.JdkHttpClientFactory;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * An embedded Kubernetes API server for tests and the local demo: plain HTTP on 127.0.0.1, objects kept in memory.
 *
 * <p>It is the Fabric8 mock server in CRUD mode, extended with what operators and kubectl need from a real server:
 * server-side apply with {@code managedFields} (so JOSDK runs in its default SSA mode and its SSA matcher sees an
 * unchanged object as matching), merge and strategic merge patches, discovery, Table output for custom resources,
 * and a record of writes for idempotency tests. Custom resources are checked against their CRD (as stored when
 * written) like a real API server checks them: unknown fields pruned, {@code default:} values set, the OpenAPI
 * schema and the {@code x-kubernetes-validations} CEL rules enforced, with a 422 {@code Invalid} Status for a bad
 * object. It collects garbage as a cluster does ({@link GarbageCollector}: an object whose owners are all gone is
 * deleted, in the background), and validates no built-in kinds.
 *
 * <pre>{@code
 * try (var server = new EmbeddedApiServer().start()) {
 *   server.applyCrds(Path.of("target/classes/META-INF/fabric8/widgets.example.dev-v1.yml"));
 *   KubernetesClient client = server.client();
 *   ...
 *   server.resetWriteCount();
 *   // reconcile again
 *   assertThat(server.writes()).isEmpty();
 * }
 * }</pre>
 */
public final class EmbeddedApiServer implements AutoCloseable {

    /** The field manager this class's own apply helpers use. */
    public static final String FIELD_MANAGER = "roundhouse-test-apiserver";

    private static final String LOOPBACK = "127.0.0.1";
    /**
     * The mock web server logs every request at INFO through java.util.logging; quiet it (held here because
     * java.util.logging keeps loggers only weakly, and a collected logger forgets its level).
     */
    private static final Logger REQUEST_LOG = Logger.getLogger("io.fabric8.mockwebserver.MockWebServer");

    static {
        REQUEST_LOG.setLevel(Level.WARNING);
    }

    private final MockWebServer webServer = new MockWebServer();
    private final ApiServerDispatcher dispatcher = new ApiServerDispatcher(webServer::reset);
    private final KubernetesMockServer server =
            new KubernetesMockServer(new Context(), webServer, new HashMap<>(), dispatcher, false);
    private int port = -1;
    private KubernetesClient client;

    /** Starts on an ephemeral port of 127.0.0.1. */
    public EmbeddedApiServer start() {
        return start(0);
    }

    /** Starts on {@code port} of 127.0.0.1 (0: an ephemeral port). */
    public synchronized EmbeddedApiServer start(int port) {
        if (this.port >= 0) {
            throw new IllegalStateException("already started on port " + this.port);
        }
        try {
            server.start(InetAddress.getByName(LOOPBACK), port);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        this.port = server.getPort();
        dispatcher.serverAddress(LOOPBACK + ":" + this.port);
        return this;
    }

    /** The port it listens on. */
    public synchronized int port() {
        if (port < 0) {
            throw new IllegalStateException("not started");
        }
        return port;
    }

    /** {@code http://127.0.0.1:<port>} */
    public String url() {
        return "http://" + LOOPBACK + ":" + port();
    }

    /**
     * A client for this server (JDK HTTP client, namespace "default"), shared and closed by {@link #close()}. Give code
     * that closes its client (a JOSDK {@code Operator} does on stop) a {@link #newClient()} instead.
     */
    public synchronized KubernetesClient client() {
        if (client == null) {
            client = newClient();
        }
        return client;
    }

    /** A new client for this server (JDK HTTP client, namespace "default"); the caller closes it. */
    public KubernetesClient newClient() {
        Config config = new ConfigBuilder(Config.empty())
                .withMasterUrl(url())
                .withNamespace("default")
                .withHttp2Disable(true) // plain HTTP/1.1, as the mock server speaks it
                .build();
        return new KubernetesClientBuilder()
                .withConfig(config)
                .withHttpClientFactory(new JdkHttpClientFactory())
                .build();
    }

    /**
     * Writes a kubeconfig for this server to {@code file}: cluster {@code http://127.0.0.1:<port>}, a context with
     * namespace "default", and a user without credentials. Use it with {@code kubectl --kubeconfig <file>}.
     */
    public Path writeKubeconfig(Path file) {
        String name = "roundhouse-embedded";
        String kubeconfig = String.join(
                "\n",
                "apiVersion: v1",
                "kind: Config",
                "clusters:",
                "- name: " + name,
                "  cluster:",
                "    server: " + url(),
                "    insecure-skip-tls-verify: true",
                "contexts:",
                "- name: " + name,
                "  context:",
                "    cluster: " + name,
                "    user: " + name,
                "    namespace: default",
                "current-context: " + name,
                "users:",
                "- name: " + name,
                "  user: {}",
                "preferences: {}",
                "");
        try {
            if (file.toAbsolutePath().getParent() != null) {
                Files.createDirectories(file.toAbsolutePath().getParent());
            }
            return Files.writeString(file, kubeconfig, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The number of write requests (any method but GET) since the start or the last {@link #resetWriteCount()}. */
    /**
     * Refuses every write whose path contains {@code pathPart} with a 500, as a failing API server would, until
     * called again with null.
     */
    public void refuseWrites(String pathPart) {
        dispatcher.refuseWrites(pathPart);
    }

    /**
     * Holds every write whose path contains {@code pathPart} unanswered until {@link WriteHold#release()} (or
     * {@code atMost}, so that no test can hang on it): a slow API server, to catch a client in the middle of a
     * write. Reads go on.
     */
    public WriteHold holdWrites(String pathPart, java.time.Duration atMost) {
        return dispatcher.holdWrites(pathPart, atMost);
    }

    public int writeCount() {
        return dispatcher.writeCount();
    }

    /**
     * The write requests (any method but GET) since the start or the last {@link #resetWriteCount()}, in order (at
     * most the latest 10,000).
     */
    public List<Write> writes() {
        return dispatcher.writes();
    }

    /** Forgets the writes recorded so far. */
    public void resetWriteCount() {
        dispatcher.resetWrites();
    }

    /**
     * Applies the CustomResourceDefinitions in the given YAML files (server-side apply, field manager
     * {@value #FIELD_MANAGER}) and marks each one Established, as a real API server soon would.
     *
     * @throws IllegalArgumentException if a file holds anything but CustomResourceDefinitions
     */
    public List<CustomResourceDefinition> applyCrds(Path... files) {
        List<CustomResourceDefinition> crds = new ArrayList<>();
        for (Path file : files) {
            crds.addAll(crdsIn(load(file), file.toString()));
        }
        return establish(crds);
    }

    /** Applies the CustomResourceDefinitions of a YAML document stream, as {@link #applyCrds(Path...)} does. */
    public List<CustomResourceDefinition> applyCrdYaml(String yaml) {
        return establish(crdsIn(load(new ByteArrayInputStream(yaml.getBytes(StandardCharsets.UTF_8))), "the YAML"));
    }

    private static List<CustomResourceDefinition> crdsIn(List<HasMetadata> items, String source) {
        List<CustomResourceDefinition> crds = new ArrayList<>();
        for (HasMetadata item : items) {
            if (!(item instanceof CustomResourceDefinition crd)) {
                throw new IllegalArgumentException(
                        source + " holds a " + item.getKind() + ", not a CustomResourceDefinition");
            }
            crds.add(crd);
        }
        return crds;
    }

    private List<CustomResourceDefinition> establish(List<CustomResourceDefinition> crds) {
        List<CustomResourceDefinition> applied = new ArrayList<>();
        for (CustomResourceDefinition crd : crds) {
            apply(crd);
            String now = Instant.now().truncatedTo(ChronoUnit.SECONDS).toString();
            crd.setStatus(new CustomResourceDefinitionStatusBuilder()
                    .withAcceptedNames(crd.getSpec().getNames())
                    .addNewCondition()
                    .withType("NamesAccepted")
                    .withStatus("True")
                    .withReason("NoConflicts")
                    .withLastTransitionTime(now)
                    .endCondition()
                    .addNewCondition()
                    .withType("Established")
                    .withStatus("True")
                    .withReason("InitialNamesAccepted")
                    .withLastTransitionTime(now)
                    .endCondition()
                    .build());
            applied.add(client().resource(crd)
                    .subresource("status")
                    .patch(new PatchContext.Builder()
                            .withPatchType(PatchType.SERVER_SIDE_APPLY)
                            .withFieldManager(FIELD_MANAGER)
                            .withForce(true)
                            .build()));
        }
        return applied;
    }

    /**
     * Applies every object of a YAML (or JSON) document stream (server-side apply, field manager
     * {@value #FIELD_MANAGER}); objects without a namespace go to "default".
     */
    public List<HasMetadata> applyYaml(String yaml) {
        return applyAll(load(new ByteArrayInputStream(yaml.getBytes(StandardCharsets.UTF_8))));
    }

    /** Applies every object in a YAML file, as {@link #applyYaml(String)} does. */
    public List<HasMetadata> applyYaml(Path file) {
        return applyAll(load(file));
    }

    private List<HasMetadata> applyAll(List<HasMetadata> items) {
        List<HasMetadata> applied = new ArrayList<>();
        for (HasMetadata item : items) {
            applied.add(apply(item));
        }
        return applied;
    }

    private <T extends HasMetadata> T apply(T item) {
        return client().resource(item)
                .fieldManager(FIELD_MANAGER)
                .forceConflicts()
                .serverSideApply();
    }

    private List<HasMetadata> load(Path file) {
        try (InputStream in = Files.newInputStream(file)) {
            return load(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private List<HasMetadata> load(InputStream in) {
        return client().load(in).items();
    }

    /**
     * Holds the garbage collector back until the returned handle is closed (then it runs): to test what a cluster
     * shows between an owner's delete and its dependents', a window a lagging controller manager can make long.
     */
    public AutoCloseable pauseGarbageCollection() {
        return dispatcher.pauseGarbageCollection();
    }

    /** Closes the shared client and stops the server. */
    @Override
    public synchronized void close() {
        if (client != null) {
            client.close();
            client = null;
        }
        if (port >= 0) {
            server.shutdown();
        }
        dispatcher.close();
    }
}
