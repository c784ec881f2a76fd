package dev.roundhouse.operator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
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

    @JsonPropertyDescription("Relative share of requests (1 to 1000).")
    @Default("1")
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
