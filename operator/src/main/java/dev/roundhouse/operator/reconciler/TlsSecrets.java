package dev.roundhouse.operator.reconciler;

import dev.roundhouse.operator.api.v1alpha1.LoadBalancer;
import dev.roundhouse.operator.model.ProxyTls;
import dev.roundhouse.poolformat.tls.InvalidCertificateException;
import dev.roundhouse.poolformat.tls.ServerCertificate;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Map;
import java.util.Optional;

/**
 * Whether the Secrets a LoadBalancer's {@code spec.tls} names hold pairs the proxies will serve, judged by the
 * proxies' own rules ({@link ServerCertificate}): each read with one GET, as {@link CaBundles} reads a bundle, since
 * the operator neither lists nor watches Secrets. While one is missing or unusable, the proxy Deployment is left as
 * it is (no rollout to pods that cannot start or would serve nothing), and the status says which and why.
 *
 * @param problem what is wrong, in a line, or null
 */
public record TlsSecrets(String problem) {

    /** Where a reconcile keeps what it found, for the Deployment's dependent. */
    static final String KEY = "tlsSecrets";
    /** How soon to look again while a Secret is missing or unusable: cert-manager may be issuing it right now. */
    static final Duration PROBLEM_RECHECK = Duration.ofSeconds(10);
    /** How soon to look again when all is well, to report a renewal that went wrong. */
    static final Duration RECHECK = Duration.ofMinutes(1);

    private static final String CERT_KEY = "tls.crt";
    private static final String KEY_KEY = "tls.key";
    private static final TlsSecrets NONE = new TlsSecrets(null);

    /** What the reconcile found (see {@link #KEY}). */
    public static TlsSecrets of(Context<LoadBalancer> context) {
        return context.managedWorkflowAndDependentResourceContext()
                .get(KEY, TlsSecrets.class)
                .orElse(NONE);
    }

    /** When to reconcile {@code lb} again for its Secrets' sake. */
    Optional<Duration> recheck(LoadBalancer lb) {
        if (lb.getSpec() == null || !ProxyTls.enabled(lb.getSpec())) {
            return Optional.empty();
        }
        return Optional.of(problem == null ? RECHECK : PROBLEM_RECHECK);
    }

    static TlsSecrets check(LoadBalancer lb, KubernetesClient client, Instant now) {
        String namespace = lb.getMetadata().getNamespace();
        for (String name : ProxyTls.secretNames(lb.getSpec())) {
            String secret = "Secret " + namespace + "/" + name;
            Secret found =
                    client.secrets().inNamespace(namespace).withName(name).get();
            if (found == null) {
                return new TlsSecrets(secret + " named in spec.tls.secretNames does not exist");
            }
            byte[] cert = decoded(found.getData(), CERT_KEY);
            byte[] key = decoded(found.getData(), KEY_KEY);
            if (cert == null || key == null) {
                return new TlsSecrets(
                        secret + " named in spec.tls.secretNames has no " + (cert == null ? CERT_KEY : KEY_KEY)
                                + " (a kubernetes.io/tls Secret has tls.crt and tls.key)");
            }
            try {
                ServerCertificate.parse(cert, secret + " " + CERT_KEY, key, secret + " " + KEY_KEY, now);
            } catch (InvalidCertificateException e) {
                return new TlsSecrets(e.getMessage());
            }
        }
        return NONE;
    }

    private static byte[] decoded(Map<String, String> data, String key) {
        String value = data == null ? null : data.get(key);
        if (value == null || value.isEmpty()) {
            return null;
        }
        try {
            return Base64.getDecoder().decode(value);
        } catch (IllegalArgumentException e) {
            return new byte[0]; // the API server sends base64; nothing readable otherwise
        }
    }
}
