package dev.roundhouse.operator.model;

import dev.roundhouse.operator.api.v1alpha1.LoadBalancerSpec;
import dev.roundhouse.operator.api.v1alpha1.TlsSpec;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.EnvVarBuilder;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeBuilder;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.VolumeMountBuilder;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * What {@code spec.tls} adds to the proxy pods: each Secret mounted read-only in a directory of its own under
 * {@link #MOUNT_ROOT}, named in the order the spec lists them (the proxy reads the directory in name order, and the
 * first pair is its default), and the settings that turn HTTPS on. The proxies read the files, not the API: they get
 * no permission to read Secrets, and kubelet brings renewed Secrets into the files by itself.
 */
public final class ProxyTls {

    /** Where the Secrets are mounted; the proxy's TLS_CERT_FILE names this directory. */
    public static final String MOUNT_ROOT = "/etc/roundhouse/tls";
    /** Owner and group may read (the pod's fsGroup is the proxy's group), nobody else. */
    private static final int FILE_MODE = 0440;
    /** The longest file name Linux takes. */
    private static final int MAX_FILE_NAME = 255;

    private ProxyTls() {}

    public static boolean enabled(LoadBalancerSpec spec) {
        return spec.getTls() != null;
    }

    /** The Secrets, each once, in the spec's order. */
    public static List<String> secretNames(LoadBalancerSpec spec) {
        return spec.getTls() == null || spec.getTls().getSecretNames() == null
                ? List.of()
                : spec.getTls().getSecretNames().stream().distinct().toList();
    }

    /** The HTTPS Service port: {@code spec.tls.port}. */
    public static int servicePort(LoadBalancerSpec spec) {
        return Objects.requireNonNullElse(spec.getTls().getPort(), TlsSpec.DEFAULT_PORT);
    }

    public static boolean redirect(LoadBalancerSpec spec) {
        return enabled(spec) && Boolean.TRUE.equals(spec.getTls().getRedirect());
    }

    /** The directory a Secret is mounted in: its place in the list first, so that name order is list order. */
    public static String mountPath(int index, String secretName) {
        String directory = String.format("%02d-%s", index, secretName);
        return MOUNT_ROOT + "/" + directory.substring(0, Math.min(directory.length(), MAX_FILE_NAME));
    }

    static String volumeName(int index) {
        return "tls-" + index;
    }

    static List<Volume> volumes(LoadBalancerSpec spec) {
        List<Volume> volumes = new ArrayList<>();
        List<String> names = secretNames(spec);
        for (int i = 0; i < names.size(); i++) {
            volumes.add(new VolumeBuilder()
                    .withName(volumeName(i))
                    .withNewSecret()
                    .withSecretName(names.get(i))
                    .withDefaultMode(FILE_MODE)
                    .endSecret()
                    .build());
        }
        return volumes;
    }

    static List<VolumeMount> volumeMounts(LoadBalancerSpec spec) {
        List<VolumeMount> mounts = new ArrayList<>();
        List<String> names = secretNames(spec);
        for (int i = 0; i < names.size(); i++) {
            mounts.add(new VolumeMountBuilder()
                    .withName(volumeName(i))
                    .withMountPath(mountPath(i, names.get(i)))
                    .withReadOnly(true)
                    .build());
        }
        return mounts;
    }

    /** The proxy's TLS settings (see the proxy's README table); none without {@code spec.tls}. */
    static List<EnvVar> env(LoadBalancerSpec spec) {
        if (!enabled(spec)) {
            return List.of();
        }
        List<EnvVar> env = new ArrayList<>(List.of(
                env("TLS_CERT_FILE", MOUNT_ROOT),
                env("TLS_PORT", String.valueOf(Names.PROXY_TLS_PORT)),
                // Clients reach HTTPS on the Service's port: X-Forwarded-Port names it, as redirects do.
                env("TLS_FORWARDED_PORT", String.valueOf(servicePort(spec)))));
        if (redirect(spec)) {
            // Clients reach HTTPS on the Service's port, not on the container's.
            env.add(env("TLS_REDIRECT", "true"));
            env.add(env("TLS_REDIRECT_PORT", String.valueOf(servicePort(spec))));
        }
        return env;
    }

    private static EnvVar env(String name, String value) {
        return new EnvVarBuilder().withName(name).withValue(value).build();
    }
}
