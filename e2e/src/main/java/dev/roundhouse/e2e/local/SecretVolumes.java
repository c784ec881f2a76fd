package dev.roundhouse.e2e.local;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

/**
 * The Secret volumes of one pod, as kubelet writes them: each mount a directory under this pod's root (its mount path
 * below it) whose files are symlinks through {@code ..data} to a timestamped directory, swapped in one rename when the
 * Secret changes; so a proxy sees a renewed certificate exactly as it would in a cluster. A missing Secret keeps the
 * pod from starting, as kubelet keeps a container from being created.
 */
final class SecretVolumes {

    private static final DateTimeFormatter STAMP = DateTimeFormatter.ofPattern("yyyy_MM_dd_HH_mm_ss");
    private static final AtomicLong WRITES = new AtomicLong();

    private final Path root;
    /** The resourceVersion of the Secret last written into each mount path. */
    private final Map<String, String> written = new HashMap<>();

    SecretVolumes(Path root) {
        this.root = root;
    }

    /** Where a file the container sees at {@code path} is on this machine. */
    Path local(String path) {
        return root.resolve(path.substring(1));
    }

    /**
     * Rewrites an environment value that names a path inside or above a Secret mount to where it is on this machine.
     */
    String localPath(PodSpec pod, Container container, String value) {
        if (value == null || !value.startsWith("/")) {
            return value;
        }
        for (VolumeMount mount : secretMounts(pod, container).keySet()) {
            String at = mount.getMountPath();
            if (at.equals(value) || at.startsWith(value + "/") || value.startsWith(at + "/")) {
                return local(value).toString();
            }
        }
        return value;
    }

    /**
     * Writes every Secret volume whose Secret changed since the last call.
     *
     * @return the first missing Secret, as kubelet's event says it, or empty when all are in place
     */
    Optional<String> sync(KubernetesClient client, String namespace, PodSpec pod, Container container) {
        for (var entry : secretMounts(pod, container).entrySet()) {
            String name = entry.getValue().getSecret().getSecretName();
            Secret secret =
                    client.secrets().inNamespace(namespace).withName(name).get();
            if (secret == null) {
                return Optional.of("MountVolume.SetUp failed for volume \""
                        + entry.getValue().getName() + "\": secret \"" + name + "\" not found");
            }
            String at = entry.getKey().getMountPath();
            String version = secret.getMetadata().getResourceVersion();
            if (!version.equals(written.get(at))) {
                write(local(at), Objects.requireNonNullElse(secret.getData(), Map.of()));
                written.put(at, version);
            }
        }
        return Optional.empty();
    }

    /** Removes the volumes once the pod is gone, as kubelet cleans up a deleted pod's: they hold private keys. */
    void remove() {
        try {
            if (Files.exists(root)) {
                delete(root);
            }
        } catch (IOException | UncheckedIOException e) {
            // a leftover directory under the log directory, nothing more
        }
    }

    private static Map<VolumeMount, Volume> secretMounts(PodSpec pod, Container container) {
        Map<VolumeMount, Volume> mounts = new HashMap<>();
        for (VolumeMount mount : Objects.requireNonNullElse(container.getVolumeMounts(), List.<VolumeMount>of())) {
            for (Volume volume : Objects.requireNonNullElse(pod.getVolumes(), List.<Volume>of())) {
                if (volume.getName().equals(mount.getName()) && volume.getSecret() != null) {
                    mounts.put(mount, volume);
                }
            }
        }
        return mounts;
    }

    /** kubelet's atomic writer: new files in a new directory, then {@code ..data} pointed at it in one rename. */
    private static void write(Path dir, Map<String, String> data) {
        try {
            Files.createDirectories(dir);
            String stamp = ".." + LocalDateTime.now().format(STAMP) + "." + WRITES.incrementAndGet();
            Path fresh = Files.createDirectory(dir.resolve(stamp));
            for (var entry : data.entrySet()) {
                Files.write(fresh.resolve(entry.getKey()), Base64.getDecoder().decode(entry.getValue()));
            }
            Path old = Files.isSymbolicLink(dir.resolve("..data"))
                    ? dir.resolve(Files.readSymbolicLink(dir.resolve("..data")))
                    : null;
            Path link = Files.createSymbolicLink(dir.resolve("..data_tmp"), Path.of(stamp));
            try {
                Files.move(link, dir.resolve("..data"), StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(link, dir.resolve("..data"), StandardCopyOption.REPLACE_EXISTING);
            }
            for (String key : data.keySet()) {
                Path file = dir.resolve(key);
                if (!Files.isSymbolicLink(file)) {
                    Files.createSymbolicLink(file, Path.of("..data", key));
                }
            }
            try (Stream<Path> files = Files.list(dir)) {
                for (Path file : files.toList()) {
                    String name = file.getFileName().toString();
                    if (!name.startsWith("..") && !data.containsKey(name)) {
                        Files.deleteIfExists(file); // a key the Secret no longer has
                    }
                }
            }
            if (old != null && !old.equals(fresh)) {
                delete(old);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the Secret volume " + dir + ": " + e.getMessage(), e);
        }
    }

    private static void delete(Path dir) throws IOException {
        try (Stream<Path> files = Files.walk(dir)) {
            List<Path> all =
                    new ArrayList<>(files.sorted(Comparator.reverseOrder()).toList());
            for (Path file : all) {
                Files.deleteIfExists(file);
            }
        }
    }
}
