package dev.roundhouse.operator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;

/** One key of a ConfigMap or Secret in the LoadBalancer's namespace. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class KeyRefSpec {

    @JsonPropertyDescription("Object name.")
    @Required
    @Pattern("^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
    @Size(max = 253)
    private String name;

    @JsonPropertyDescription("Key within the object.")
    @Default("ca.crt")
    @Pattern("^[-._a-zA-Z0-9]+$")
    @Size(max = 253)
    private String key;

    public String getName() {
        return name;
    }

    public void setName(String name) {
        this.name = name;
    }

    public String getKey() {
        return key;
    }

    public void setKey(String key) {
        this.key = key;
    }
}
