package dev.roundhouse.operator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.ValidationRule;

/** Where a CA bundle is kept: a ConfigMap key (trust-manager's bundles) or a Secret key (cert-manager's ca.crt). */
@JsonInclude(JsonInclude.Include.NON_NULL)
@ValidationRule(
        value = "has(self.configMapKeyRef) != has(self.secretKeyRef)",
        message = "set exactly one of configMapKeyRef and secretKeyRef")
public class CaBundleSpec {

    @JsonPropertyDescription("A key of a ConfigMap in this namespace holding PEM certificates.")
    private KeyRefSpec configMapKeyRef;

    @JsonPropertyDescription("A key of a Secret in this namespace holding PEM certificates (the operator reads only"
            + " this key, and copies the certificates, which are public, into the pool ConfigMap).")
    private KeyRefSpec secretKeyRef;

    public KeyRefSpec getConfigMapKeyRef() {
        return configMapKeyRef;
    }

    public void setConfigMapKeyRef(KeyRefSpec configMapKeyRef) {
        this.configMapKeyRef = configMapKeyRef;
    }

    public KeyRefSpec getSecretKeyRef() {
        return secretKeyRef;
    }

    public void setSecretKeyRef(KeyRefSpec secretKeyRef) {
        this.secretKeyRef = secretKeyRef;
    }
}
