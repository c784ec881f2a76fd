package dev.roundhouse.operator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Pattern;
import java.util.Map;

/** Prometheus Operator ServiceMonitor settings. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class ServiceMonitorSpec {

    @JsonPropertyDescription("Create a ServiceMonitor (needs the monitoring.coreos.com CRDs).")
    @Default("false")
    private Boolean enabled;

    @JsonPropertyDescription("Scrape interval.")
    @Default("30s")
    @Pattern("^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$")
    private String interval;

    @JsonPropertyDescription("Extra labels, e.g. the release label your Prometheus selects.")
    private Map<String, String> labels;

    public Boolean getEnabled() {
        return enabled;
    }

    public void setEnabled(Boolean enabled) {
        this.enabled = enabled;
    }

    public String getInterval() {
        return interval;
    }

    public void setInterval(String interval) {
        this.interval = interval;
    }

    public Map<String, String> getLabels() {
        return labels;
    }

    public void setLabels(Map<String, String> labels) {
        this.labels = labels;
    }
}
