package dev.roundhouse.e2e.chart;

import static org.assertj.core.api.Assertions.assertThat;

import dev.roundhouse.operator.OperatorSettings;
import dev.roundhouse.operator.api.v1alpha1.LoadBalancer;
import dev.roundhouse.operator.model.ProxyRbac;
import dev.roundhouse.operator.reconciler.LoadBalancerReconciler;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.OwnerReference;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.api.model.rbac.PolicyRule;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.openshift.api.model.monitoring.v1.ServiceMonitor;
import io.javaoperatorsdk.operator.api.config.BaseConfigurationService;
import io.javaoperatorsdk.operator.api.config.ConfigurationService;
import io.javaoperatorsdk.operator.api.config.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.config.dependent.DependentResourceSpec;
import io.javaoperatorsdk.operator.api.reconciler.Cleaner;
import io.javaoperatorsdk.operator.api.reconciler.EventSourceContext;
import io.javaoperatorsdk.operator.api.reconciler.dependent.Deleter;
import io.javaoperatorsdk.operator.api.reconciler.dependent.DependentResource;
import io.javaoperatorsdk.operator.api.reconciler.dependent.GarbageCollected;
import io.javaoperatorsdk.operator.processing.dependent.Creator;
import io.javaoperatorsdk.operator.processing.dependent.Updater;
import io.javaoperatorsdk.operator.processing.dependent.kubernetes.KubernetesDependentResource;
import io.javaoperatorsdk.operator.processing.dependent.kubernetes.KubernetesDependentResourceConfig;
import io.javaoperatorsdk.operator.processing.dependent.workflow.CRDPresentActivationCondition;
import io.javaoperatorsdk.operator.processing.event.source.EventSource;
import io.javaoperatorsdk.operator.processing.event.source.IndexerResourceCache;
import io.javaoperatorsdk.operator.processing.event.source.informer.InformerEventSource;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.reflect.Proxy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Collection;
import java.util.Comparator;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * What the operator does through the Kubernetes API, derived from its code: the JOSDK configuration of
 * {@link LoadBalancerReconciler} (the workflow's dependents, how JOSDK writes and deletes each, the informers
 * {@code prepareEventSources} registers), the proxies' Role (whoever grants a permission must hold it), and the few
 * calls the code makes itself. Each permission is a verb on a resource type named through Fabric8
 * ({@link HasMetadata#getGroup}, {@link HasMetadata#getPlural}), so a new dependent or informer changes the set
 * without anyone editing a list.
 *
 * <p>Verbs, by what JOSDK 5 and Fabric8 7 send:
 * <ul>
 * <li>an informer lists and watches; {@code get} comes with them ({@link #READ}), as in every operator's RBAC:
 *     it shows nothing that list does not;</li>
 * <li>a dependent written with server-side apply needs {@code patch}, and {@code create} too, since an apply that
 *     creates the object is also authorised as a create; without SSA (JOSDK's default for ConfigMaps and Secrets)
 *     it is {@code create} and {@code update};</li>
 * <li>{@code delete} only for a dependent the workflow itself deletes: one with a reconcile precondition, or one
 *     that depends on a dependent with a condition. The others go with their LoadBalancer through their owner
 *     reference, which the garbage collector, not the operator, acts on;</li>
 * <li>the status is written with a patch (server-side apply or JSON merge patch) on the {@code status}
 *     subresource.</li>
 * </ul>
 */
public final class OperatorPermissions {

    /** What an informer needs (get with list and watch, see above). */
    public static final List<String> READ = List.of("get", "list", "watch");

    /** Where a ClusterRoleBinding grants: every namespace, and cluster-scoped resources. */
    public static final String CLUSTER_WIDE = "(cluster-wide)";

    /** Any object of the type (a rule without resourceNames). */
    public static final String ANY = "";

    private static final Path OPERATOR_SOURCES = ChartFixture.ROOT.resolve("operator/src/main/java");

    /** A use of the Kubernetes client in the operator's sources, outside JOSDK. */
    private static final Pattern CLIENT_CALL = Pattern.compile("\\b(getClient|getKubernetesClient)\\(\\)");

    /** Stands for the Lease's name in the derived needs: the settings of each rendered operator give it. */
    private static final String LEASE = "<LEADER_ELECTION_LEASE>";

    /** The operator's own client calls, by source file, that {@link #derive()} grants: see {@link #directApiCalls()}. */
    public static final Map<String, Integer> DIRECT_CALLS = Map.of(
            // WarningEvents through StatusWriter.recordEventIfNewProblem and recordBackendEvents: create an Event, or
            // get and patch it; TlsSecrets.check: get each Secret spec.tls names
            "LoadBalancerReconciler.java", 4,
            // get each derived object the caches miss; edit (get, JSON patch) the labels back onto its own
            "Ownership.java", 2,
            "ServiceMonitorCrd.java", 1, // customResourceDefinitions().withName(..).get()
            // CaBundles.read: get the one ConfigMap or Secret spec.backendTLS.caBundle names
            "PoolResolution.java", 1);

    /** A verb the operator needs on a resource type (and maybe only on one object), and where in the code it comes from. */
    public record Need(String group, String resource, String verb, String resourceName, String why) {

        Permission in(String scope) {
            return new Permission(scope, group, resource, verb, resourceName);
        }

        /** This need with the object it names, when that is {@code placeholder}, named {@code name}. */
        Need named(String placeholder, String name) {
            return resourceName.equals(placeholder) ? new Need(group, resource, verb, name, why) : this;
        }
    }

    /** A verb on a resource type (or one object of it), granted in a namespace or {@link #CLUSTER_WIDE}. */
    public record Permission(String scope, String group, String resource, String verb, String resourceName)
            implements Comparable<Permission> {

        private static final Comparator<Permission> ORDER = Comparator.comparing(Permission::scope)
                .thenComparing(Permission::group)
                .thenComparing(Permission::resource)
                .thenComparing(Permission::verb)
                .thenComparing(Permission::resourceName);

        @Override
        public int compareTo(Permission other) {
            return ORDER.compare(this, other);
        }

        @Override
        public String toString() {
            return verb + " " + (group.isEmpty() ? "" : group + "/") + resource
                    + (resourceName.isEmpty() ? "" : " named " + resourceName)
                    + (scope.equals(CLUSTER_WIDE) ? " cluster-wide" : " in " + scope);
        }
    }

    /**
     * The operator's needs, in three parts by where they apply.
     *
     * @param watched       in every namespace the operator watches (or cluster-wide when it watches all)
     * @param clusterScoped on cluster-scoped resources, whatever it watches
     * @param leaderElection in the operator's own namespace, with leader election on
     */
    public record Needs(Set<Need> watched, Set<Need> clusterScoped, Set<Need> leaderElection) {

        /**
         * Every permission the chart must grant, and no other, for a release in {@code releaseNamespace} whose
         * operator elects its leader with the Lease {@code leaseName}.
         */
        public Set<Permission> expected(
                List<String> watchNamespaces, boolean leaderElectionOn, String releaseNamespace, String leaseName) {
            Set<Permission> expected = new TreeSet<>();
            List<String> scopes = watchNamespaces.isEmpty() ? List.of(CLUSTER_WIDE) : watchNamespaces;
            for (String scope : scopes) {
                watched.forEach(n -> expected.add(n.in(scope)));
            }
            clusterScoped.forEach(n -> expected.add(n.in(CLUSTER_WIDE)));
            if (leaderElectionOn) {
                leaderElection.forEach(
                        n -> expected.add(n.named(LEASE, leaseName).in(releaseNamespace)));
            }
            return expected;
        }

        /** Why the operator needs this permission, for failure messages. */
        public String why(Permission p) {
            return Stream.of(watched, clusterScoped, leaderElection)
                    .flatMap(Collection::stream)
                    .filter(n -> n.group().equals(p.group())
                            && n.resource().equals(p.resource())
                            && n.verb().equals(p.verb())
                            && (n.resourceName().equals(p.resourceName())
                                    || n.resourceName().equals(LEASE)
                                            && !p.resourceName().isEmpty()))
                    .map(Need::why)
                    .distinct()
                    .collect(Collectors.joining("; "));
        }
    }

    private static Needs derived;

    private OperatorPermissions() {}

    /** {@link #derive()}, once per test JVM. */
    public static synchronized Needs needs() {
        if (derived == null) {
            derived = derive();
        }
        return derived;
    }

    /**
     * The rendered chart grants the operator's ServiceAccount exactly {@link #needs()}: every permission, and no
     * other, in the watched namespaces (or cluster-wide), on cluster-scoped resources, and in its own namespace
     * (the Deployment's) for leader election.
     */
    public static void assertGrantsExactly(
            List<HasMetadata> objects, List<String> watchNamespaces, boolean leaderElection) {
        Needs needs = needs();
        Deployment operator = ChartFixture.only(objects, Deployment.class);
        String releaseNamespace = operator.getMetadata().getNamespace();
        Set<Permission> expected =
                needs.expected(watchNamespaces, leaderElection, releaseNamespace, leaseName(operator));
        Set<Permission> granted = ChartFixture.granted(objects);
        Set<Permission> missing = new TreeSet<>(expected);
        missing.removeAll(granted);
        Set<Permission> spare = new TreeSet<>(granted);
        spare.removeAll(expected);
        assertThat(missing)
                .as(
                        "permissions the operator's code needs that the chart does not grant:%n%s",
                        missing.stream()
                                .map(p -> "  " + p + " (" + needs.why(p) + ")")
                                .collect(Collectors.joining("\n")))
                .isEmpty();
        assertThat(spare)
                .as("permissions the chart grants that no code of the operator needs")
                .isEmpty();
    }

    /** The Lease the rendered operator elects its leader with: what its settings make of the Deployment's env. */
    public static String leaseName(Deployment operator) {
        Map<String, String> env = new HashMap<>();
        operator.getSpec().getTemplate().getSpec().getContainers().get(0).getEnv().stream()
                .filter(v -> v.getValue() != null)
                .forEach(v -> env.put(v.getName(), v.getValue()));
        return OperatorSettings.fromEnvironment(env).leaseName();
    }

    /** Derives the needs from the operator's code (see the class comment). */
    public static Needs derive() {
        ConfigurationService configurationService = new BaseConfigurationService();
        LoadBalancerReconciler reconciler =
                new LoadBalancerReconciler(new SimpleMeterRegistry(), OperatorSettings.fromEnvironment(Map.of()));
        ControllerConfiguration<LoadBalancer> controller = configurationService.getConfigurationFor(reconciler);
        Class<LoadBalancer> primary = controller.getResourceClass();

        Set<Need> watched = new LinkedHashSet<>();
        Set<Need> clusterScoped = new LinkedHashSet<>();

        // The primary resource: its informer, and the status the reconciler patches (UpdateControl.patchStatus,
        // ErrorStatusUpdateControl.patchStatus) on the status subresource.
        read(watched, primary, "the " + primary.getSimpleName() + " informer (JOSDK controller)");
        assertThat(CustomResource.class).isAssignableFrom(primary);
        watched.add(need(
                primary,
                "/status",
                "patch",
                ANY,
                "LoadBalancerReconciler: UpdateControl.patchStatus, applied on the status subresource"));

        // A finalizer would need patch on the primary; JOSDK adds one for a Cleaner, or for a dependent that is
        // deleted explicitly rather than garbage-collected.
        @SuppressWarnings("rawtypes")
        List<DependentResourceSpec> specs =
                controller.getWorkflowSpec().orElseThrow().getDependentResourceSpecs();
        boolean finalizer = reconciler instanceof Cleaner<?>
                || specs.stream()
                        .anyMatch(s -> Deleter.class.isAssignableFrom(s.getDependentResourceClass())
                                && !GarbageCollected.class.isAssignableFrom(s.getDependentResourceClass()));
        assertThat(finalizer)
                .as(
                        "LoadBalancerReconciler now uses a finalizer: the operator needs patch on %s; add it to the chart "
                                + "and to %s",
                        HasMetadata.getPlural(primary), OperatorPermissions.class.getSimpleName())
                .isFalse();

        // Owner references: with blockOwnerDeletion set, the API server also asks for update on <plural>/finalizers
        // (OwnerReferencesPermissionEnforcement). JOSDK adds them with Fabric8's addOwnerReference.
        OwnerReference ownerReference = new ConfigMap().addOwnerReference(sampleLoadBalancer());
        if (Boolean.TRUE.equals(ownerReference.getBlockOwnerDeletion())) {
            watched.add(need(
                    primary,
                    "/finalizers",
                    "update",
                    ANY,
                    "owner references with blockOwnerDeletion on the dependents"));
        }

        // The workflow's dependents.
        Map<String, DependentResourceSpec<?, ?, ?>> byName = new HashMap<>();
        specs.forEach(s -> byName.put(s.getName(), s));
        for (DependentResourceSpec<?, ?, ?> spec : specs) {
            Class<?> type = spec.getDependentResourceClass();
            DependentResource<?, ?> dependent = instantiate(type);
            assertThat(dependent)
                    .as("dependent %s: only Kubernetes dependents are mapped to permissions", spec.getName())
                    .isInstanceOf(KubernetesDependentResource.class);
            Class<? extends HasMetadata> resource = resourceType(dependent);
            String who = type.getSimpleName();
            read(watched, resource, who + "'s informer");
            boolean ssa = configurationService.shouldUseSSA(
                    kubernetesDependentClass(type), resource, (KubernetesDependentResourceConfig<?>)
                            spec.getConfiguration().orElse(null));
            if (dependent instanceof Creator<?, ?>) {
                watched.add(need(resource, "", "create", ANY, who + " creates" + (ssa ? " (server-side apply)" : "")));
                if (ssa) {
                    watched.add(need(resource, "", "patch", ANY, who + " creates and updates with server-side apply"));
                }
            }
            if (dependent instanceof Updater<?, ?>) {
                watched.add(need(
                        resource,
                        "",
                        ssa ? "patch" : "update",
                        ANY,
                        who + " updates" + (ssa ? " with server-side apply" : " (JOSDK writes it without SSA)")));
            }
            if (dependent instanceof Deleter<?> && deletedByWorkflow(spec, byName)) {
                watched.add(need(resource, "", "delete", ANY, who + " is deleted when its condition no longer holds"));
            }
            if (spec.getActivationCondition() instanceof CRDPresentActivationCondition<?, ?>) {
                clusterScoped.add(need(
                        CustomResourceDefinition.class,
                        "",
                        "get",
                        HasMetadata.getFullResourceName(resource),
                        who + "'s activation condition (CRDPresentActivationCondition) reads the CRD"));
            }
        }

        // The informers LoadBalancerReconciler registers itself.
        for (EventSource<?, LoadBalancer> source : eventSources(reconciler, controller)) {
            if (source instanceof dev.roundhouse.operator.observe.ProxyStatusWatch) {
                continue; // asks the proxies' admin ports over HTTP, nothing of the API server
            }
            assertThat(source)
                    .as("event source %s: only informers are mapped to permissions", source.name())
                    .isInstanceOf(InformerEventSource.class);
            read(
                    watched,
                    ((InformerEventSource<?, ?>) source).resourceType(),
                    "the " + source.name() + " informer (prepareEventSources)");
        }

        // Whoever creates a Role or binds it must hold its permissions (the API server's escalation check): the
        // operator holds what the proxies' Role grants, on every object, since each LoadBalancer names its own.
        for (PolicyRule rule : ProxyRbac.role(sampleLoadBalancer()).getRules()) {
            for (String group : rule.getApiGroups()) {
                for (String resource : rule.getResources()) {
                    for (String verb : rule.getVerbs()) {
                        watched.add(new Need(group, resource, verb, ANY, "granted to the proxies by ProxyRbac.role"));
                    }
                }
            }
        }

        // What the code calls through the client itself (a test checks DIRECT_CALLS against the sources).
        watched.add(
                need(
                        Event.class,
                        "",
                        "create",
                        ANY,
                        "WarningEvents.record: the first Event of a reason (problems, backends leaving or rejoining rotation)"));
        watched.add(need(Event.class, "", "get", ANY, "WarningEvents.record: the same reason again (edit)"));
        watched.add(need(Event.class, "", "patch", ANY, "WarningEvents.record: count and lastTimestamp (edit)"));
        watched.add(need(
                Secret.class,
                "",
                "get",
                ANY,
                "CaBundles.read and TlsSecrets.check: the Secrets spec.backendTLS.caBundle and spec.tls name"));
        watched.add(
                need(ConfigMap.class, "", "get", ANY, "CaBundles.read: the ConfigMap spec.backendTLS.caBundle names"));
        // Ownership.check reads each derived object (get: granted with the informers) and puts lost labels back
        // with an edit, a JSON patch: a verb the dependents written by update (ConfigMaps) do not need themselves.
        for (DependentResourceSpec<?, ?, ?> spec : specs) {
            Class<? extends HasMetadata> type = resourceType(instantiate(spec.getDependentResourceClass()));
            watched.add(need(type, "", "get", ANY, "Ownership.check"));
            watched.add(need(type, "", "patch", ANY, "Ownership.relabel"));
        }
        clusterScoped.add(need(
                CustomResourceDefinition.class,
                "",
                "get",
                HasMetadata.getFullResourceName(ServiceMonitor.class),
                "ServiceMonitorCrd.present"));

        // Leader election (the Lease LEADER_ELECTION_LEASE names, in POD_NAMESPACE): JOSDK's LeaderElectionManager
        // checks
        // for get, create and update before it starts; Fabric8's LeaseLock creates the Lease, reads it and renews
        // it with a JSON merge patch. A create names no object, so it cannot be limited to one. (The check itself
        // creates a SelfSubjectRulesReview, which every authenticated user may: the system:basic-user ClusterRole.)
        Set<Need> lease = new LinkedHashSet<>();
        String leaseName = LEASE;
        lease.add(need(Lease.class, "", "create", ANY, "Fabric8 LeaseLock.create"));
        lease.add(need(Lease.class, "", "get", leaseName, "JOSDK's lease check and Fabric8 LeaseLock.get"));
        lease.add(need(Lease.class, "", "update", leaseName, "JOSDK's lease check (LeaderElectionManager)"));
        lease.add(need(Lease.class, "", "patch", leaseName, "Fabric8 LeaseLock.update (JSON merge patch)"));

        return new Needs(Set.copyOf(watched), Set.copyOf(clusterScoped), Set.copyOf(lease));
    }

    /**
     * The calls the operator's code makes through a client rather than through JOSDK, by source file: how many
     * there are in each. {@link #derive()} lists their permissions by hand ({@link #DIRECT_CALLS}); a test compares
     * this with {@link #DIRECT_CALLS}, so that a new direct call fails until its permission is added.
     */
    public static Map<String, Integer> directApiCalls() {
        Map<String, Integer> calls = new TreeMap<>();
        try (Stream<Path> files = Files.walk(OPERATOR_SOURCES)) {
            for (Path file : files.filter(f -> f.toString().endsWith(".java")).toList()) {
                Matcher m = CLIENT_CALL.matcher(Files.readString(file));
                int count = 0;
                while (m.find()) {
                    count++;
                }
                if (count > 0) {
                    calls.put(file.getFileName().toString(), count);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return calls;
    }

    // ---------------------------------------------------------------- helpers

    private static void read(Set<Need> needs, Class<? extends HasMetadata> type, String why) {
        READ.forEach(verb -> needs.add(need(type, "", verb, ANY, why)));
    }

    private static Need need(
            Class<? extends HasMetadata> type, String subresource, String verb, String name, String why) {
        return new Need(HasMetadata.getGroup(type), HasMetadata.getPlural(type) + subresource, verb, name, why);
    }

    /**
     * Whether JOSDK's workflow deletes this dependent: when its own reconcile precondition does not hold, or when a
     * dependent it depends on (directly or not) has a reconcile precondition or an activation condition that does
     * not hold (WorkflowReconcileExecutor.markDependentsForDelete).
     */
    private static boolean deletedByWorkflow(
            DependentResourceSpec<?, ?, ?> spec, Map<String, DependentResourceSpec<?, ?, ?>> byName) {
        if (spec.getReconcileCondition() != null) {
            return true;
        }
        Deque<String> todo = new ArrayDeque<>(spec.getDependsOn());
        Set<String> seen = new java.util.HashSet<>();
        while (!todo.isEmpty()) {
            DependentResourceSpec<?, ?, ?> parent = byName.get(todo.pop());
            if (parent == null || !seen.add(parent.getName())) {
                continue;
            }
            if (parent.getReconcileCondition() != null || parent.getActivationCondition() != null) {
                return true;
            }
            todo.addAll(parent.getDependsOn());
        }
        return false;
    }

    private static DependentResource<?, ?> instantiate(Class<?> type) {
        try {
            return (DependentResource<?, ?>) type.getDeclaredConstructor().newInstance();
        } catch (ReflectiveOperationException e) {
            throw new AssertionError("cannot instantiate dependent " + type.getName(), e);
        }
    }

    @SuppressWarnings("unchecked")
    private static Class<? extends HasMetadata> resourceType(DependentResource<?, ?> dependent) {
        return (Class<? extends HasMetadata>) dependent.resourceType();
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private static Class<? extends KubernetesDependentResource> kubernetesDependentClass(Class<?> type) {
        return (Class<? extends KubernetesDependentResource>) type;
    }

    /** Calls prepareEventSources as JOSDK does at registration; nothing connects (the client is never used). */
    @SuppressWarnings("unchecked")
    private static List<EventSource<?, LoadBalancer>> eventSources(
            LoadBalancerReconciler reconciler, ControllerConfiguration<LoadBalancer> controller) {
        IndexerResourceCache<LoadBalancer> primaryCache = (IndexerResourceCache<LoadBalancer>) Proxy.newProxyInstance(
                OperatorPermissions.class.getClassLoader(),
                new Class<?>[] {IndexerResourceCache.class},
                (proxy, method, args) -> null);
        Config config = new ConfigBuilder(Config.empty())
                .withMasterUrl("https://127.0.0.1:9/")
                .build();
        try (KubernetesClient client =
                new KubernetesClientBuilder().withConfig(config).build()) {
            return reconciler.prepareEventSources(
                    new EventSourceContext<>(primaryCache, controller, client, LoadBalancer.class));
        }
    }

    private static LoadBalancer sampleLoadBalancer() {
        LoadBalancer lb = new LoadBalancer();
        lb.setMetadata(new ObjectMetaBuilder()
                .withName("demo")
                .withNamespace("team-a")
                .withUid("0000")
                .build());
        lb.setSpec(new dev.roundhouse.operator.api.v1alpha1.LoadBalancerSpec());
        return lb;
    }
}
