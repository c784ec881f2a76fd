package dev.roundhouse.operator.reconciler;

import dev.roundhouse.operator.api.v1alpha1.LoadBalancer;
import io.javaoperatorsdk.operator.api.reconciler.Context;

/** Whether the Prometheus Operator's ServiceMonitor CRD is installed in the cluster. */
final class ServiceMonitorCrd {

    static final String NAME = "servicemonitors.monitoring.coreos.com";

    private ServiceMonitorCrd() {}

    /** Asked only for LoadBalancers that request a ServiceMonitor. */
    static boolean present(Context<LoadBalancer> context) {
        return context.getClient()
                        .apiextensions()
                        .v1()
                        .customResourceDefinitions()
                        .withName(NAME)
                        .get()
                != null;
    }
}
