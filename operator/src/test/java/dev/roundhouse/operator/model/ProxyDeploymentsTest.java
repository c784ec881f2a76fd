package dev.roundhouse.operator.model;

import static dev.roundhouse.operator.model.TestLoadBalancers.backend;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.entry;
import static org.assertj.core.api.Assertions.tuple;

import dev.roundhouse.operator.api.v1alpha1.CircuitBreakerSpec;
import dev.roundhouse.operator.api.v1alpha1.HealthCheckSpec;
import dev.roundhouse.operator.api.v1alpha1.LoadBalancer;
import dev.roundhouse.operator.api.v1alpha1.PodTemplateSpec;
import dev.roundhouse.operator.api.v1alpha1.ServiceRefSpec;
import dev.roundhouse.operator.api.v1alpha1.TlsSpec;
import io.fabric8.kubernetes.api.model.AffinityBuilder;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.LocalObjectReference;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Probe;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.ResourceRequirementsBuilder;
import io.fabric8.kubernetes.api.model.TolerationBuilder;
import io.fabric8.kubernetes.api.model.TopologySpreadConstraintBuilder;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

class ProxyDeploymentsTest {

    private static final String DEFAULT_IMAGE = "ghcr.io/roundhouse/proxy:0.1.0";

    private final LoadBalancer lb = TestLoadBalancers.web();

    @Test
    void metadataAndSelector() {
        Deployment d = ProxyDeployments.desired(lb, DEFAULT_IMAGE);

        assertThat(d.getApiVersion()).isEqualTo("apps/v1");
        assertThat(d.getKind()).isEqualTo("Deployment");
        assertThat(d.getMetadata().getName()).isEqualTo("web-proxy");
        assertThat(d.getMetadata().getNamespace()).isEqualTo("shop");
        assertThat(d.getMetadata().getLabels()).isEqualTo(Labels.all(lb));
        assertThat(d.getMetadata().getOwnerReferences()).isNullOrEmpty();
        assertThat(d.getSpec().getSelector().getMatchLabels()).isEqualTo(Labels.selector(lb));
        assertThat(d.getSpec().getTemplate().getMetadata().getLabels()).isEqualTo(Labels.all(lb));
        assertThat(d.getSpec().getTemplate().getMetadata().getAnnotations())
                .containsExactly(
                        entry("prometheus.io/path", "/metrics"),
                        entry("prometheus.io/port", "9090"),
                        entry("prometheus.io/scrape", "true"));
    }

    /**
     * Each Secret of {@code spec.tls} is a read-only volume in a directory of its own, numbered in the spec's order
     * (the proxy reads the directory in name order, the first pair is its default); the proxy listens for HTTPS on an
     * unprivileged port and redirects to the Service's HTTPS port, which is what clients see.
     */
    @Test
    void tlsSecretsAreMountedInTheirOrderAndHttpsTurnedOn() {
        TlsSpec tls = new TlsSpec();
        tls.setSecretNames(List.of("shop-tls", "api-tls", "shop-tls", "x".repeat(253)));
        tls.setPort(443);
        tls.setRedirect(true);
        lb.getSpec().setTls(tls);
        Deployment d = ProxyDeployments.desired(lb, DEFAULT_IMAGE);
        PodSpec pod = d.getSpec().getTemplate().getSpec();
        Container proxy = pod.getContainers().get(0);

        assertThat(pod.getVolumes())
                .filteredOn(v -> v.getSecret() != null)
                .extracting(
                        v -> v.getName(),
                        v -> v.getSecret().getSecretName(),
                        v -> v.getSecret().getDefaultMode())
                .containsExactly(
                        tuple("tls-0", "shop-tls", 0440),
                        tuple("tls-1", "api-tls", 0440),
                        tuple("tls-2", "x".repeat(253), 0440));
        assertThat(proxy.getVolumeMounts())
                .filteredOn(m -> m.getName().startsWith("tls-"))
                .extracting(m -> m.getMountPath(), m -> m.getReadOnly())
                .containsExactly(
                        tuple("/etc/roundhouse/tls/00-shop-tls", true),
                        tuple("/etc/roundhouse/tls/01-api-tls", true),
                        tuple("/etc/roundhouse/tls/02-" + "x".repeat(252), true));
        assertThat(proxy.getPorts())
                .extracting(p -> p.getName(), p -> p.getContainerPort())
                .containsExactly(tuple("http", 8080), tuple("https", 8443), tuple("metrics", 9090));
        assertThat(proxy.getEnv())
                .extracting(EnvVar::getName, EnvVar::getValue)
                .contains(
                        tuple("TLS_CERT_FILE", "/etc/roundhouse/tls"),
                        tuple("TLS_FORWARDED_PORT", "443"),
                        tuple("TLS_PORT", "8443"),
                        tuple("TLS_REDIRECT", "true"),
                        tuple("TLS_REDIRECT_PORT", "443"));
        assertThat(proxy.getEnv()).extracting(EnvVar::getName).isSorted();

        lb.getSpec().setTls(null);
        Container plain = ProxyDeployments.desired(lb, DEFAULT_IMAGE)
                .getSpec()
                .getTemplate()
                .getSpec()
                .getContainers()
                .get(0);
        assertThat(plain.getEnv()).extracting(EnvVar::getName).noneMatch(name -> name.startsWith("TLS_"));
        assertThat(plain.getPorts()).extracting(p -> p.getName()).containsExactly("http", "metrics");
    }

