package dev.roundhouse.operator.dependent;

import io.javaoperatorsdk.operator.processing.dependent.workflow.CRDPresentActivationCondition;
import java.time.Duration;

/**
 * Activates the ServiceMonitor dependent once the Prometheus Operator's CRD exists. JOSDK's
 * default gives up after ten checks; clusters get the Prometheus Operator installed at any time,
 * so this one keeps checking, at most every 30 s and only while reconciling.
 */
public class ServiceMonitorCrdPresent
        extends CRDPresentActivationCondition<
                io.fabric8.openshift.api.model.monitoring.v1.ServiceMonitor,
                dev.roundhouse.operator.api.v1alpha1.LoadBalancer> {

    public ServiceMonitorCrdPresent() {
        super(Integer.MAX_VALUE, Duration.ofSeconds(30));
    }
}
