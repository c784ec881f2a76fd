package dev.roundhouse.e2e.chart;

import static dev.roundhouse.e2e.chart.ChartFixture.CHART;
import static dev.roundhouse.e2e.chart.ChartFixture.NAMESPACE;
import static dev.roundhouse.e2e.chart.ChartFixture.RELEASE;
import static dev.roundhouse.e2e.chart.ChartFixture.ofType;
import static dev.roundhouse.e2e.chart.ChartFixture.only;
import static dev.roundhouse.e2e.chart.ChartFixture.render;
import static dev.roundhouse.e2e.chart.ChartFixture.template;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.marcnuri.helm.Helm;
import com.marcnuri.helm.LintResult;
import com.marcnuri.helm.TemplateCommand;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceAccount;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import io.fabric8.kubernetes.api.model.rbac.RoleBinding;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.fabric8.openshift.api.model.monitoring.v1.PrometheusRule;
import io.fabric8.openshift.api.model.monitoring.v1.ServiceMonitor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * charts/roundhouse lints under --strict and renders, with its defaults and with every toggle on, to typed
 * Kubernetes objects that say what the values ask for.
 */
class ChartTemplateTest {

    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Path DASHBOARD = CHART.resolve("files/dashboards/roundhouse-proxy.json");
    private static final Path RULES = CHART.resolve("files/rules/roundhouse-proxy.rules.yaml");

    /** Every optional part of the chart switched on, and the other values set away from their defaults. */
    private static final Map<String, Object> EVERYTHING_ON = orderedMap(
            "replicas",
            2,
            "watchNamespaces[0]",
            "team-a",
            "watchNamespaces[1]",
            "team-b",
            "logLevel",
            "debug",
            "logFormat",
            "text",
            "image.tag",
            "1.2.3",
            "proxyImage.repository",
            "registry.example:5000/roundhouse/proxy",
            "proxyImage.tag",
            "1.2.3",
            "imagePullSecrets[0].name",
            "registry",
            "serviceAccount.annotations.example\\.com/role",
            "operator",
            "podAnnotations.example\\.com/team",
            "platform",
            "nodeSelector.kubernetes\\.io/os",
            "linux",
            "tolerations[0].key",
            "dedicated",
            "tolerations[0].operator",
            "Exists",
            "affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight",
            100,
            "affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm.topologyKey",
            "kubernetes.io/hostname",
            "podDisruptionBudget.enabled",
            true,
            "metrics.serviceMonitor.enabled",
            true,
            "metrics.serviceMonitor.labels.release",
            "prometheus",
            "grafanaDashboard.enabled",
            true,
            "grafanaDashboard.annotations.grafana_folder",
            "Roundhouse",
            "grafanaDashboard.namespace",
            "monitoring",
            "prometheusRule.enabled",
            true,
            "prometheusRule.labels.release",
            "prometheus");

    // ---------------------------------------------------------------- lint

    @Test
    void lintStrictPassesWithTheDefaults() {
        LintResult result = new Helm(CHART).lint().strict().call();
        assertThat(result.isFailed())
                .as("helm lint --strict: %s", result.getMessages())
                .isFalse();
        assertThat(result.getMessages()).noneMatch(m -> m.contains("[WARNING]") || m.contains("[ERROR]"));
    }

    @Test
    void lintStrictPassesWithEveryToggleOn(@TempDir Path dir) throws IOException {
        // helm lint reads values.yaml only: lint a copy whose values.yaml switches everything on
        Path chart = copyChart(dir, true);
        ObjectNode values =
                (ObjectNode) YAML.readTree(chart.resolve("values.yaml").toFile());
        values.put("replicas", 2);
        values.putArray("watchNamespaces").add("team-a").add("team-b");
        values.withObject("/podDisruptionBudget").put("enabled", true).put("minAvailable", "50%");
        values.withObject("/metrics/serviceMonitor").put("enabled", true);
        values.withObject("/grafanaDashboard").put("enabled", true);
        values.withObject("/prometheusRule").put("enabled", true);
        YAML.writeValue(chart.resolve("values.yaml").toFile(), values);

        LintResult result = new Helm(chart).lint().strict().call();
        assertThat(result.isFailed())
                .as("helm lint --strict: %s", result.getMessages())
                .isFalse();
    }

    @Test
    void lintStrictRefusesValuesTheSchemaRefuses(@TempDir Path dir) throws IOException {
        Path chart = copyChart(dir, true);
        Files.writeString(
                chart.resolve("values.yaml"),
                Files.readString(chart.resolve("values.yaml")).replace("logLevel: info", "logLevel: loud"));
        LintResult result = new Helm(chart).lint().strict().call();
        assertThat(result.isFailed()).isTrue();
        assertThat(String.join("\n", result.getMessages())).contains("at '/logLevel': value must be one of");
    }