    @Test
    void rolloutSettingsAreExplicit() {
        Deployment d = ProxyDeployments.desired(lb, DEFAULT_IMAGE);

        assertThat(d.getSpec().getReplicas()).isEqualTo(2);
        assertThat(d.getSpec().getStrategy().getType()).isEqualTo("RollingUpdate");
        assertThat(d.getSpec().getStrategy().getRollingUpdate().getMaxUnavailable())
                .isEqualTo(new IntOrString(0));
        assertThat(d.getSpec().getStrategy().getRollingUpdate().getMaxSurge()).isEqualTo(new IntOrString(1));
        assertThat(d.getSpec().getRevisionHistoryLimit()).isEqualTo(10);
        assertThat(d.getSpec().getProgressDeadlineSeconds()).isEqualTo(600);
    }

    @Test
    void podSpec() {
        PodSpec pod = ProxyDeployments.desired(lb, DEFAULT_IMAGE)
                .getSpec()
                .getTemplate()
                .getSpec();

        assertThat(pod.getServiceAccountName()).isEqualTo("web-proxy");
        assertThat(pod.getAutomountServiceAccountToken()).isTrue();
        assertThat(pod.getEnableServiceLinks()).isFalse();
        // Endpoints removed while it still accepts (5 s), the drain as long as the default request timeout (60 s),
        // and a margin: a rollout cuts nothing the proxy was given.
        assertThat(pod.getTerminationGracePeriodSeconds()).isEqualTo(75L);
        assertThat(pod.getRestartPolicy()).isEqualTo("Always");
        assertThat(pod.getDnsPolicy()).isEqualTo("ClusterFirst");
        assertThat(pod.getSchedulerName()).isEqualTo("default-scheduler");
        assertThat(pod.getSecurityContext().getRunAsNonRoot()).isTrue();
        assertThat(pod.getSecurityContext().getRunAsUser()).isEqualTo(10001L);
        assertThat(pod.getSecurityContext().getRunAsGroup()).isEqualTo(10001L);
        assertThat(pod.getSecurityContext().getFsGroup()).isEqualTo(10001L);
        assertThat(pod.getSecurityContext().getSeccompProfile().getType()).isEqualTo("RuntimeDefault");
        assertThat(pod.getVolumes()).singleElement().satisfies(v -> {
            assertThat(v.getName()).isEqualTo("tmp");
            assertThat(v.getEmptyDir()).isNotNull();
        });
        assertThat(pod.getContainers()).hasSize(1);
    }

    @Test
    void container() {
        Container c = container(lb);

        assertThat(c.getName()).isEqualTo("proxy");
        assertThat(c.getImage()).isEqualTo(DEFAULT_IMAGE);
        assertThat(c.getImagePullPolicy()).isEqualTo("IfNotPresent");
        assertThat(c.getPorts())
                .extracting("name", "containerPort", "protocol")
                .containsExactly(tuple("http", 8080, "TCP"), tuple("metrics", 9090, "TCP"));
        assertThat(c.getLifecycle()).isNull();
        assertThat(c.getVolumeMounts()).singleElement().satisfies(m -> {
            assertThat(m.getName()).isEqualTo("tmp");
            assertThat(m.getMountPath()).isEqualTo("/tmp");
        });
        assertThat(c.getSecurityContext().getAllowPrivilegeEscalation()).isFalse();
        assertThat(c.getSecurityContext().getReadOnlyRootFilesystem()).isTrue();
        assertThat(c.getSecurityContext().getRunAsNonRoot()).isTrue();
        assertThat(c.getSecurityContext().getCapabilities().getDrop()).containsExactly("ALL");
        assertThat(c.getSecurityContext().getCapabilities().getAdd()).isNullOrEmpty();
    }

