package dev.roundhouse.operator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;
import io.fabric8.kubernetes.api.model.ResourceRequirements;
import io.fabric8.kubernetes.model.annotation.SpecReplicas;
import java.util.List;

@JsonInclude(JsonInclude.Include.NON_NULL)
@ValidationRule(
        value = "has(self.backends) != has(self.serviceRef)",
        message = "set exactly one of spec.backends and spec.serviceRef")
@ValidationRule(
        value = "!has(self.tls) || !has(self.port) || self.tls.port != self.port",
        message = "spec.tls.port must differ from spec.port: one Service port cannot serve both http and https")
public class LoadBalancerSpec {

    @JsonPropertyDescription("Fixed backends: URLs with weights. Exactly one of backends and serviceRef.")
    @Size(min = 1, max = 1000)
    private List<BackendSpec> backends;

    @JsonPropertyDescription(
            "A Service in the same namespace whose ready endpoints form the pool (through its EndpointSlices).")
    private ServiceRefSpec serviceRef;

    @JsonPropertyDescription(
            "Number of proxy pods; what kubectl scale and a HorizontalPodAutoscaler set (the scale" + " subresource).")
    @SpecReplicas
    @Default("2")
    @Min(0)
    @Max(100)
    private Integer replicas = 2;

    @JsonPropertyDescription("Port of the Service clients address (80 and 443 work: the proxies themselves listen on"
            + " 8080, and their metrics are on the metrics Service).")
    @Default("8080")
    @Min(1)
    @Max(65535)
    private Integer port = 8080;

    @JsonPropertyDescription("Proxy image; the operator's PROXY_IMAGE when empty.")
    @Pattern("^\\S+$")
    private String image;

    private HealthCheckSpec healthCheck;
    private CircuitBreakerSpec circuitBreaker;
    private TimeoutsSpec timeouts;

    @JsonPropertyDescription("How the proxies verify https backends: by default against the proxy's CAs and each"
            + " backend's address.")
    private BackendTlsSpec backendTLS;

    @JsonPropertyDescription("HTTPS for clients, with the certificates of kubernetes.io/tls Secrets: the proxies"
            + " listen on it beside plain HTTP, and the Service gains the port.")
    private TlsSpec tls;

    private ServiceSpec service;
    private MetricsSpec metrics;

    @JsonPropertyDescription("Resources of each proxy container; requests default to 100m CPU and 128Mi memory.")
    private ResourceRequirements resources;

    @JsonPropertyDescription("Placement and metadata of the proxy pods: node selector, tolerations, affinity, spread,"
            + " priority class, pull secrets, labels and annotations.")
    private PodTemplateSpec podTemplate;

    /**
     * Why the stored spec does not fit this model (see {@link Unreadable}), when it does not; every field is then
     * unset, and the spec writes as empty: it is the API server's to keep, never the operator's to write back.
     */
    @JsonIgnore
    private String unreadable;

    static LoadBalancerSpec unreadable(String problem) {
        LoadBalancerSpec spec = new LoadBalancerSpec();
        spec.replicas = null;
        spec.port = null;
        spec.unreadable = problem;
        return spec;
    }

    /** Which field of the stored spec this model cannot hold, and why, in a line; null for a spec read whole. */
    public String unreadable() {
        return unreadable;
    }

    public TlsSpec getTls() {
        return tls;
    }

    public void setTls(TlsSpec tls) {
        this.tls = tls;
    }

    public BackendTlsSpec getBackendTLS() {
        return backendTLS;
    }

    public void setBackendTLS(BackendTlsSpec backendTLS) {
        this.backendTLS = backendTLS;
    }

    public List<BackendSpec> getBackends() {
        return backends;
    }

    public void setBackends(List<BackendSpec> backends) {
        this.backends = backends;
    }

    public ServiceRefSpec getServiceRef() {
        return serviceRef;
    }

    public void setServiceRef(ServiceRefSpec serviceRef) {
        this.serviceRef = serviceRef;
    }

    public Integer getReplicas() {
        return replicas;
    }

    public void setReplicas(Integer replicas) {
        this.replicas = replicas;
    }

    public Integer getPort() {
        return port;
    }

    public void setPort(Integer port) {
        this.port = port;
    }

    public String getImage() {
        return image;
    }

    public void setImage(String image) {
        this.image = image;
    }

    public HealthCheckSpec getHealthCheck() {
        return healthCheck;
    }

    public void setHealthCheck(HealthCheckSpec healthCheck) {
        this.healthCheck = healthCheck;
    }

    public CircuitBreakerSpec getCircuitBreaker() {
        return circuitBreaker;
    }

    public void setCircuitBreaker(CircuitBreakerSpec circuitBreaker) {
        this.circuitBreaker = circuitBreaker;
    }

    public TimeoutsSpec getTimeouts() {
        return timeouts;
    }

    public void setTimeouts(TimeoutsSpec timeouts) {
        this.timeouts = timeouts;
    }

    public ServiceSpec getService() {
        return service;
    }

    public void setService(ServiceSpec service) {
        this.service = service;
    }

    public MetricsSpec getMetrics() {
        return metrics;
    }

    public void setMetrics(MetricsSpec metrics) {
        this.metrics = metrics;
    }

    public ResourceRequirements getResources() {
        return resources;
    }

    public void setResources(ResourceRequirements resources) {
        this.resources = resources;
    }

    public PodTemplateSpec getPodTemplate() {
        return podTemplate;
    }

    public void setPodTemplate(PodTemplateSpec podTemplate) {
        this.podTemplate = podTemplate;
    }
}