    // ---------------------------------------------------------------- what renders

    @Test
    void defaultsRenderTheOperatorItsServiceAndItsRbacOnly() {
        List<HasMetadata> objects = render(template());
        // Two ClusterRoles of the operator's, and two that fold LoadBalancer rights into view, edit and admin.
        assertThat(objects)
                .extracting(HasMetadata::getKind)
                .containsExactlyInAnyOrder(
                        "ServiceAccount",
                        "ClusterRole",
                        "ClusterRole",
                        "ClusterRole",
                        "ClusterRole",
                        "ClusterRoleBinding",
                        "ClusterRoleBinding",
                        "Role",
                        "RoleBinding",
                        "Service",
                        "Deployment");
        assertThat(objects).allSatisfy(o -> {
            assertThat(o.getMetadata().getLabels())
                    .as("labels of %s %s", o.getKind(), o.getMetadata().getName())
                    .containsEntry("app.kubernetes.io/instance", RELEASE)
                    .containsEntry("app.kubernetes.io/name", "roundhouse")
                    .containsEntry("app.kubernetes.io/managed-by", "Helm")
                    .containsKey("helm.sh/chart");
            if (!o.getKind().startsWith("Cluster")) {
                assertThat(o.getMetadata().getNamespace())
                        .as("namespace of %s", o.getKind())
                        .isEqualTo(NAMESPACE);
            }
        });
    }

    @Test
    void kubernetesOlderThanTheCrdsCelRulesNeedIsRefusedByName() {
        // CEL rules in the CRD are on by default from 1.25; an older API server would drop them and accept what they
        // refuse. Cloud providers' versions carry a pre-release suffix, which the constraint admits.
        assertThat(render(template().withKubeVersion("1.31.4-eks-2d5f260"))).isNotEmpty();
        assertThatThrownBy(() -> template().withKubeVersion("1.24.17").call())
                .hasMessageContaining("chart requires kubeVersion: >=" + ChartFixture.OLDEST_KUBERNETES)
                .hasMessageContaining("1.24.17");
    }

    @Test
    void namesPlacementAndDigestsAUserExpectsOfAChart() {
        List<HasMetadata> objects = render(template()
                .set("fullnameOverride", "edge-operator")
                .set("priorityClassName", "system-cluster-critical")
                .set("topologySpreadConstraints[0].maxSkew", "1")
                .set("topologySpreadConstraints[0].topologyKey", "topology.kubernetes.io/zone")
                .set("topologySpreadConstraints[0].whenUnsatisfiable", "ScheduleAnyway")
                .set("image.digest", "sha256:" + "a".repeat(64))
                .set("proxyImage.digest", "sha256:" + "b".repeat(64)));
        Deployment deployment = only(objects, Deployment.class);
        PodSpec pod = deployment.getSpec().getTemplate().getSpec();

        assertThat(deployment.getMetadata().getName()).isEqualTo("edge-operator");
        assertThat(objects)
                .filteredOn(o -> o.getKind().startsWith("Cluster"))
                .allSatisfy(o -> assertThat(o.getMetadata().getName()).startsWith("edge-operator"));
        assertThat(pod.getPriorityClassName()).isEqualTo("system-cluster-critical");
        assertThat(pod.getTopologySpreadConstraints())
                .singleElement()
                .satisfies(c -> assertThat(c.getTopologyKey()).isEqualTo("topology.kubernetes.io/zone"));
        Container container = pod.getContainers().get(0);
        assertThat(container.getImage())
                .isEqualTo("ghcr.io/roundhouse-dev/roundhouse-operator@sha256:" + "a".repeat(64));
        assertThat(env(container, "PROXY_IMAGE"))
                .isEqualTo("ghcr.io/roundhouse-dev/roundhouse-proxy@sha256:" + "b".repeat(64));
    }

