package dev.roundhouse.operator.dependent;

import dev.roundhouse.operator.api.v1alpha1.LoadBalancer;
import dev.roundhouse.operator.model.ProxyDisruptionBudgets;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import io.javaoperatorsdk.operator.api.config.informer.Informer;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.processing.dependent.kubernetes.KubernetesDependent;

/** The proxies' PodDisruptionBudget, while the LoadBalancer has two replicas or more. */
@KubernetesDependent(informer = @Informer(labelSelector = Managed.SELECTOR))
public class ProxyDisruptionBudgetDependentResource extends ControlledDependentResource<PodDisruptionBudget> {

    @Override
    protected PodDisruptionBudget desired(LoadBalancer lb, Context<LoadBalancer> context) {
        return ProxyDisruptionBudgets.desired(lb);
    }
}
