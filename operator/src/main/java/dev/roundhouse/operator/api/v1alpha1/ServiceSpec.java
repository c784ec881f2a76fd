package dev.roundhouse.operator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.ValidationRule;
import java.util.List;
import java.util.Map;

/** The Service in front of the proxies. */
@JsonInclude(JsonInclude.Include.NON_NULL)
@ValidationRule(
        value = "!has(self.loadBalancerClass) || self.type == 'LoadBalancer'",
        message = "spec.service.loadBalancerClass needs spec.service.type LoadBalancer")
@ValidationRule(
        value = "!has(self.loadBalancerSourceRanges) || self.type == 'LoadBalancer'",
        message = "spec.service.loadBalancerSourceRanges needs spec.service.type LoadBalancer")
public class ServiceSpec {

    @JsonPropertyDescription("ClusterIP, NodePort or LoadBalancer.")
    @Default("ClusterIP")
    @Pattern("^(ClusterIP|NodePort|LoadBalancer)$")
    private String type;

    @JsonPropertyDescription("Annotations for the Service (e.g. for a cloud load balancer).")
    private Map<String, String> annotations;

    @JsonPropertyDescription("Cluster or Local, for NodePort and LoadBalancer Services: Local keeps the client's"
            + " address (X-Forwarded-For shows it) and sends traffic only to nodes that run a proxy.")
    @Default("Cluster")
    @Pattern("^(Cluster|Local)$")
    private String externalTrafficPolicy;

    @JsonPropertyDescription("The load balancer implementation, for a LoadBalancer Service; fixed once the Service"
            + " exists (Kubernetes refuses a change).")
    private String loadBalancerClass;

    @JsonPropertyDescription("Client CIDRs a LoadBalancer Service accepts, where the cloud supports it.")
    private List<@Pattern("^[0-9a-fA-F.:]+/[0-9]{1,3}$") String> loadBalancerSourceRanges;

    public String getType() {
        return type;
    }

    public void setType(String type) {
        this.type = type;
    }

    public Map<String, String> getAnnotations() {
        return annotations;
    }

    public void setAnnotations(Map<String, String> annotations) {
        this.annotations = annotations;
    }

    public String getExternalTrafficPolicy() {
        return externalTrafficPolicy;
    }

    public void setExternalTrafficPolicy(String externalTrafficPolicy) {
        this.externalTrafficPolicy = externalTrafficPolicy;
    }

    public String getLoadBalancerClass() {
        return loadBalancerClass;
    }

    public void setLoadBalancerClass(String loadBalancerClass) {
        this.loadBalancerClass = loadBalancerClass;
    }

    public List<String> getLoadBalancerSourceRanges() {
        return loadBalancerSourceRanges;
    }

    public void setLoadBalancerSourceRanges(List<String> loadBalancerSourceRanges) {
        this.loadBalancerSourceRanges = loadBalancerSourceRanges;
    }
}
