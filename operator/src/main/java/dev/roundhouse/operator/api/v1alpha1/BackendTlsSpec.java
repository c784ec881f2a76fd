package dev.roundhouse.operator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import dev.roundhouse.poolformat.PoolLimits;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;

/** How the proxies verify https backends. */
@JsonInclude(JsonInclude.Include.NON_NULL)
@ValidationRule(
        value = "!has(self.caBundle) || !has(self.insecureSkipVerify) || !self.insecureSkipVerify",
        message = "caBundle and insecureSkipVerify cannot be combined: a CA bundle is for verifying certificates")
public class BackendTlsSpec {

    @JsonPropertyDescription(
            "CA certificates (PEM) to trust for https backends instead of the proxy's default CAs,"
                    + " from a ConfigMap or Secret key in this namespace, read again every minute: a rotated bundle reaches the proxies within a minute.")
    private CaBundleSpec caBundle;

    @JsonPropertyDescription("Name sent to https backends (SNI) and required in their certificates, instead of each"
            + " backend's address: with serviceRef the backends are pod IPs, and their certificates name the Service,"
            + " e.g. shop.default.svc.")
    @Pattern("^[a-zA-Z0-9]([-a-zA-Z0-9]{0,61}[a-zA-Z0-9])?(\\.[a-zA-Z0-9]([-a-zA-Z0-9]{0,61}[a-zA-Z0-9])?)*$")
    @Size(max = PoolLimits.MAX_SERVER_NAME_LENGTH)
    private String serverName;

    @JsonPropertyDescription("Accept any certificate from https backends, unverified. For trying things out, never"
            + " for production: anyone on the path can read and change the traffic. Default false.")
    private Boolean insecureSkipVerify;

    public CaBundleSpec getCaBundle() {
        return caBundle;
    }

    public void setCaBundle(CaBundleSpec caBundle) {
        this.caBundle = caBundle;
    }

    public String getServerName() {
        return serverName;
    }

    public void setServerName(String serverName) {
        this.serverName = serverName;
    }

    public Boolean getInsecureSkipVerify() {
        return insecureSkipVerify;
    }

    public void setInsecureSkipVerify(Boolean insecureSkipVerify) {
        this.insecureSkipVerify = insecureSkipVerify;
    }
}
