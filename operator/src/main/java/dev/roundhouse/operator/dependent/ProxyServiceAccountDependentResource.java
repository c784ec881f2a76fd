package dev.roundhouse.operator.dependent;

import dev.roundhouse.operator.api.v1alpha1.LoadBalancer;
import dev.roundhouse.operator.model.ProxyRbac;
import io.fabric8.kubernetes.api.model.ServiceAccount;
import io.javaoperatorsdk.operator.api.config.informer.Informer;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.processing.dependent.kubernetes.KubernetesDependent;

/** The identity the proxies watch their ConfigMap with. */
@KubernetesDependent(informer = @Informer(labelSelector = Managed.SELECTOR))
public class ProxyServiceAccountDependentResource extends ControlledDependentResource<ServiceAccount> {

    @Override
    protected ServiceAccount desired(LoadBalancer lb, Context<LoadBalancer> context) {
        return ProxyRbac.serviceAccount(lb);
    }
}
