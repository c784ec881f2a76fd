package dev.roundhouse.operator.dependent;

import dev.roundhouse.operator.api.v1alpha1.LoadBalancer;
import dev.roundhouse.operator.model.ServiceMonitors;
import io.fabric8.openshift.api.model.monitoring.v1.ServiceMonitor;
import io.javaoperatorsdk.operator.api.config.informer.Informer;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.processing.dependent.kubernetes.KubernetesDependent;

/**
 * A Prometheus Operator ServiceMonitor, only while {@code metrics.serviceMonitor.enabled} is true
 * (see {@link ServiceMonitorEnabled}) and only where its CRD exists (the workflow's activation
 * condition); otherwise the LoadBalancer's status says why there is none.
 */
@KubernetesDependent(informer = @Informer(labelSelector = Managed.SELECTOR))
public class ServiceMonitorDependentResource extends ControlledDependentResource<ServiceMonitor> {

    @Override
    protected ServiceMonitor desired(LoadBalancer lb, Context<LoadBalancer> context) {
        return ServiceMonitors.desired(lb);
    }
}