    @Test
    void environmentIsSortedByName() {
        Container c = container(lb);

        assertThat(c.getEnv())
                .extracting(EnvVar::getName)
                .containsExactly(
                        "FORWARDED_PORT",
                        "LOG_FORMAT",
                        "LOG_LEVEL",
                        "METRICS_PORT",
                        "POD_NAMESPACE",
                        "POOL_CONFIGMAP",
                        "PORT",
                        "SHUTDOWN_DELAY",
                        "SHUTDOWN_TIMEOUT");
        assertThat(c.getEnv())
                .filteredOn(e -> e.getValue() != null)
                .extracting(EnvVar::getName, EnvVar::getValue)
                .containsExactly(
                        tuple("FORWARDED_PORT", "8080"),
                        tuple("LOG_FORMAT", "json"),
                        tuple("LOG_LEVEL", "info"),
                        tuple("METRICS_PORT", "9090"),
                        tuple("POOL_CONFIGMAP", "web-pool"),
                        tuple("PORT", "8080"),
                        tuple("SHUTDOWN_DELAY", "5s"),
                        tuple("SHUTDOWN_TIMEOUT", "60s"));
        EnvVar namespace = c.getEnv().get(4);
        assertThat(namespace.getValue()).isNull();
        assertThat(namespace.getValueFrom().getFieldRef().getFieldPath()).isEqualTo("metadata.namespace");
    }

    @Test
    void probesUseTheMetricsPort() {
        Container c = container(lb);

        assertProbe(c.getLivenessProbe(), "/healthz", 10, 3);
        assertProbe(c.getReadinessProbe(), "/readyz", 5, 2);
    }

    @Test
    void defaultResources() {
        Container c = container(lb);

        assertThat(c.getResources().getRequests())
                .containsOnly(entry("cpu", new Quantity("100m")), entry("memory", new Quantity("128Mi")));
        assertThat(c.getResources().getLimits()).containsOnly(entry("memory", new Quantity("256Mi")));
    }

    @Test
    void specSettingsWin() {
        lb.getSpec().setImage("registry.example/proxy:custom");
        lb.getSpec().setReplicas(5);
        lb.getSpec().setPort(80);
        lb.getSpec()
                .setResources(new ResourceRequirementsBuilder()
                        .addToRequests("cpu", new Quantity("1"))
                        .build());

        Deployment d = ProxyDeployments.desired(lb, DEFAULT_IMAGE);
        Container c = d.getSpec().getTemplate().getSpec().getContainers().get(0);

        assertThat(d.getSpec().getReplicas()).isEqualTo(5);
        assertThat(c.getImage()).isEqualTo("registry.example/proxy:custom");
        // spec.port is the Service's: a non-root container without capabilities cannot bind 80.
        assertThat(c.getPorts().get(0).getContainerPort()).isEqualTo(8080);
        assertThat(c.getEnv()).contains(new EnvVar("PORT", "8080", null));
        // ...and the port clients reach, which X-Forwarded-Port names to the backends.
        assertThat(c.getEnv()).contains(new EnvVar("FORWARDED_PORT", "80", null));
        assertThat(c.getResources().getRequests()).containsOnly(entry("cpu", new Quantity("1")));
        assertThat(c.getResources().getLimits()).isNullOrEmpty();
        // A copy: editing the Deployment does not edit the LoadBalancer.
        assertThat(c.getResources()).isNotSameAs(lb.getSpec().getResources());
    }

    @Test
    void nullReplicasAndPortFallBackToDefaults() {
        lb.getSpec().setReplicas(null);
        lb.getSpec().setPort(null);

        Deployment d = ProxyDeployments.desired(lb, DEFAULT_IMAGE);

        assertThat(d.getSpec().getReplicas()).isEqualTo(2);
        assertThat(d.getSpec()
                        .getTemplate()
                        .getSpec()
                        .getContainers()
                        .get(0)
                        .getPorts()
                        .get(0)
                        .getContainerPort())
                .isEqualTo(8080);
    }

