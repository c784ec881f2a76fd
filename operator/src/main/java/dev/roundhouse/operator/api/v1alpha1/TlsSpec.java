package dev.roundhouse.operator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;
import java.util.List;

/** HTTPS for clients: the proxies terminate TLS with the certificates of Secrets in the LoadBalancer's namespace. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class TlsSpec {

    /** How many Secrets one LoadBalancer may name: each is a volume of every proxy pod. */
    public static final int MAX_SECRETS = 16;
    /** The Service's HTTPS port when {@code port} is not set. */
    public static final int DEFAULT_PORT = 8443;

    @JsonPropertyDescription("kubernetes.io/tls Secrets (tls.crt and tls.key) in this namespace, e.g. written by a"
            + " cert-manager Certificate. Mounted into the proxy pods, which choose a certificate by the name the"
            + " client asks for (SNI) among their DNS names; the first Secret's is served when none matches. A"
            + " renewed certificate is served within seconds, without a restart.")
    @Required
    @Size(min = 1, max = MAX_SECRETS)
    private List<@Pattern("^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$") @Size(max = 253) String>
            secretNames;

    @JsonPropertyDescription("Port of the Service for HTTPS; spec.port stays plain HTTP.")
    @Default("" + DEFAULT_PORT)
    @Min(1)
    @Max(65535)
    private Integer port = DEFAULT_PORT;

    @JsonPropertyDescription("Answer plain HTTP requests on spec.port with a 308 redirect to https on spec.tls.port"
            + " instead of proxying them. Default false.")
    @Default("false")
    private Boolean redirect = false;

    public List<String> getSecretNames() {
        return secretNames;
    }

    public void setSecretNames(List<String> secretNames) {
        this.secretNames = secretNames;
    }

    public Integer getPort() {
        return port;
    }

    public void setPort(Integer port) {
        this.port = port;
    }

    public Boolean getRedirect() {
        return redirect;
    }

    public void setRedirect(Boolean redirect) {
        this.redirect = redirect;
    }
}
