package dev.roundhouse.operator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.ValidationRule;

/** One fixed backend. */
@JsonInclude(JsonInclude.Include.NON_NULL)
@ValidationRule(
        value = "!has(self.protocol) || self.protocol != 'h2c' || self.url.startsWith('http://')",
        message = "protocol h2c needs an http:// URL")
@ValidationRule(
        value = "!has(self.protocol) || self.protocol != 'h2' || self.url.startsWith('https://')",
        message = "protocol h2 needs an https:// URL")
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

    // No schema default, as for weight: absent is HTTP/1.1.
    @JsonPropertyDescription(
            "How the proxy speaks to the backend: http/1.1 (when absent), h2c (HTTP/2 in clear text, as gRPC servers"
                    + " speak it) or h2 (HTTP/2 over TLS; https URLs).")
    @Pattern("^(http/1\\.1|h2c|h2)$")
    private String protocol;

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

    public String getProtocol() {
        return protocol;
    }

    public void setProtocol(String protocol) {
        this.protocol = protocol;
    }
}