    @Test
    void poolChangesLeaveTheDeploymentAlone() {
        LoadBalancer other = TestLoadBalancers.named("web", backend("http://10.9.9.9:80", 7));
        HealthCheckSpec health = new HealthCheckSpec();
        health.setInterval("5s");
        other.getSpec().setHealthCheck(health);
        other.getSpec().setCircuitBreaker(new CircuitBreakerSpec());
        LoadBalancer discovering = TestLoadBalancers.named("web");
        discovering.getSpec().setBackends(null);
        ServiceRefSpec ref = new ServiceRefSpec();
        ref.setName("api");
        ref.setPort(80);
        discovering.getSpec().setServiceRef(ref);

        String yaml = yaml(lb);
        assertThat(yaml(other)).isEqualTo(yaml);
        assertThat(yaml(discovering)).isEqualTo(yaml);
    }

    @Test
    void whatThePodsRunWithChangesTheDeployment() {
        String base = yaml(TestLoadBalancers.web());

        assertThat(yaml(changed(lb -> lb.getSpec().setImage("registry.example/proxy:2"))))
                .isNotEqualTo(base);
        assertThat(yaml(changed(lb -> lb.getSpec().setReplicas(3)))).isNotEqualTo(base);
        assertThat(yaml(changed(lb -> lb.getSpec()
                        .setResources(new ResourceRequirementsBuilder()
                                .addToRequests("cpu", new Quantity("250m"))
                                .build()))))
                .isNotEqualTo(base);
    }

    @Test
    void thePodTemplateSectionReachesThePods() {
        PodTemplateSpec pod = new PodTemplateSpec();
        pod.setLabels(Map.of("team", "shop", Labels.INSTANCE, "spoof"));
        pod.setAnnotations(Map.of("example.com/owner", "shop", "prometheus.io/port", "1"));
        pod.setImagePullSecrets(
                List.of(new LocalObjectReference("shop-registry"), new LocalObjectReference("regcred")));
        pod.setNodeSelector(Map.of("node-role.example.com/edge", "true"));
        pod.setTolerations(List.of(new TolerationBuilder()
                .withKey("edge")
                .withOperator("Exists")
                .withEffect("NoSchedule")
                .build()));
        pod.setAffinity(new AffinityBuilder()
                .withNewNodeAffinity()
                .withNewRequiredDuringSchedulingIgnoredDuringExecution()
                .addNewNodeSelectorTerm()
                .addNewMatchExpression()
                .withKey("kubernetes.io/arch")
                .withOperator("In")
                .withValues("amd64", "arm64")
                .endMatchExpression()
                .endNodeSelectorTerm()
                .endRequiredDuringSchedulingIgnoredDuringExecution()
                .endNodeAffinity()
                .build());
        pod.setTopologySpreadConstraints(List.of(new TopologySpreadConstraintBuilder()
                .withMaxSkew(1)
                .withTopologyKey("kubernetes.io/hostname")
                .withWhenUnsatisfiable("DoNotSchedule")
                .withNewLabelSelector()
                .addToMatchLabels(Labels.INSTANCE, "web")
                .endLabelSelector()
                .build()));
        pod.setPriorityClassName("edge-critical");
        lb.getSpec().setPodTemplate(pod);

        var template = ProxyDeployments.desired(lb, DEFAULT_IMAGE, List.of("regcred"))
                .getSpec()
                .getTemplate();
        PodSpec spec = template.getSpec();

        assertThat(template.getMetadata().getLabels())
                .containsEntry("team", "shop")
                .containsAllEntriesOf(Labels.all(lb)); // the selector labels are the operator's
        assertThat(template.getMetadata().getAnnotations())
                .containsEntry("example.com/owner", "shop")
                .containsEntry("prometheus.io/port", "9090");
        assertThat(spec.getImagePullSecrets())
                .extracting(LocalObjectReference::getName)
                .containsExactly("regcred", "shop-registry");
        assertThat(spec.getNodeSelector()).containsExactly(entry("node-role.example.com/edge", "true"));
        assertThat(spec.getTolerations()).isEqualTo(pod.getTolerations()).isNotSameAs(pod.getTolerations());
        assertThat(spec.getAffinity()).isEqualTo(pod.getAffinity()).isNotSameAs(pod.getAffinity());
        assertThat(spec.getTopologySpreadConstraints()).isEqualTo(pod.getTopologySpreadConstraints());
        assertThat(spec.getPriorityClassName()).isEqualTo("edge-critical");
    }

