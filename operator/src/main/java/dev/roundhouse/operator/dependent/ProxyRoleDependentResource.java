package dev.roundhouse.operator.dependent;

import dev.roundhouse.operator.api.v1alpha1.LoadBalancer;
import dev.roundhouse.operator.model.ProxyRbac;
import io.fabric8.kubernetes.api.model.rbac.Role;
import io.javaoperatorsdk.operator.api.config.informer.Informer;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.processing.dependent.kubernetes.KubernetesDependent;

/** Lets the proxies read and watch their own pool ConfigMap, and nothing else. */
@KubernetesDependent(informer = @Informer(labelSelector = Managed.SELECTOR))
public class ProxyRoleDependentResource extends ControlledDependentResource<Role> {

    @Override
    protected Role desired(LoadBalancer lb, Context<LoadBalancer> context) {
        return ProxyRbac.role(lb);
    }
}
