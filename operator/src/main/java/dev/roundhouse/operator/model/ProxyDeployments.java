package dev.roundhouse.operator.model;

import dev.roundhouse.operator.api.v1alpha1.LoadBalancer;
import dev.roundhouse.operator.api.v1alpha1.LoadBalancerSpec;
import dev.roundhouse.operator.api.v1alpha1.PodTemplateSpec;
import io.fabric8.kubernetes.api.model.AffinityBuilder;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerBuilder;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.ContainerPortBuilder;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.EnvVarBuilder;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.LocalObjectReference;
import io.fabric8.kubernetes.api.model.Probe;
import io.fabric8.kubernetes.api.model.ProbeBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.ResourceRequirements;
import io.fabric8.kubernetes.api.model.ResourceRequirementsBuilder;
import io.fabric8.kubernetes.api.model.TolerationBuilder;
import io.fabric8.kubernetes.api.model.TopologySpreadConstraint;
import io.fabric8.kubernetes.api.model.TopologySpreadConstraintBuilder;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.DeploymentBuilder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * The proxy Deployment of a LoadBalancer.
 *
 * <p>Design rule: nothing here depends on the backends (no pool hash, no backend count). The proxies watch their
 * ConfigMap and swap the pool in place, so a backend change must never roll the pods; only what the pods
 * themselves run with (image, replicas, resources) changes this object; not even {@code spec.port}, which is the
 * Service's port alone.
 *
 * <p>Fields the API server would default are written out, so that a comparison of desired and actual objects
 * (JOSDK's matcher, Argo CD, Flux) finds nothing to change on an unchanged LoadBalancer.
 */
public final class ProxyDeployments {

    public static final int DEFAULT_REPLICAS = 2;
    /** The image's non-root user and group. */
    static final long PROXY_UID = 10001L;
    /**
     * After SIGTERM the proxy keeps accepting for SHUTDOWN_DELAY while its endpoint leaves every kube-proxy and load
     * balancer, then drains for up to SHUTDOWN_TIMEOUT: as long as the default request timeout, so a request that
     * may take that long is not cut.
     */
    static final Duration SHUTDOWN_DELAY = Duration.ofSeconds(5);

    static final Duration SHUTDOWN_TIMEOUT = Duration.ofSeconds(60);
    /** Delay, drain, and a margin before SIGKILL for the JVM to exit. */
    static final long TERMINATION_GRACE_SECONDS =
            SHUTDOWN_DELAY.plus(SHUTDOWN_TIMEOUT).plusSeconds(10).toSeconds();

    static final String CONTAINER_NAME = "proxy";

    private ProxyDeployments() {}

    /** The proxies a LoadBalancer asks for: {@code spec.replicas}, or {@link #DEFAULT_REPLICAS}. */
    public static int replicas(LoadBalancerSpec spec) {
        return Objects.requireNonNullElse(spec.getReplicas(), DEFAULT_REPLICAS);
    }

    public static Deployment desired(LoadBalancer lb, String defaultImage) {
        return desired(lb, defaultImage, List.of());
    }

    /** @param pullSecrets the operator's PROXY_IMAGE_PULL_SECRETS, which every proxy pod gets */
    public static Deployment desired(LoadBalancer lb, String defaultImage, List<String> pullSecrets) {
        LoadBalancerSpec spec = lb.getSpec();
        PodTemplateSpec pod = Objects.requireNonNullElseGet(spec.getPodTemplate(), PodTemplateSpec::new);
        // The user's first, so that they cannot override what the operator relies on.
        Map<String, String> podAnnotations = new TreeMap<>(Objects.requireNonNullElse(pod.getAnnotations(), Map.of()));
        podAnnotations.putAll(Map.of(
                "prometheus.io/scrape", "true",
                "prometheus.io/port", String.valueOf(Names.METRICS_PORT),
                "prometheus.io/path", "/metrics"));
        Map<String, String> podLabels = new TreeMap<>(Objects.requireNonNullElse(pod.getLabels(), Map.of()));
        podLabels.putAll(Labels.all(lb));
        // No owner reference here: JOSDK adds it to dependents.
        return new DeploymentBuilder()
                .withNewMetadata()
                .withName(Names.deployment(lb))
                .withNamespace(lb.getMetadata().getNamespace())
                .withLabels(Labels.all(lb))
                .endMetadata()
                .withNewSpec()
                .withReplicas(replicas(spec))
                .withNewSelector()
                .withMatchLabels(Labels.selector(lb))
                .endSelector()
                // Zero-downtime rollouts: a new pod must be ready before an old one goes.
                .withNewStrategy()
                .withType("RollingUpdate")
                .withNewRollingUpdate()
                .withMaxUnavailable(new IntOrString(0))
                .withMaxSurge(new IntOrString(1))
                .endRollingUpdate()
                .endStrategy()
                .withRevisionHistoryLimit(10)
                .withProgressDeadlineSeconds(600)
                .withNewTemplate()
                .withNewMetadata()
                .withLabels(podLabels)
                .withAnnotations(podAnnotations)
                .endMetadata()
                .withNewSpec()
                .withServiceAccountName(Names.serviceAccount(lb))
                // The proxy reads and watches its ConfigMap through the API.
                .withAutomountServiceAccountToken(true)
                // The proxy takes its settings from the environment; keep the namespace's Services
                // out of it (a Service named "metrics" would bring METRICS_PORT=tcp://...).
                .withEnableServiceLinks(false)
                .withNewSecurityContext()
                .withRunAsNonRoot(true)
                .withRunAsUser(PROXY_UID)
                .withRunAsGroup(PROXY_UID)
                .withFsGroup(PROXY_UID)
                .withNewSeccompProfile()
                .withType("RuntimeDefault")
                .endSeccompProfile()
                .endSecurityContext()
                .withTerminationGracePeriodSeconds(TERMINATION_GRACE_SECONDS)
                .withImagePullSecrets(pullSecrets(pullSecrets, pod))
                .withNodeSelector(copy(pod.getNodeSelector()))
                .withTolerations(
                        pod.getTolerations() == null
                                ? null
                                : pod.getTolerations().stream()
                                        .map(t -> new TolerationBuilder(t).build())
                                        .toList())
                .withAffinity(pod.getAffinity() == null ? null : new AffinityBuilder(pod.getAffinity()).build())
                .withTopologySpreadConstraints(spread(lb, pod))
                .withPriorityClassName(pod.getPriorityClassName())
                .withRestartPolicy("Always")
                .withDnsPolicy("ClusterFirst")
                .withSchedulerName("default-scheduler")
                .withContainers(container(lb, defaultImage))
                // The JVM needs a writable /tmp under a read-only root filesystem.
                .addNewVolume()
                .withName("tmp")
                .withNewEmptyDir()
                .endEmptyDir()
                .endVolume()
                .addAllToVolumes(ProxyTls.volumes(spec))
                .endSpec()
                .endTemplate()
                .endSpec()
                .build();
    }

    /** The operator's pull secrets, then the LoadBalancer's, each name once. */
    private static List<LocalObjectReference> pullSecrets(List<String> operators, PodTemplateSpec pod) {
        Set<String> names = new LinkedHashSet<>(operators);
        for (LocalObjectReference ref :
                Objects.requireNonNullElse(pod.getImagePullSecrets(), List.<LocalObjectReference>of())) {
            if (ref.getName() != null && !ref.getName().isBlank()) {
                names.add(ref.getName());
            }
        }
        return names.stream().map(LocalObjectReference::new).toList();
    }

    private static Map<String, String> copy(Map<String, String> map) {
        return map == null ? null : new TreeMap<>(map);
    }

    /**
     * The LoadBalancer's spread, or by default a soft one across nodes and zones: two replicas on one node would go
     * together with one {@code kubectl drain}. Soft, so that a one-node cluster still runs every replica.
     */
    private static List<TopologySpreadConstraint> spread(LoadBalancer lb, PodTemplateSpec pod) {
        if (pod.getTopologySpreadConstraints() != null
                && !pod.getTopologySpreadConstraints().isEmpty()) {
            return pod.getTopologySpreadConstraints().stream()
                    .map(c -> new TopologySpreadConstraintBuilder(c).build())
                    .toList();
        }
        return Stream.of("kubernetes.io/hostname", "topology.kubernetes.io/zone")
                .map(key -> new TopologySpreadConstraintBuilder()
                        .withMaxSkew(1)
                        .withTopologyKey(key)
                        .withWhenUnsatisfiable("ScheduleAnyway")
                        .withNewLabelSelector()
                        .withMatchLabels(Labels.selector(lb))
                        .endLabelSelector()
                        .build())
                .toList();
    }

    private static Container container(LoadBalancer lb, String defaultImage) {
        LoadBalancerSpec spec = lb.getSpec();
        String image = spec.getImage() == null || spec.getImage().isBlank() ? defaultImage : spec.getImage();
        return new ContainerBuilder()
                .withName(CONTAINER_NAME)
                .withImage(Objects.requireNonNull(image, "no image: spec.image and the default image are both empty"))
                .withImagePullPolicy("IfNotPresent")
                .withPorts(ports(spec))
                .withEnv(env(lb))
                .withLivenessProbe(probe("/healthz", 10, 3))
                .withReadinessProbe(probe("/readyz", 5, 2))
                .withNewSecurityContext()
                .withAllowPrivilegeEscalation(false)
                .withReadOnlyRootFilesystem(true)
                .withRunAsNonRoot(true)
                .withNewCapabilities()
                .withDrop("ALL")
                .endCapabilities()
                .endSecurityContext()
                .withResources(resources(spec))
                .addNewVolumeMount()
                .withName("tmp")
                .withMountPath("/tmp")
                .endVolumeMount()
                .addAllToVolumeMounts(ProxyTls.volumeMounts(spec))
                .withTerminationMessagePath("/dev/termination-log")
                .withTerminationMessagePolicy("File")
                .build();
    }

    private static List<ContainerPort> ports(LoadBalancerSpec spec) {
        List<ContainerPort> ports = new ArrayList<>();
        ports.add(port(Names.HTTP_PORT_NAME, Names.PROXY_PORT));
        if (ProxyTls.enabled(spec)) {
            ports.add(port(Names.HTTPS_PORT_NAME, Names.PROXY_TLS_PORT));
        }
        ports.add(port(Names.METRICS_PORT_NAME, Names.METRICS_PORT));
        return ports;
    }

    private static ContainerPort port(String name, int port) {
        return new ContainerPortBuilder()
                .withName(name)
                .withContainerPort(port)
                .withProtocol("TCP")
                .build();
    }

    /** The proxy's settings (see ProxySettings), sorted by name so the list is stable. */
    private static List<EnvVar> env(LoadBalancer lb) {
        return Stream.concat(
                        ProxyTls.env(lb.getSpec()).stream(),
                        Stream.of(
                                // Clients reach the Service's port, not the container's: X-Forwarded-Port says so.
                                env("FORWARDED_PORT", String.valueOf(ProxyServices.port(lb.getSpec()))),
                                env("LOG_FORMAT", "json"),
                                env("LOG_LEVEL", "info"),
                                env("METRICS_PORT", String.valueOf(Names.METRICS_PORT)),
                                new EnvVarBuilder()
                                        .withName("POD_NAMESPACE")
                                        .withNewValueFrom()
                                        .withNewFieldRef()
                                        .withApiVersion("v1")
                                        .withFieldPath("metadata.namespace")
                                        .endFieldRef()
                                        .endValueFrom()
                                        .build(),
                                env("POOL_CONFIGMAP", Names.poolConfigMap(lb)),
                                env("PORT", String.valueOf(Names.PROXY_PORT)),
                                env("SHUTDOWN_DELAY", SHUTDOWN_DELAY.toSeconds() + "s"),
                                env("SHUTDOWN_TIMEOUT", SHUTDOWN_TIMEOUT.toSeconds() + "s")))
                .sorted(Comparator.comparing(EnvVar::getName))
                .toList();
    }

    private static EnvVar env(String name, String value) {
        return new EnvVarBuilder().withName(name).withValue(value).build();
    }

    private static Probe probe(String path, int periodSeconds, int failureThreshold) {
        return new ProbeBuilder()
                .withNewHttpGet()
                .withPath(path)
                .withPort(new IntOrString(Names.METRICS_PORT_NAME))
                .withScheme("HTTP")
                .endHttpGet()
                .withPeriodSeconds(periodSeconds)
                .withFailureThreshold(failureThreshold)
                .withTimeoutSeconds(2)
                .withSuccessThreshold(1)
                .build();
    }

    private static ResourceRequirements resources(LoadBalancerSpec spec) {
        if (spec.getResources() != null) {
            // A copy, so that nothing done to the Deployment can reach back into the LoadBalancer.
            return new ResourceRequirementsBuilder(spec.getResources()).build();
        }
        return new ResourceRequirementsBuilder()
                .addToRequests("cpu", new Quantity("100m"))
                .addToRequests("memory", new Quantity("128Mi"))
                .addToLimits("memory", new Quantity("256Mi"))
                .build();
    }
}
