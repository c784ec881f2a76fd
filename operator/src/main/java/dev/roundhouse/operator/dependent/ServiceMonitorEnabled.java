package dev.roundhouse.operator.dependent;

import dev.roundhouse.operator.api.v1alpha1.LoadBalancer;
import dev.roundhouse.operator.model.ServiceMonitors;
import io.fabric8.openshift.api.model.monitoring.v1.ServiceMonitor;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.dependent.DependentResource;
import io.javaoperatorsdk.operator.processing.dependent.workflow.Condition;

/** True when the LoadBalancer asks for a ServiceMonitor; when it stops asking, it is deleted. */
public class ServiceMonitorEnabled implements Condition<ServiceMonitor, LoadBalancer> {

    @Override
    public boolean isMet(
            DependentResource<ServiceMonitor, LoadBalancer> dependentResource,
            LoadBalancer primary,
            Context<LoadBalancer> context) {
        return ServiceMonitors.enabled(primary);
    }
}
