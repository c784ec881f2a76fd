package dev.roundhouse.operator.reconciler;

import dev.roundhouse.operator.api.v1alpha1.LoadBalancer;
import dev.roundhouse.operator.api.v1alpha1.LoadBalancerStatus;
import dev.roundhouse.operator.dependent.PoolConfigMapDependentResource;
import dev.roundhouse.operator.dependent.ProxyDeploymentDependentResource;
import dev.roundhouse.operator.dependent.ProxyRoleBindingDependentResource;
import dev.roundhouse.operator.dependent.ProxyRoleDependentResource;
import dev.roundhouse.operator.dependent.ProxyServiceAccountDependentResource;
import dev.roundhouse.operator.dependent.ProxyServiceDependentResource;
import dev.roundhouse.operator.dependent.ServiceMonitorDependentResource;
import dev.roundhouse.operator.dependent.ServiceMonitorEnabled;
import dev.roundhouse.operator.model.ServiceMonitors;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.javaoperatorsdk.operator.api.config.informer.InformerEventSourceConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.ErrorStatusUpdateControl;
import io.javaoperatorsdk.operator.api.reconciler.EventSourceContext;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import io.javaoperatorsdk.operator.api.reconciler.Workflow;
import io.javaoperatorsdk.operator.api.reconciler.dependent.Dependent;
import dev.roundhouse.operator.dependent.ServiceMonitorCrdPresent;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import io.javaoperatorsdk.operator.processing.event.source.EventSource;
import io.javaoperatorsdk.operator.processing.event.source.informer.InformerEventSource;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;

import java.time.Clock;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Reconciles a LoadBalancer. The workflow's dependent resources describe the objects; this class
 * only wires the Service and EndpointSlice watches that {@code serviceRef} needs and writes the
 * status, and only when it changed, so a reconcile with nothing to do writes nothing.
 */
@ControllerConfiguration(name = LoadBalancerReconciler.NAME)
@Workflow(dependents = {
        @Dependent(name = "pool", type = PoolConfigMapDependentResource.class),
        @Dependent(name = "service-account", type = ProxyServiceAccountDependentResource.class),
        @Dependent(name = "role", type = ProxyRoleDependentResource.class),
        @Dependent(name = "role-binding", type = ProxyRoleBindingDependentResource.class),
        @Dependent(name = "deployment", type = ProxyDeploymentDependentResource.class),
        @Dependent(name = "service", type = ProxyServiceDependentResource.class),
        @Dependent(name = "service-monitor", type = ServiceMonitorDependentResource.class,
                activationCondition = ServiceMonitorCrdPresent.class,
                reconcilePrecondition = ServiceMonitorEnabled.class)
})
public class LoadBalancerReconciler implements Reconciler<LoadBalancer> {

    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(LoadBalancerReconciler.class);

    public static final String NAME = "loadbalancer";
    static final String BACKEND_SERVICES = "backend-services";
    static final String ENDPOINT_SLICES = "endpoint-slices";
    private static final String SERVICE_REF_INDEX = "serviceRef";
    private static final String SERVICE_NAME_LABEL = "kubernetes.io/service-name";

    private final StatusWriter status;
    private final Counter unchanged;
    private final Counter statusWritten;

    public LoadBalancerReconciler(MeterRegistry registry) {
        this(Clock.systemUTC(), registry);
    }

    public LoadBalancerReconciler(Clock clock, MeterRegistry registry) {
        this.status = new StatusWriter(clock);
        // How often a reconcile found nothing to change: on a GitOps cluster, almost always.
        this.unchanged = Counter.builder("roundhouse.operator.reconciles").tag("status", "unchanged")
                .description("LoadBalancer reconciles, by whether they wrote a new status").register(registry);
        this.statusWritten = Counter.builder("roundhouse.operator.reconciles").tag("status", "written")
                .description("LoadBalancer reconciles, by whether they wrote a new status").register(registry);
    }

    @Override
    public List<EventSource<?, LoadBalancer>> prepareEventSources(EventSourceContext<LoadBalancer> context) {
        // serviceRef: a change to the named Service or its EndpointSlices reconciles the LoadBalancers naming it
        context.getPrimaryCache().addIndexer(SERVICE_REF_INDEX, lb -> lb.getSpec().getServiceRef() == null
                ? List.of()
                : List.of(indexKey(lb.getMetadata().getNamespace(), lb.getSpec().getServiceRef().getName())));
        var services = new InformerEventSource<>(InformerEventSourceConfiguration
                .from(Service.class, LoadBalancer.class)
                .withName(BACKEND_SERVICES)
                .withSecondaryToPrimaryMapper(s -> referencing(context, s, s.getMetadata().getName()))
                .withPrimaryToSecondaryMapper((LoadBalancer lb) -> lb.getSpec().getServiceRef() == null
                        ? Set.of()
                        : Set.of(new ResourceID(lb.getSpec().getServiceRef().getName(), lb.getMetadata().getNamespace())))
                .build(), context);
        var slices = new InformerEventSource<>(InformerEventSourceConfiguration
                .from(EndpointSlice.class, LoadBalancer.class)
                .withName(ENDPOINT_SLICES)
                .withSecondaryToPrimaryMapper(s -> referencing(context, s, serviceNameOf(s)))
                .build(), context);
        return List.of(services, slices);
    }

    private static Set<ResourceID> referencing(EventSourceContext<LoadBalancer> context, HasMetadata object,
                                               String serviceName) {
        if (serviceName == null) {
            return Set.of();
        }
        return context.getPrimaryCache()
                .byIndex(SERVICE_REF_INDEX, indexKey(object.getMetadata().getNamespace(), serviceName))
                .stream().map(ResourceID::fromResource).collect(Collectors.toSet());
    }

    static String serviceNameOf(EndpointSlice slice) {
        var labels = slice.getMetadata().getLabels();
        return labels == null ? null : labels.get(SERVICE_NAME_LABEL);
    }

    private static String indexKey(String namespace, String name) {
        return namespace + "/" + name;
    }

    @Override
    public UpdateControl<LoadBalancer> reconcile(LoadBalancer lb, Context<LoadBalancer> context) {
        PoolResolution pool = PoolResolution.of(lb, context);
        Deployment deployment = context.getSecondaryResource(Deployment.class).orElse(null);
        boolean serviceMonitorMissing = ServiceMonitors.enabled(lb) && !ServiceMonitorCrd.present(context);
        LoadBalancerStatus next = status.next(lb, pool, deployment, serviceMonitorMissing);
        if (next.equals(lb.getStatus())) {
            log.debug("Reconciled {}/{}: status unchanged", lb.getMetadata().getNamespace(), lb.getMetadata().getName());
            unchanged.increment();
            return UpdateControl.noUpdate();
        }
        log.debug("Reconciled {}/{}: writing status", lb.getMetadata().getNamespace(), lb.getMetadata().getName());
        statusWritten.increment();
        status.recordEventIfNewProblem(lb, next, context);
        return UpdateControl.patchStatus(statusPatch(lb, next));
    }

    @Override
    public ErrorStatusUpdateControl<LoadBalancer> updateErrorStatus(LoadBalancer lb, Context<LoadBalancer> context,
                                                                    Exception e) {
        LoadBalancerStatus next = status.failed(lb, e);
        if (next.equals(lb.getStatus())) {
            return ErrorStatusUpdateControl.defaultErrorProcessing();
        }
        return ErrorStatusUpdateControl.patchStatus(statusPatch(lb, next));
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
