package dev.roundhouse.operator.reconciler;

import dev.roundhouse.operator.api.v1alpha1.BackendTlsSpec;
import dev.roundhouse.operator.api.v1alpha1.CaBundleSpec;
import dev.roundhouse.operator.api.v1alpha1.KeyRefSpec;
import dev.roundhouse.operator.api.v1alpha1.LoadBalancer;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.Map;

/**
 * Reads the CA bundle a LoadBalancer's {@code spec.backendTLS.caBundle} names, with one GET of that one object: the
 * operator neither lists nor watches Secrets, so it caches none of them. A rotated bundle is seen by the next
 * reconcile, which {@link #RECHECK} schedules.
 */
final class CaBundles {

    /** The field of the spec that names the bundle, as messages name it. */
    static final String PATH = "backendTLS.caBundle";
    /** How soon a LoadBalancer with a CA bundle is reconciled again, to see a rotated or newly created bundle. */
    static final Duration RECHECK = Duration.ofMinutes(1);

    private static final String DEFAULT_KEY = "ca.crt";

    /** The bundle's text, or why there is none; {@code source} names the object and key for messages. */
    record Read(String pem, String source, String problem) {}

    private CaBundles() {}

    /** When to reconcile {@code lb} again for its CA bundle's sake: {@link #RECHECK} if it names one. */
    static java.util.Optional<Duration> recheck(LoadBalancer lb) {
        return named(lb) ? java.util.Optional.of(RECHECK) : java.util.Optional.empty();
    }

    static boolean named(LoadBalancer lb) {
        BackendTlsSpec tls = lb.getSpec() == null ? null : lb.getSpec().getBackendTLS();
        return tls != null && tls.getCaBundle() != null;
    }

    static Read read(LoadBalancer lb, KubernetesClient client) {
        if (!named(lb)) {
            return new Read(null, null, null);
        }
        CaBundleSpec bundle = lb.getSpec().getBackendTLS().getCaBundle();
        String namespace = lb.getMetadata().getNamespace();
        boolean secret = bundle.getSecretKeyRef() != null;
        KeyRefSpec ref = secret ? bundle.getSecretKeyRef() : bundle.getConfigMapKeyRef();
        if (ref == null || ref.getName() == null) {
            // The schema requires one; an object stored before it did can still come by.
            return new Read(null, null, PATH + " names no configMapKeyRef or secretKeyRef");
        }
        String key = ref.getKey() == null ? DEFAULT_KEY : ref.getKey();
        String source = (secret ? "Secret " : "ConfigMap ") + namespace + "/" + ref.getName() + " key " + key;
        String pem;
        if (secret) {
            Secret found = client.secrets()
                    .inNamespace(namespace)
                    .withName(ref.getName())
                    .get();
            if (found == null) {
                return new Read(null, source, source + " named in " + PATH + " does not exist");
            }
            pem = decoded(found.getData(), key); // stringData is write-only: the API server folds it into data
        } else {
            ConfigMap found = client.configMaps()
                    .inNamespace(namespace)
                    .withName(ref.getName())
                    .get();
            if (found == null) {
                return new Read(null, source, source + " named in " + PATH + " does not exist");
            }
            pem = found.getData() == null ? null : found.getData().get(key);
        }
        if (pem == null) {
            return new Read(null, source, source + " named in " + PATH + ": no such key");
        }
        return new Read(pem, source, null);
    }

    private static String decoded(Map<String, String> data, String key) {
        String value = data == null ? null : data.get(key);
        if (value == null) {
            return null;
        }
        try {
            return new String(Base64.getDecoder().decode(value), StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            return "";
        }
    }
}
