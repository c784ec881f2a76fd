package dev.roundhouse.operator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Pattern;
import java.util.Map;

/** The Service in front of the proxies. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class ServiceSpec {

    @JsonPropertyDescription("ClusterIP, NodePort or LoadBalancer.")
    @Default("ClusterIP")
    @Pattern("^(ClusterIP|NodePort|LoadBalancer)$")
    private String type;

    @JsonPropertyDescription("Annotations for the Service (e.g. for a cloud load balancer).")
    private Map<String, String> annotations;

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
}
