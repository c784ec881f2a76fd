package dev.roundhouse.operator.dependent;

import dev.roundhouse.operator.api.v1alpha1.LoadBalancer;
import dev.roundhouse.operator.model.ProxyServices;
import io.fabric8.kubernetes.api.model.Service;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.processing.dependent.kubernetes.KubernetesDependent;

/** The ClusterIP Service of the proxies' metrics port, which the ServiceMonitor selects. */
// Watched through the reconciler's shared "proxy-services" informer (label selector Managed.SELECTOR).
@KubernetesDependent
public class ProxyMetricsServiceDependentResource extends ControlledDependentResource<Service> {

    @Override
    protected Service desired(LoadBalancer lb, Context<LoadBalancer> context) {
        return ProxyServices.desiredMetrics(lb);
    }
}
