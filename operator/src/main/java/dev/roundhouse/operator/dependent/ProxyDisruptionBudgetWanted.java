package dev.roundhouse.operator.dependent;

import dev.roundhouse.operator.api.v1alpha1.LoadBalancer;
import dev.roundhouse.operator.model.ProxyDisruptionBudgets;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.dependent.DependentResource;
import io.javaoperatorsdk.operator.processing.dependent.workflow.Condition;

/** True with two proxy replicas or more; below that, the budget is deleted (it would block every drain). */
public class ProxyDisruptionBudgetWanted implements Condition<PodDisruptionBudget, LoadBalancer> {

    @Override
    public boolean isMet(
            DependentResource<PodDisruptionBudget, LoadBalancer> dependentResource,
            LoadBalancer primary,
            Context<LoadBalancer> context) {
        return ProxyDisruptionBudgets.wanted(primary);
    }
}
