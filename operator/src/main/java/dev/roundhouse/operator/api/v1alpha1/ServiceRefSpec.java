package dev.roundhouse.operator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;

/** A Service in the LoadBalancer's namespace whose ready endpoints are the backends. */
@JsonInclude(JsonInclude.Include.NON_NULL)
@ValidationRule(
        value = "!has(self.protocol) || self.protocol != 'h2c' || !has(self.scheme) || self.scheme == 'http'",
        message = "protocol h2c needs scheme http")
@ValidationRule(
        value = "!has(self.protocol) || self.protocol != 'h2' || (has(self.scheme) && self.scheme == 'https')",
        message = "protocol h2 needs scheme https")
public class ServiceRefSpec {

    @JsonPropertyDescription("Service name.")
    @Required
    @Pattern("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
    @Size(max = 63)
    private String name;

    @JsonPropertyDescription("Service port whose endpoints' target port receives traffic.")
    @Required
    @Min(1)
    @Max(65535)
    private Integer port;

    @JsonPropertyDescription("Scheme the backends speak: http or https.")
    @Default("http")
    @Pattern("^(http|https)$")
    private String scheme;

    @JsonPropertyDescription(
            "How the proxy speaks to every endpoint: http/1.1 (when absent), h2c (HTTP/2 in clear text, as gRPC"
                    + " servers speak it) or h2 (HTTP/2 over TLS; scheme https).")
    @Pattern("^(http/1\\.1|h2c|h2)$")
    private String protocol;

    public String getName() {
        return name;
    }

    public void setName(String name) {
        this.name = name;
    }

    public Integer getPort() {
        return port;
    }

    public void setPort(Integer port) {
        this.port = port;
    }

    public String getScheme() {
        return scheme;
    }

    public void setScheme(String scheme) {
        this.scheme = scheme;
    }

    public String getProtocol() {
        return protocol;
    }

    public void setProtocol(String protocol) {
        this.protocol = protocol;
    }
}
