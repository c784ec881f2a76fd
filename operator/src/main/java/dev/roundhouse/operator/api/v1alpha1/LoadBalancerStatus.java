package dev.roundhouse.operator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.model.annotation.LabelSelector;
import io.fabric8.kubernetes.model.annotation.StatusReplicas;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

@JsonInclude(JsonInclude.Include.NON_NULL)
public class LoadBalancerStatus {

    @JsonPropertyDescription("The metadata.generation this status describes.")
    private Long observedGeneration;

    @JsonPropertyDescription("Ready, Progressing and Degraded, with reason and message.")
    private List<Condition> conditions = new ArrayList<>();

    @JsonPropertyDescription("Backends in the pool document the proxies serve.")
    private Integer backends;

    @JsonPropertyDescription(
            "Backends in rotation on every ready proxy that reported, out of the backends in the pool, e.g. 2/3;"
                    + " ?/3 before any proxy reported.")
    private String healthy;

    @JsonPropertyDescription(
            "Each backend as the ready proxies see it, unhealthy first, at most 100 (backendHealthNotShown counts the"
                    + " rest).")
    private List<BackendHealthStatus> backendHealth;

    @JsonPropertyDescription("Backends left out of backendHealth for its limit of 100.")
    private Integer backendHealthNotShown;

    @JsonPropertyDescription("Proxy pods ready to serve.")
    private Integer readyReplicas;

    @JsonPropertyDescription("Proxy pods (the scale subresource's status.replicas, which an autoscaler reads).")
    @StatusReplicas
    private Integer replicas;

    @JsonPropertyDescription("The label selector of the proxy pods, for an autoscaler (the scale subresource).")
    @LabelSelector
    private String selector;

    public Long getObservedGeneration() {
        return observedGeneration;
    }

    public void setObservedGeneration(Long observedGeneration) {
        this.observedGeneration = observedGeneration;
    }

    public List<Condition> getConditions() {
        return conditions;
    }

    public void setConditions(List<Condition> conditions) {
        this.conditions = conditions;
    }

    public Integer getBackends() {
        return backends;
    }

    public void setBackends(Integer backends) {
        this.backends = backends;
    }

    public String getHealthy() {
        return healthy;
    }

    public void setHealthy(String healthy) {
        this.healthy = healthy;
    }

    public List<BackendHealthStatus> getBackendHealth() {
        return backendHealth;
    }

    public void setBackendHealth(List<BackendHealthStatus> backendHealth) {
        this.backendHealth = backendHealth;
    }

    public Integer getBackendHealthNotShown() {
        return backendHealthNotShown;
    }

    public void setBackendHealthNotShown(Integer backendHealthNotShown) {
        this.backendHealthNotShown = backendHealthNotShown;
    }

    public Integer getReplicas() {
        return replicas;
    }

    public void setReplicas(Integer replicas) {
        this.replicas = replicas;
    }

    public String getSelector() {
        return selector;
    }

    public void setSelector(String selector) {
        this.selector = selector;
    }

    public Integer getReadyReplicas() {
        return readyReplicas;
    }

    public void setReadyReplicas(Integer readyReplicas) {
        this.readyReplicas = readyReplicas;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof LoadBalancerStatus s
                && Objects.equals(observedGeneration, s.observedGeneration)
                && Objects.equals(conditions, s.conditions)
                && Objects.equals(backends, s.backends)
                && Objects.equals(healthy, s.healthy)
                && Objects.equals(backendHealth, s.backendHealth)
                && Objects.equals(backendHealthNotShown, s.backendHealthNotShown)
                && Objects.equals(readyReplicas, s.readyReplicas)
                && Objects.equals(replicas, s.replicas)
                && Objects.equals(selector, s.selector);
    }

    @Override
    public int hashCode() {
        return Objects.hash(
                observedGeneration,
                conditions,
                backends,
                healthy,
                backendHealth,
                backendHealthNotShown,
                readyReplicas,
                replicas,
                selector);
    }
}
