package dev.roundhouse.operator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.kubernetes.api.model.Affinity;
import io.fabric8.kubernetes.api.model.LocalObjectReference;
import io.fabric8.kubernetes.api.model.Toleration;
import io.fabric8.kubernetes.api.model.TopologySpreadConstraint;
import java.util.List;
import java.util.Map;

/** Where and how the proxy pods run: what a platform team sets on pods, passed through to the pod template. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class PodTemplateSpec {

    @JsonPropertyDescription("Labels added to the proxy pods (the operator's own labels win over these).")
    private Map<String, String> labels;

    @JsonPropertyDescription("Annotations added to the proxy pods (the Prometheus scrape annotations win over these).")
    private Map<String, String> annotations;

    @JsonPropertyDescription("Secrets to pull the proxy image with, beside the operator's PROXY_IMAGE_PULL_SECRETS.")
    private List<LocalObjectReference> imagePullSecrets;

    @JsonPropertyDescription("Nodes the proxy pods may run on, by node labels.")
    private Map<String, String> nodeSelector;

    @JsonPropertyDescription("Taints the proxy pods tolerate.")
    private List<Toleration> tolerations;

    @JsonPropertyDescription("Node and pod affinity of the proxy pods.")
    private Affinity affinity;

    @JsonPropertyDescription("How the proxy pods spread; when empty, a soft spread across nodes and zones.")
    private List<TopologySpreadConstraint> topologySpreadConstraints;

    @JsonPropertyDescription("PriorityClass of the proxy pods.")
    private String priorityClassName;

    public Map<String, String> getLabels() {
        return labels;
    }

    public void setLabels(Map<String, String> labels) {
        this.labels = labels;
    }

    public Map<String, String> getAnnotations() {
        return annotations;
    }

    public void setAnnotations(Map<String, String> annotations) {
        this.annotations = annotations;
    }

    public List<LocalObjectReference> getImagePullSecrets() {
        return imagePullSecrets;
    }

    public void setImagePullSecrets(List<LocalObjectReference> imagePullSecrets) {
        this.imagePullSecrets = imagePullSecrets;
    }

    public Map<String, String> getNodeSelector() {
        return nodeSelector;
    }

    public void setNodeSelector(Map<String, String> nodeSelector) {
        this.nodeSelector = nodeSelector;
    }

    public List<Toleration> getTolerations() {
        return tolerations;
    }

    public void setTolerations(List<Toleration> tolerations) {
        this.tolerations = tolerations;
    }

    public Affinity getAffinity() {
        return affinity;
    }

    public void setAffinity(Affinity affinity) {
        this.affinity = affinity;
    }

    public List<TopologySpreadConstraint> getTopologySpreadConstraints() {
        return topologySpreadConstraints;
    }

    public void setTopologySpreadConstraints(List<TopologySpreadConstraint> topologySpreadConstraints) {
        this.topologySpreadConstraints = topologySpreadConstraints;
    }

    public String getPriorityClassName() {
        return priorityClassName;
    }

    public void setPriorityClassName(String priorityClassName) {
        this.priorityClassName = priorityClassName;
    }
}
