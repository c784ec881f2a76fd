package dev.roundhouse.operator.dependent;

import dev.roundhouse.operator.api.v1alpha1.LoadBalancer;
import dev.roundhouse.operator.model.ProxyServices;
import io.fabric8.kubernetes.api.model.Service;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.processing.dependent.kubernetes.KubernetesDependent;

/** The Service in front of the proxies, which clients address (the traffic port only). */
// Watched through the reconciler's shared "proxy-services" informer (label selector Managed.SELECTOR).
@KubernetesDependent
public class ProxyServiceDependentResource extends ControlledDependentResource<Service> {

    @Override
    protected Service desired(LoadBalancer lb, Context<LoadBalancer> context) {
        return ProxyServices.desired(lb);
    }
}
