package dev.roundhouse.operator.reconciler;

import dev.roundhouse.operator.OperatorSettings;
import dev.roundhouse.operator.api.v1alpha1.LoadBalancer;
import dev.roundhouse.operator.api.v1alpha1.LoadBalancerStatus;
import dev.roundhouse.operator.api.v1alpha1.ServiceRefSpec;
import dev.roundhouse.operator.dependent.Managed;
import dev.roundhouse.operator.dependent.PoolConfigMapDependentResource;
import dev.roundhouse.operator.dependent.ProxyDeploymentDependentResource;
import dev.roundhouse.operator.dependent.ProxyDisruptionBudgetDependentResource;
import dev.roundhouse.operator.dependent.ProxyDisruptionBudgetWanted;
import dev.roundhouse.operator.dependent.ProxyMetricsServiceDependentResource;
import dev.roundhouse.operator.dependent.ProxyRoleBindingDependentResource;
import dev.roundhouse.operator.dependent.ProxyRoleDependentResource;
import dev.roundhouse.operator.dependent.ProxyServiceAccountDependentResource;
import dev.roundhouse.operator.dependent.ProxyServiceDependentResource;
import dev.roundhouse.operator.dependent.ServiceMonitorCrdPresent;
import dev.roundhouse.operator.dependent.ServiceMonitorDependentResource;
import dev.roundhouse.operator.dependent.ServiceMonitorEnabled;
import dev.roundhouse.operator.model.Names;
import dev.roundhouse.operator.model.PoolConfigMaps;
import dev.roundhouse.operator.model.ServiceMonitors;
import dev.roundhouse.operator.observe.BackendsFold;
import dev.roundhouse.operator.observe.ProxyEndpoints;
import dev.roundhouse.operator.observe.ProxyStatusWatch;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.javaoperatorsdk.operator.AggregatedOperatorException;
import io.javaoperatorsdk.operator.api.config.informer.InformerEventSourceConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.ErrorStatusUpdateControl;
import io.javaoperatorsdk.operator.api.reconciler.EventSourceContext;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import io.javaoperatorsdk.operator.api.reconciler.Workflow;
import io.javaoperatorsdk.operator.api.reconciler.dependent.Dependent;
import io.javaoperatorsdk.operator.processing.dependent.workflow.WorkflowReconcileResult;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import io.javaoperatorsdk.operator.processing.event.source.EventSource;
import io.javaoperatorsdk.operator.processing.event.source.informer.InformerEventSource;
import io.javaoperatorsdk.operator.processing.event.source.informer.Mappers;
import io.javaoperatorsdk.operator.processing.retry.GradualRetry;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.slf4j.MDC;

/**
 * Reconciles a LoadBalancer. The workflow's dependent resources describe the objects; this class wires the Service
 * and EndpointSlice watches that {@code serviceRef} needs, decides whether the workflow may run at all, and writes
 * the status, only when it changed, so a reconcile with nothing to do writes nothing. The workflow runs all or
 * nothing: not while the spec is invalid (nothing changes, no rollout), and not while another owner's object takes
 * a name the LoadBalancer derives (nothing is created, nothing adopted).
 */
@ControllerConfiguration(name = LoadBalancerReconciler.NAME)
// A failed reconcile is tried again until it succeeds, without waiting for a change: 2 s after the failure, 2 s
// later, then twice as long each time up to 5 minutes. Many failures (an API server refusing, RBAC fixed later) end
// by themselves; JOSDK's default would give up after 5 attempts (about 26 s) and wait for some event.
@GradualRetry(maxAttempts = -1, initialInterval = 2_000, intervalMultiplier = 2.0, maxInterval = 300_000)
// Invoked by reconcile itself, after the checks that must hold before anything is written.
@Workflow(
        explicitInvocation = true,
        handleExceptionsInReconciler = true,
        dependents = {
            @Dependent(name = "pool", type = PoolConfigMapDependentResource.class),
            @Dependent(name = "service-account", type = ProxyServiceAccountDependentResource.class),
            @Dependent(name = "role", type = ProxyRoleDependentResource.class),
            @Dependent(name = "role-binding", type = ProxyRoleBindingDependentResource.class),
            @Dependent(name = "deployment", type = ProxyDeploymentDependentResource.class),
            @Dependent(
                    name = "service",
                    type = ProxyServiceDependentResource.class,
                    useEventSourceWithName = LoadBalancerReconciler.PROXY_SERVICES),
            @Dependent(
                    name = "metrics-service",
                    type = ProxyMetricsServiceDependentResource.class,
                    useEventSourceWithName = LoadBalancerReconciler.PROXY_SERVICES),
            @Dependent(
                    name = "disruption-budget",
                    type = ProxyDisruptionBudgetDependentResource.class,
                    reconcilePrecondition = ProxyDisruptionBudgetWanted.class),
            @Dependent(
                    name = "service-monitor",
                    type = ServiceMonitorDependentResource.class,
                    activationCondition = ServiceMonitorCrdPresent.class,
                    reconcilePrecondition = ServiceMonitorEnabled.class)
        })