    @Test
    void everyToggleOnRendersTypedObjectsForEachPart() {
        List<HasMetadata> objects = render(everythingOn());
        assertThat(objects)
                .extracting(HasMetadata::getKind)
                .contains("ServiceMonitor", "PodDisruptionBudget", "ConfigMap", "PrometheusRule");
        assertThat(only(objects, ServiceMonitor.class).getMetadata().getNamespace())
                .isEqualTo(NAMESPACE);
        assertThat(only(objects, PrometheusRule.class).getMetadata().getLabels())
                .containsEntry("release", "prometheus");
        assertThat(ofType(objects, RoleBinding.class))
                .extracting(b -> b.getMetadata().getNamespace())
                .containsExactlyInAnyOrder("team-a", "team-b", NAMESPACE);
        ServiceAccount account = only(objects, ServiceAccount.class);
        assertThat(account.getMetadata().getAnnotations()).containsEntry("example.com/role", "operator");

        PodSpec pod = only(objects, Deployment.class).getSpec().getTemplate().getSpec();
        assertThat(pod.getImagePullSecrets())
                .singleElement()
                .satisfies(s -> assertThat(s.getName()).isEqualTo("registry"));
        assertThat(pod.getNodeSelector()).containsEntry("kubernetes.io/os", "linux");
        assertThat(pod.getTolerations())
                .singleElement()
                .satisfies(t -> assertThat(t.getKey()).isEqualTo("dedicated"));
        assertThat(pod.getAffinity().getPodAntiAffinity().getPreferredDuringSchedulingIgnoredDuringExecution())
                .singleElement()
                .satisfies(t -> assertThat(t.getWeight()).isEqualTo(100));
        assertThat(only(objects, Deployment.class)
                        .getSpec()
                        .getTemplate()
                        .getMetadata()
                        .getAnnotations())
                .containsEntry("example.com/team", "platform");
    }

    @Test
    void operatorDeploymentCarriesTheValuesTheOperatorReads() {
        Deployment deployment = only(render(everythingOn()), Deployment.class);
        assertThat(deployment.getSpec().getReplicas()).isEqualTo(2);
        Container container =
                deployment.getSpec().getTemplate().getSpec().getContainers().get(0);
        assertThat(container.getImage()).isEqualTo("ghcr.io/roundhouse-dev/roundhouse-operator:1.2.3");
        assertThat(env(container, "PROXY_IMAGE")).isEqualTo("registry.example:5000/roundhouse/proxy:1.2.3");
        assertThat(env(container, "WATCH_NAMESPACES")).isEqualTo("team-a,team-b");
        // The pull secrets reach every proxy pod too, through the operator.
        assertThat(env(container, "PROXY_IMAGE_PULL_SECRETS")).isEqualTo("registry");
        assertThat(env(container, "LOG_LEVEL")).isEqualTo("debug");
        assertThat(env(container, "LOG_FORMAT")).isEqualTo("text");
        assertThat(env(container, "LEADER_ELECTION")).isEqualTo("true");

        Container defaults = only(
                        render(template().set("leaderElection", "false").set("replicas", "1")), Deployment.class)
                .getSpec()
                .getTemplate()
                .getSpec()
                .getContainers()
                .get(0);
        assertThat(defaults.getImage())
                .as("the tag defaults to the chart's appVersion")
                .isEqualTo("ghcr.io/roundhouse-dev/roundhouse-operator:" + appVersion());
        assertThat(env(defaults, "PROXY_IMAGE")).isEqualTo("ghcr.io/roundhouse-dev/roundhouse-proxy:" + appVersion());
        assertThat(env(defaults, "LEADER_ELECTION")).isEqualTo("false");
        assertThat(env(defaults, "WATCH_NAMESPACES")).isEmpty();
        assertThat(env(defaults, "PROXY_IMAGE_PULL_SECRETS")).isEmpty();
    }

    @Test
    void operatorPodMeetsTheRestrictedPodSecurityStandard() {
        Deployment deployment = only(render(template()), Deployment.class);
        PodSpec pod = deployment.getSpec().getTemplate().getSpec();
        assertThat(pod.getSecurityContext().getRunAsNonRoot()).isTrue();
        assertThat(pod.getSecurityContext().getSeccompProfile().getType()).isEqualTo("RuntimeDefault");
        assertThat(pod.getHostNetwork()).isNotEqualTo(Boolean.TRUE);
        assertThat(pod.getHostPID()).isNotEqualTo(Boolean.TRUE);
        assertThat(pod.getVolumes()).allSatisfy(v -> assertThat(v.getHostPath()).isNull());
        assertThat(pod.getContainers()).singleElement().satisfies(c -> {
            assertThat(c.getSecurityContext().getAllowPrivilegeEscalation()).isFalse();
            assertThat(c.getSecurityContext().getCapabilities().getDrop()).containsExactly("ALL");
            assertThat(c.getSecurityContext().getCapabilities().getAdd()).isNullOrEmpty();
            assertThat(c.getSecurityContext().getPrivileged()).isNotEqualTo(Boolean.TRUE);
            assertThat(c.getSecurityContext().getReadOnlyRootFilesystem()).isTrue();
            assertThat(c.getResources().getRequests()).containsKeys("cpu", "memory");
            assertThat(c.getResources().getLimits()).containsKey("memory");
            assertThat(c.getStartupProbe().getHttpGet().getPath()).isEqualTo("/healthz");
            assertThat(c.getLivenessProbe().getHttpGet().getPath()).isEqualTo("/healthz");
            assertThat(c.getReadinessProbe().getHttpGet().getPath()).isEqualTo("/readyz");
        });
        assertThat(deployment.getSpec().getSelector().getMatchLabels())
                .isEqualTo(only(render(template()), Service.class).getSpec().getSelector());
        assertThat(deployment.getSpec().getTemplate().getMetadata().getLabels())
                .containsAllEntriesOf(deployment.getSpec().getSelector().getMatchLabels());
    }

