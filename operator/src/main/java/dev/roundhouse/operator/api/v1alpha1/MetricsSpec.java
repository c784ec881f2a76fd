package dev.roundhouse.operator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;

/** Metrics scraping. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class MetricsSpec {

    @JsonPropertyDescription("A Prometheus Operator ServiceMonitor for the proxies.")
    private ServiceMonitorSpec serviceMonitor;

    public ServiceMonitorSpec getServiceMonitor() {
        return serviceMonitor;
    }

    public void setServiceMonitor(ServiceMonitorSpec serviceMonitor) {
        this.serviceMonitor = serviceMonitor;
    }
}
