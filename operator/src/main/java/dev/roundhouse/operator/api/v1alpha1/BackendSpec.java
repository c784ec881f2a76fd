package dev.roundhouse.operator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;

/** One fixed backend. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class BackendSpec {

    @JsonPropertyDescription("Backend URL: http(s)://host[:port], no path.")
    @Required
    @Pattern("^https?://[^\\s/?#@]+(:[0-9]{1,5})?/?$")
    private String url;

    // No schema default: with one, the API server stores a weight the manifest never had, and kubectl apply of an
    // unchanged manifest reports "configured" every time (the pool document defaults it to 1 instead).
    @JsonPropertyDescription("Relative share of requests (1 to 1000; 1 when absent).")
    @Min(1)
    @Max(1000)
    private Integer weight;

    public String getUrl() {
        return url;
    }

    public void setUrl(String url) {
        this.url = url;
    }

    public Integer getWeight() {
        return weight;
    }

    public void setWeight(Integer weight) {
        this.weight = weight;
    }
}