    @Test
    void moreThanOneReplicaNeedsLeaderElection() {
        assertThatThrownBy(() -> template()
                        .set("replicas", "2")
                        .set("leaderElection", "false")
                        .call())
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("replicas > 1 needs leaderElection: true");
    }

    // ---------------------------------------------------------------- PodDisruptionBudget

    @Test
    void podDisruptionBudgetOnlyWhenEnabledAndNeverBlockingADrainByDefault() {
        assertThat(render(template())).noneMatch(o -> o instanceof PodDisruptionBudget);

        List<HasMetadata> objects = render(template().set("podDisruptionBudget.enabled", "true"));
        PodDisruptionBudget pdb = only(objects, PodDisruptionBudget.class);
        assertThat(pdb.getSpec().getMaxUnavailable().getIntVal()).isEqualTo(1);
        assertThat(pdb.getSpec().getMinAvailable()).isNull();
        assertThat(pdb.getSpec().getSelector().getMatchLabels())
                .isEqualTo(
                        only(objects, Deployment.class).getSpec().getSelector().getMatchLabels());
    }

    @Test
    void podDisruptionBudgetTakesMinAvailableOrMaxUnavailableButNotBoth() {
        PodDisruptionBudget min = only(
                render(template()
                        .set("podDisruptionBudget.enabled", "true")
                        .set("podDisruptionBudget.minAvailable", "1")),
                PodDisruptionBudget.class);
        assertThat(min.getSpec().getMinAvailable().getIntVal()).isEqualTo(1);
        assertThat(min.getSpec().getMaxUnavailable()).isNull();

        PodDisruptionBudget max = only(
                render(template()
                        .set("podDisruptionBudget.enabled", "true")
                        .set("podDisruptionBudget.maxUnavailable", "50%")),
                PodDisruptionBudget.class);
        assertThat(max.getSpec().getMaxUnavailable().getStrVal()).isEqualTo("50%");
        assertThat(max.getSpec().getMinAvailable()).isNull();

        PodDisruptionBudget zero = only(
                render(template()
                        .set("podDisruptionBudget.enabled", "true")
                        .set("podDisruptionBudget.maxUnavailable", "0")),
                PodDisruptionBudget.class);
        assertThat(zero.getSpec().getMaxUnavailable().getIntVal())
                .as("0 is a value, not unset")
                .isZero();

        assertThatThrownBy(() -> template()
                        .set("podDisruptionBudget.enabled", "true")
                        .set("podDisruptionBudget.minAvailable", "1")
                        .set("podDisruptionBudget.maxUnavailable", "1")
                        .call())
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("podDisruptionBudget: set minAvailable or maxUnavailable, not both");
    }

    // ---------------------------------------------------------------- Grafana dashboard

    @Test
    void grafanaDashboardIsAConfigMapForTheSidecarHoldingTheDashboardFile() throws IOException {
        assertThat(render(template())).noneMatch(o -> o instanceof ConfigMap);

        ConfigMap defaults = only(render(template().set("grafanaDashboard.enabled", "true")), ConfigMap.class);
        assertThat(defaults.getMetadata().getNamespace()).isEqualTo(NAMESPACE);
        assertThat(defaults.getMetadata().getLabels())
                .containsEntry("grafana_dashboard", "1")
                .containsEntry("app.kubernetes.io/instance", RELEASE);
        assertThat(defaults.getMetadata().getAnnotations()).isNullOrEmpty();
        assertThat(defaults.getData()).containsOnlyKeys("roundhouse-proxy.json");
        assertThat(JSON.readTree(defaults.getData().get("roundhouse-proxy.json")))
                .as("the dashboard, as the chart's file holds it")
                .isEqualTo(JSON.readTree(DASHBOARD.toFile()));

        ConfigMap set = only(
                render(everythingOn().set("grafanaDashboard.labels.grafana_dashboard", "roundhouse")), ConfigMap.class);
        assertThat(set.getMetadata().getNamespace()).isEqualTo("monitoring");
        assertThat(set.getMetadata().getAnnotations()).containsEntry("grafana_folder", "Roundhouse");
        assertThat(set.getMetadata().getLabels()).containsEntry("grafana_dashboard", "roundhouse");
    }

