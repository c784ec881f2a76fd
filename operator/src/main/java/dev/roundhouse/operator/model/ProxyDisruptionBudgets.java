package dev.roundhouse.operator.model;

import dev.roundhouse.operator.api.v1alpha1.LoadBalancer;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudgetBuilder;

/**
 * The PodDisruptionBudget of a LoadBalancer's proxies: a node drain takes at most one at a time, so one
 * {@code kubectl drain} cannot take every proxy. Only with two replicas or more: with one, a budget of none
 * unavailable would block every drain.
 */
public final class ProxyDisruptionBudgets {

    private ProxyDisruptionBudgets() {}

    public static boolean wanted(LoadBalancer lb) {
        return ProxyDeployments.replicas(lb.getSpec()) >= 2;
    }

    public static PodDisruptionBudget desired(LoadBalancer lb) {
        // No owner reference here: JOSDK adds it to dependents.
        return new PodDisruptionBudgetBuilder()
                .withNewMetadata()
                .withName(Names.disruptionBudget(lb))
                .withNamespace(lb.getMetadata().getNamespace())
                .withLabels(Labels.all(lb))
                .endMetadata()
                .withNewSpec()
                .withMaxUnavailable(new IntOrString(1))
                .withNewSelector()
                .withMatchLabels(Labels.selector(lb))
                .endSelector()
                .endSpec()
                .build();
    }
}