public class LoadBalancerReconciler implements Reconciler<LoadBalancer> {

    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(LoadBalancerReconciler.class);

    public static final String NAME = "loadbalancer";
    static final String BACKEND_SERVICES = "backend-services";
    static final String ENDPOINT_SLICES = "endpoint-slices";
    /** The proxies' own Services, traffic and metrics: one informer for both dependents. */
    static final String PROXY_SERVICES = "proxy-services";

    private static final String SERVICE_REF_INDEX = "serviceRef";
    private static final String METRICS_SERVICE_INDEX = "metricsService";
    private static final String SERVICE_NAME_LABEL = "kubernetes.io/service-name";

    /** The log fields (MDC keys) naming the LoadBalancer a failure is logged for. */
    static final String LOG_NAMESPACE = "loadbalancer.namespace";

    static final String LOG_NAME = "loadbalancer.name";

    /** How soon a LoadBalancer whose derived name another object takes is looked at again. */
    static final Duration NAME_CONFLICT_RECHECK = Duration.ofSeconds(5);
    /** How soon after putting labels back: the relabelled objects are in the caches again by then. */
    static final Duration RELABELLED_RECHECK = Duration.ofSeconds(1);

    private final OperatorSettings settings;
    private final Clock clock;
    private final StatusWriter status;
    private final Counter unchanged;
    private final Counter statusWritten;
    private final ProxyStatusWatch proxyStatus;
    private final ReconcileGate gate = new ReconcileGate();
    /**
     * The failure last logged for each failing LoadBalancer, until it reconciles again. The status says it
     * too, but a reconcile that follows at once (another event) may start from a cached LoadBalancer that does not
     * show the status the failure before it wrote yet, and must not log the same failure twice. An entry outlives a
     * LoadBalancer deleted while failing: one line of text.
     */
    private final Map<String, String> failureLogged = new ConcurrentHashMap<>();

    public LoadBalancerReconciler(MeterRegistry registry, OperatorSettings settings) {
        this(Clock.systemUTC(), registry, settings);
    }

    public LoadBalancerReconciler(Clock clock, MeterRegistry registry, OperatorSettings settings) {
        this(clock, registry, settings, new ProxyStatusWatch());
    }

    public LoadBalancerReconciler(
            Clock clock, MeterRegistry registry, OperatorSettings settings, ProxyStatusWatch proxyStatus) {
        this.proxyStatus = proxyStatus;
        this.settings = settings;
        this.clock = clock;
        this.status = new StatusWriter(clock);
        // How often a reconcile found nothing to change: on a GitOps cluster, almost always.
        this.unchanged = Counter.builder("roundhouse.operator.reconciles")
                .tag("status", "unchanged")
                .description("LoadBalancer reconciles, by whether they wrote a new status")
                .register(registry);
        this.statusWritten = Counter.builder("roundhouse.operator.reconciles")
                .tag("status", "written")
                .description("LoadBalancer reconciles, by whether they wrote a new status")
                .register(registry);
    }

