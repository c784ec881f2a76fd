package dev.roundhouse.operator.model;

import dev.roundhouse.operator.api.v1alpha1.LoadBalancer;
import dev.roundhouse.operator.api.v1alpha1.MetricsSpec;
import dev.roundhouse.operator.api.v1alpha1.ServiceMonitorSpec;
import io.fabric8.openshift.api.model.monitoring.v1.ServiceMonitor;
import io.fabric8.openshift.api.model.monitoring.v1.ServiceMonitorBuilder;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/** The Prometheus Operator ServiceMonitor that scrapes a LoadBalancer's proxies through its metrics Service. */
public final class ServiceMonitors {

    static final String DEFAULT_INTERVAL = "30s";

    private ServiceMonitors() {}

    /** Whether the LoadBalancer asks for a ServiceMonitor (off unless enabled). */
    public static boolean enabled(LoadBalancer lb) {
        return settings(lb).map(ServiceMonitorSpec::getEnabled).orElse(false);
    }

    public static ServiceMonitor desired(LoadBalancer lb) {
        Optional<ServiceMonitorSpec> settings = settings(lb);
        // Extra labels first, so they cannot override the labels every Roundhouse object carries.
        Map<String, String> labels =
                new TreeMap<>(settings.map(ServiceMonitorSpec::getLabels).orElse(Map.of()));
        labels.putAll(Labels.all(lb));
        // No owner reference here: JOSDK adds it to dependents.
        return new ServiceMonitorBuilder()
                .withNewMetadata()
                .withName(Names.serviceMonitor(lb))
                .withNamespace(lb.getMetadata().getNamespace())
                .withLabels(labels)
                .endMetadata()
                .withNewSpec()
                // Exactly this LoadBalancer's metrics Service: the traffic Service has another component label.
                .withNewSelector()
                .withMatchLabels(Labels.metricsServiceSelector(lb))
                .endSelector()
                .addNewEndpoint()
                .withPort(Names.METRICS_PORT_NAME)
                .withPath("/metrics")
                .withInterval(settings.map(ServiceMonitorSpec::getInterval).orElse(DEFAULT_INTERVAL))
                .endEndpoint()
                .endSpec()
                .build();
    }

    private static Optional<ServiceMonitorSpec> settings(LoadBalancer lb) {
        return Optional.ofNullable(lb.getSpec().getMetrics()).map(MetricsSpec::getServiceMonitor);
    }
}