    @Test
    void byDefaultThePodsSpreadSoftlyAcrossNodesAndZonesAndPullWithTheOperatorsSecrets() {
        PodSpec spec = ProxyDeployments.desired(lb, DEFAULT_IMAGE, List.of("regcred"))
                .getSpec()
                .getTemplate()
                .getSpec();

        assertThat(spec.getTopologySpreadConstraints())
                .extracting(
                        c -> c.getTopologyKey(),
                        c -> c.getWhenUnsatisfiable(),
                        c -> c.getMaxSkew(),
                        c -> c.getLabelSelector().getMatchLabels())
                .containsExactly(
                        tuple("kubernetes.io/hostname", "ScheduleAnyway", 1, Labels.selector(lb)),
                        tuple("topology.kubernetes.io/zone", "ScheduleAnyway", 1, Labels.selector(lb)));
        assertThat(spec.getImagePullSecrets())
                .extracting(LocalObjectReference::getName)
                .containsExactly("regcred");
        assertThat(spec.getNodeSelector()).isNullOrEmpty();
        assertThat(spec.getTolerations()).isNullOrEmpty();
        assertThat(spec.getAffinity()).isNull();
        assertThat(spec.getPriorityClassName()).isNull();
    }

    @Test
    void theServicePortChangesOnlyThePortTheProxiesNameInXForwardedPort() {
        // Moving the Service from 8080 to 80: the proxies keep listening where they were, and tell backends the port
        // clients now reach (a change of the pod template, so the proxies roll, draining as on any update).
        Deployment moved = ProxyDeployments.desired(changed(lb -> lb.getSpec().setPort(80)), DEFAULT_IMAGE);
        Deployment before = ProxyDeployments.desired(TestLoadBalancers.web(), DEFAULT_IMAGE);
        assertThat(moved.getSpec()
                        .getTemplate()
                        .getSpec()
                        .getContainers()
                        .get(0)
                        .getEnv())
                .contains(new EnvVar("FORWARDED_PORT", "80", null));
        assertThat(before.getSpec()
                        .getTemplate()
                        .getSpec()
                        .getContainers()
                        .get(0)
                        .getEnv())
                .contains(new EnvVar("FORWARDED_PORT", "8080", null));
        for (Deployment d : List.of(moved, before)) {
            d.getSpec()
                    .getTemplate()
                    .getSpec()
                    .getContainers()
                    .get(0)
                    .getEnv()
                    .removeIf(e -> e.getName().equals("FORWARDED_PORT"));
        }
        assertThat(Serialization.asYaml(moved)).isEqualTo(Serialization.asYaml(before));
    }

    @Test
    void sameInputSameText() {
        assertThat(yaml(TestLoadBalancers.web())).isEqualTo(yaml(TestLoadBalancers.web()));
    }

    private static LoadBalancer changed(Consumer<LoadBalancer> change) {
        LoadBalancer lb = TestLoadBalancers.web();
        change.accept(lb);
        return lb;
    }

    private static String yaml(LoadBalancer lb) {
        return Serialization.asYaml(ProxyDeployments.desired(lb, DEFAULT_IMAGE));
    }

    private static Container container(LoadBalancer lb) {
        return ProxyDeployments.desired(lb, DEFAULT_IMAGE)
                .getSpec()
                .getTemplate()
                .getSpec()
                .getContainers()
                .get(0);
    }

    private static void assertProbe(Probe probe, String path, int period, int failures) {
        assertThat(probe.getHttpGet().getPath()).isEqualTo(path);
        assertThat(probe.getHttpGet().getPort()).isEqualTo(new IntOrString("metrics"));
        assertThat(probe.getHttpGet().getScheme()).isEqualTo("HTTP");
        assertThat(probe.getPeriodSeconds()).isEqualTo(period);
        assertThat(probe.getFailureThreshold()).isEqualTo(failures);
        assertThat(probe.getTimeoutSeconds()).isEqualTo(2);
        assertThat(probe.getSuccessThreshold()).isEqualTo(1);
    }
}