    @Override
    public List<EventSource<?, LoadBalancer>> prepareEventSources(EventSourceContext<LoadBalancer> context) {
        // serviceRef: a change to the named Service or its EndpointSlices reconciles the LoadBalancers naming it
        context.getPrimaryCache()
                .addIndexer(
                        SERVICE_REF_INDEX,
                        lb -> serviceRef(lb) == null
                                ? List.of()
                                : List.of(indexKey(
                                        lb.getMetadata().getNamespace(),
                                        lb.getSpec().getServiceRef().getName())));
        // and the proxies' metrics Service's EndpointSlices reconcile their LoadBalancer: its proxies to watch
        context.getPrimaryCache()
                .addIndexer(
                        METRICS_SERVICE_INDEX,
                        lb -> List.of(indexKey(lb.getMetadata().getNamespace(), Names.metricsService(lb))));
        var services = new InformerEventSource<>(
                InformerEventSourceConfiguration.from(Service.class, LoadBalancer.class)
                        .withName(BACKEND_SERVICES)
                        .withItemStore(TrimmedStore.services())
                        .withSecondaryToPrimaryMapper(
                                s -> referencing(context, s, s.getMetadata().getName()))
                        .withPrimaryToSecondaryMapper((LoadBalancer lb) -> serviceRef(lb) == null
                                ? Set.of()
                                : Set.of(new ResourceID(
                                        lb.getSpec().getServiceRef().getName(),
                                        lb.getMetadata().getNamespace())))
                        .build(),
                context);
        // The proxies' two Services (traffic and metrics), watched and cached once for both dependents.
        var proxyServices = new InformerEventSource<>(
                InformerEventSourceConfiguration.from(Service.class, LoadBalancer.class)
                        .withName(PROXY_SERVICES)
                        .withLabelSelector(Managed.SELECTOR)
                        .withSecondaryToPrimaryMapper(Mappers.fromOwnerReferences(LoadBalancer.class))
                        .build(),
                context);
        var slices = new InformerEventSource<>(
                InformerEventSourceConfiguration.from(EndpointSlice.class, LoadBalancer.class)
                        .withName(ENDPOINT_SLICES)
                        .withItemStore(TrimmedStore.endpointSlices())
                        .withSecondaryToPrimaryMapper(s -> {
                            Set<ResourceID> ids = new java.util.HashSet<>(referencing(context, s, serviceNameOf(s)));
                            ids.addAll(referencing(context, s, serviceNameOf(s), METRICS_SERVICE_INDEX));
                            return ids;
                        })
                        .build(),
                context);
        return List.of(services, proxyServices, slices, proxyStatus);
    }

    private static Set<ResourceID> referencing(
            EventSourceContext<LoadBalancer> context, HasMetadata object, String serviceName) {
        return referencing(context, object, serviceName, SERVICE_REF_INDEX);
    }

    private static Set<ResourceID> referencing(
            EventSourceContext<LoadBalancer> context, HasMetadata object, String serviceName, String index) {
        if (serviceName == null) {
            return Set.of();
        }
        return context
                .getPrimaryCache()
                .byIndex(index, indexKey(object.getMetadata().getNamespace(), serviceName))
                .stream()
                .map(ResourceID::fromResource)
                .collect(Collectors.toSet());
    }

    /** Null-safe: an object stored before the CRD required a spec has none, and must not stop an informer. */
    private static ServiceRefSpec serviceRef(LoadBalancer lb) {
        return lb.getSpec() == null ? null : lb.getSpec().getServiceRef();
    }

    static String serviceNameOf(EndpointSlice slice) {
        var labels = slice.getMetadata().getLabels();
        return labels == null ? null : labels.get(SERVICE_NAME_LABEL);
    }

    private static String indexKey(String namespace, String name) {
        return namespace + "/" + name;
    }

    /**
     * Lets no more reconciles run and waits for those in flight, at most {@code atMost}: called as the operator stops,
     * before JOSDK stops its informers and executors under them.
     *
     * @return how many were still running when the wait ended
     */
    public int stopReconciling(Duration atMost) {
        return gate.close(atMost);
    }

    @Override
    public UpdateControl<LoadBalancer> reconcile(LoadBalancer lb, Context<LoadBalancer> context) {
        if (!gate.enter()) {
            return UpdateControl.noUpdate(); // stopping: the next operator reconciles it
        }
        try {
            UpdateControl<LoadBalancer> done = reconcileNow(lb, context);
            failureLogged.remove(failureKey(lb));
            return done;
        } finally {
            gate.exit();
        }
    }