    // ---------------------------------------------------------------- PrometheusRule

    @Test
    void prometheusRuleHoldsTheGroupsOfTheRulesFile() throws IOException {
        assertThat(render(template())).noneMatch(o -> o instanceof PrometheusRule);

        PrometheusRule rule = only(
                render(template()
                        .set("prometheusRule.enabled", "true")
                        .set("prometheusRule.labels.release", "prometheus")),
                PrometheusRule.class);
        assertThat(rule.getMetadata().getNamespace()).isEqualTo(NAMESPACE);
        assertThat(rule.getMetadata().getLabels())
                .containsEntry("release", "prometheus")
                .containsEntry("app.kubernetes.io/instance", RELEASE);
        JsonNode fromFile = YAML.readTree(RULES.toFile()).get("groups");
        JsonNode rendered = JSON.readTree(
                new KubernetesSerialization().asJson(rule.getSpec().getGroups()));
        assertThat(fromFile).as("groups: in %s", RULES).isNotNull();
        assertThat(rendered)
                .as("spec.groups, rule for rule and character for character (Prometheus templates included)")
                .isEqualTo(fromFile);
    }

    @Test
    void missingOrBrokenObservabilityFilesFailWithTheirName(@TempDir Path dir) throws IOException {
        Path chart = copyChart(dir, false);
        assertThatThrownBy(() ->
                        template(chart).set("grafanaDashboard.enabled", "true").call())
                .hasMessageContaining(
                        "grafanaDashboard.enabled: the chart has no files/dashboards/roundhouse-proxy.json");
        assertThatThrownBy(() ->
                        template(chart).set("prometheusRule.enabled", "true").call())
                .hasMessageContaining(
                        "prometheusRule.enabled: the chart has no files/rules/roundhouse-proxy.rules.yaml");

        Files.createDirectories(chart.resolve("files/dashboards"));
        Files.writeString(chart.resolve("files/dashboards/roundhouse-proxy.json"), "{\"title\": ");
        assertThatThrownBy(() ->
                        template(chart).set("grafanaDashboard.enabled", "true").call())
                .hasMessageContaining("files/dashboards/roundhouse-proxy.json is not valid JSON");
        Files.createDirectories(chart.resolve("files/rules"));
        Files.writeString(chart.resolve("files/rules/roundhouse-proxy.rules.yaml"), "rules: []\n");
        assertThatThrownBy(() ->
                        template(chart).set("prometheusRule.enabled", "true").call())
                .hasMessageContaining("needs a list of rule groups under groups: at its top");
    }

    // ---------------------------------------------------------------- helpers

    private static TemplateCommand everythingOn() {
        TemplateCommand template = template();
        for (Map.Entry<String, Object> value : EVERYTHING_ON.entrySet()) {
            template = template.set(value.getKey(), value.getValue());
        }
        return template;
    }

    /** A copy of the chart, with or without its files/ (dashboard and rules). */
    private static Path copyChart(Path dir, boolean withFiles) throws IOException {
        Path target = dir.resolve("roundhouse");
        try (Stream<Path> paths = Files.walk(CHART)) {
            for (Path source : paths.toList()) {
                Path relative = CHART.relativize(source);
                if (!withFiles && relative.startsWith("files")) {
                    continue;
                }
                Path copy = target.resolve(relative.toString());
                if (Files.isDirectory(source)) {
                    Files.createDirectories(copy);
                } else {
                    Files.copy(source, copy);
                }
            }
        }
        return target;
    }

    private static String appVersion() {
        try {
            return YAML.readTree(CHART.resolve("Chart.yaml").toFile())
                    .get("appVersion")
                    .asText();
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    private static String env(Container container, String name) {
        return container.getEnv().stream()
                .filter(e -> e.getName().equals(name))
                .findFirst()
                .map(EnvVar::getValue)
                .orElseThrow(() -> new AssertionError("no env " + name));
    }

    private static Map<String, Object> orderedMap(Object... keysAndValues) {
        Map<String, Object> map = new java.util.LinkedHashMap<>();
        for (int i = 0; i < keysAndValues.length; i += 2) {
            map.put((String) keysAndValues[i], keysAndValues[i + 1]);
        }
        return map;
    }
}
