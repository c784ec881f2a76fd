package dev.roundhouse.operator.dependent;

import dev.roundhouse.operator.api.v1alpha1.LoadBalancer;
import dev.roundhouse.operator.model.ProxyRbac;
import io.fabric8.kubernetes.api.model.rbac.RoleBinding;
import io.javaoperatorsdk.operator.api.config.informer.Informer;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.processing.dependent.kubernetes.KubernetesDependent;

/** Binds the proxies' Role to their ServiceAccount. */
@KubernetesDependent(informer = @Informer(labelSelector = Managed.SELECTOR))
public class ProxyRoleBindingDependentResource extends ControlledDependentResource<RoleBinding> {

    @Override
    protected RoleBinding desired(LoadBalancer lb, Context<LoadBalancer> context) {
        return ProxyRbac.roleBinding(lb);
    }
}