    private UpdateControl<LoadBalancer> reconcileNow(LoadBalancer lb, Context<LoadBalancer> context) {
        PoolResolution pool = PoolResolution.of(lb, context);
        context.managedWorkflowAndDependentResourceContext().put(PoolResolution.KEY, pool);
        context.managedWorkflowAndDependentResourceContext().put(OperatorSettings.KEY, settings);
        Deployment deployment = context.getSecondaryResource(Deployment.class).orElse(null);
        if (pool.invalidSpec()) {
            boolean applied = context.getSecondaryResource(ConfigMap.class).isPresent() || deployment != null;
            return write(lb, status.held(lb, pool, deployment, applied), context);
        }
        boolean serviceMonitorWanted = ServiceMonitors.enabled(lb);
        boolean serviceMonitorCrd = serviceMonitorWanted && ServiceMonitorCrd.present(context);
        Ownership.Result owned = Ownership.check(lb, context, serviceMonitorCrd);
        if (!owned.clashes().isEmpty()) {
            // Nothing tells the operator when the other object goes, so it looks again a little later.
            return write(lb, status.nameConflict(lb, owned.clashes(), deployment), context)
                    .rescheduleAfter(NAME_CONFLICT_RECHECK);
        }
        if (owned.relabelled() > 0) {
            log.info(
                    "Relabelled {} object(s) of {}/{} that had lost the operator's labels",
                    owned.relabelled(),
                    lb.getMetadata().getNamespace(),
                    lb.getMetadata().getName());
            return UpdateControl.<LoadBalancer>noUpdate().rescheduleAfter(RELABELLED_RECHECK);
        }
        // What the proxies keep while the pool cannot be resolved (the status says so), read only then: the workflow
        // leaves the pool in place in that case, and parsing it on every reconcile would cost for nothing.
        int inPlace = pool.problem() == null
                ? 0
                : PoolConfigMaps.backendsIn(
                        context.getSecondaryResource(ConfigMap.class).orElse(null));
        TlsSecrets tls = TlsSecrets.check(lb, context.getClient(), clock.instant());
        context.managedWorkflowAndDependentResourceContext().put(TlsSecrets.KEY, tls);
        WorkflowReconcileResult result;
        try {
            result = context.managedWorkflowAndDependentResourceContext().reconcileManagedWorkflow();
        } catch (AggregatedOperatorException e) {
            var failed = e.getAggregatedExceptions().entrySet().iterator().next();
            throw new DependentFailure(describe(failed.getKey(), lb), failed.getValue());
        }
        if (result.erroredDependentsExist()) {
            var failed = result.getErroredDependents().entrySet().iterator().next();
            throw new DependentFailure(describe(failed.getKey().name(), lb), failed.getValue());
        }
        deployment = context.getSecondaryResource(Deployment.class).orElse(deployment);
        BackendsFold.Folded backends = watchProxies(lb, pool, context);
        UpdateControl<LoadBalancer> done = write(
                lb,
                status.next(lb, pool, tls, deployment, inPlace, serviceMonitorWanted && !serviceMonitorCrd, backends),
                context);
        // Nothing tells the operator when a CA bundle or a TLS Secret changes (it watches no Secrets): it reads them
        // again later.
        return Stream.concat(CaBundles.recheck(lb).stream(), tls.recheck(lb).stream())
                .min(Duration::compareTo)
                .map(done::rescheduleAfter)
                .orElse(done);
    }

    /**
     * Watches the ready proxies (the ready endpoints of their metrics Service) for the pool's backends, and returns
     * the view of them last published, or null before there is one: it changes at most once every 10 s, so backends
     * that flap cannot make the status do so.
     */
    private BackendsFold.Folded watchProxies(LoadBalancer lb, PoolResolution pool, Context<LoadBalancer> context) {
        ResourceID id = ResourceID.fromResource(lb);
        String metricsService = Names.metricsService(lb);
        @SuppressWarnings("unchecked")
        var slices = (InformerEventSource<EndpointSlice, LoadBalancer>)
                context.eventSourceRetriever().getEventSourceFor(EndpointSlice.class, ENDPOINT_SLICES);
        List<java.net.URI> proxies = ProxyEndpoints.ready(
                slices.list(lb.getMetadata().getNamespace(), s -> metricsService.equals(serviceNameOf(s)))
                        .toList(),
                Names.METRICS_PORT_NAME);
        List<String> urls = pool.backendKeys();
        proxyStatus.track(lb, proxies, urls);
        // Null until the ready proxies have answered once (since this operator started): the status keeps what it
        // says meanwhile, so that a restart over unchanged backends writes nothing.
        return proxyStatus.published(id);
    }

    /** Patches the status when it changed (recording a Warning Event when Ready turns False for a new reason). */
    private UpdateControl<LoadBalancer> write(LoadBalancer lb, LoadBalancerStatus next, Context<LoadBalancer> context) {
        if (next.equals(lb.getStatus())) {
            log.debug(
                    "Reconciled {}/{}: status unchanged",
                    lb.getMetadata().getNamespace(),
                    lb.getMetadata().getName());
            unchanged.increment();
            return UpdateControl.noUpdate();
        }
        log.debug(
                "Reconciled {}/{}: writing status",
                lb.getMetadata().getNamespace(),
                lb.getMetadata().getName());
        statusWritten.increment();
        status.recordEventIfNewProblem(lb, next, context.getClient());
        status.recordBackendEvents(lb, next, context.getClient());
        return UpdateControl.patchStatus(statusPatch(lb, next));
    }

    /** A dependent (by its name in the workflow) as users know its object: {@code Deployment shop/web-proxy}. */
    private static String describe(String dependent, LoadBalancer lb) {
        String namespace = lb.getMetadata().getNamespace() + "/";
        return switch (dependent) {
            case "pool" -> "ConfigMap " + namespace + Names.poolConfigMap(lb);
            case "service-account" -> "ServiceAccount " + namespace + Names.serviceAccount(lb);
            case "role" -> "Role " + namespace + Names.role(lb);
            case "role-binding" -> "RoleBinding " + namespace + Names.roleBinding(lb);
            case "deployment" -> "Deployment " + namespace + Names.deployment(lb);
            case "service" -> "Service " + namespace + Names.service(lb);
            case "metrics-service" -> "Service " + namespace + Names.metricsService(lb);
            case "disruption-budget" -> "PodDisruptionBudget " + namespace + Names.disruptionBudget(lb);
            case "service-monitor" -> "ServiceMonitor " + namespace + Names.serviceMonitor(lb);
            default ->
                "the " + dependent + " of " + namespace + lb.getMetadata().getName();
        };
    }

    @Override
    public ErrorStatusUpdateControl<LoadBalancer> updateErrorStatus(
            LoadBalancer lb, Context<LoadBalancer> context, Exception e) {
        if (gate.closed()) {
            // A reconcile that ran into the stop is not a failure of the LoadBalancer's: nothing is written or retried.
            return ErrorStatusUpdateControl.<LoadBalancer>noStatusUpdate().withNoRetry();
        }
        LoadBalancerStatus next = status.failed(lb, e);
        if (next.equals(lb.getStatus())) {
            return ErrorStatusUpdateControl.defaultErrorProcessing();
        }
        // Once per distinct failure, in full; the condition and the Event say it in a line. The LoadBalancer goes in as
        // fields of their own (the JSON layout's labels), so log queries can select by it.
        String said = StatusWriter.shortMessage(e);
        if (!said.equals(failureLogged.put(failureKey(lb), said))) {
            try (var namespace =
                            MDC.putCloseable(LOG_NAMESPACE, lb.getMetadata().getNamespace());
                    var name = MDC.putCloseable(LOG_NAME, lb.getMetadata().getName())) {
                log.error(
                        "Reconciling LoadBalancer {}/{} failed: {}",
                        lb.getMetadata().getNamespace(),
                        lb.getMetadata().getName(),
                        said,
                        e);
            }
        }
        status.recordEventIfNewProblem(lb, next, context.getClient());
        return ErrorStatusUpdateControl.patchStatus(statusPatch(lb, next));
    }

    /** A LoadBalancer, told apart from one deleted and made again under its name. */
    private static String failureKey(LoadBalancer lb) {
        return lb.getMetadata().getNamespace() + "/" + lb.getMetadata().getName() + "/"
                + lb.getMetadata().getUid();
    }

    /** Only name, namespace and status: what the operator owns of the LoadBalancer (applied as its field manager). */
    private static LoadBalancer statusPatch(LoadBalancer lb, LoadBalancerStatus status) {
        LoadBalancer patch = new LoadBalancer();
        patch.setMetadata(new ObjectMetaBuilder()
                .withName(lb.getMetadata().getName())
                .withNamespace(lb.getMetadata().getNamespace())
                .build());
        patch.setStatus(status);
        return patch;
    }
}
