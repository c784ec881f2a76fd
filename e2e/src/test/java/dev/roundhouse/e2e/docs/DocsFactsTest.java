package dev.roundhouse.e2e.docs;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.marcnuri.helm.Helm;
import dev.roundhouse.e2e.chart.ChartFixture;
import dev.roundhouse.e2e.chart.OperatorPermissions;
import dev.roundhouse.operator.OperatorSettings;
import dev.roundhouse.operator.api.v1alpha1.BackendSpec;
import dev.roundhouse.operator.api.v1alpha1.LoadBalancer;
import dev.roundhouse.operator.api.v1alpha1.LoadBalancerSpec;
import dev.roundhouse.operator.dependent.Managed;
import dev.roundhouse.operator.model.ProxyDeployments;
import dev.roundhouse.operator.model.Reason;
import dev.roundhouse.operator.reconciler.LoadBalancerReconciler;
import dev.roundhouse.proxy.pool.WeightedRoundRobin;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.javaoperatorsdk.operator.api.config.LeaderElectionConfiguration;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Facts the docs state, checked against where they come from: links, the operator's constants and defaults,
 * the chart as Helm renders it, the Jib profile's properties.
 */
class DocsFactsTest {

    static final List<String> PAGES = List.of(
            "docs/install.md",
            "docs/loadbalancer-reference.md",
            "docs/metrics.md",
            "docs/operations.md",
            "docs/argocd.md",
            "docs/http-conformance.md");
    private static final Pattern LINK = Pattern.compile("\\]\\(([^)\\s]+)\\)");

    @ParameterizedTest
    @ValueSource(
            strings = {
                "docs/install.md",
                "docs/loadbalancer-reference.md",
                "docs/metrics.md",
                "docs/operations.md",
                "docs/argocd.md",
                "docs/http-conformance.md",
                "docs/health.md"
            })
    void relativeLinksAndAnchorsResolve(String page) {
        Path dir = Docs.path(page).getParent();
        List<String> broken = new ArrayList<>();
        // Links outside code: drop fenced blocks and code spans (a pattern such as ([-a-z]*) is no link).
        String text = Docs.read(page).replaceAll("(?ms)^```.*?^```$", "").replaceAll("`[^`\n]*`", "");
        Matcher m = LINK.matcher(text);
        while (m.find()) {
            String target = m.group(1);
            if (target.matches("^[a-z]+:.*")) {
                continue; // http(s), mailto
            }
            String file = target.contains("#") ? target.substring(0, target.indexOf('#')) : target;
            String anchor = target.contains("#") ? target.substring(target.indexOf('#') + 1) : null;
            Path resolved = file.isEmpty() ? Docs.path(page) : dir.resolve(file).normalize();
            if (!Files.exists(resolved)) {
                broken.add(target + " (no " + resolved + ")");
            } else if (anchor != null && !anchors(resolved).contains(anchor)) {
                broken.add(target + " (no heading #" + anchor + " in " + resolved + ", has " + anchors(resolved) + ")");
            }
        }
        assertThat(broken).as("links in %s", page).isEmpty();
    }

    /** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens. */
    static Set<String> anchors(Path markdown) {
        Set<String> anchors = new TreeSet<>();
        try {
            boolean fenced = false;
            for (String line : Files.readAllLines(markdown)) {
                if (line.startsWith("```")) {
                    fenced = !fenced;
                } else if (!fenced && line.startsWith("#")) {
                    String text = line.replaceFirst("^#+\\s*", "").toLowerCase(Locale.ROOT);
                    anchors.add(text.replaceAll("[^a-z0-9 _-]", "").replace(' ', '-'));
                }
            }
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return anchors;
    }

    @Test
    void everyConditionReasonIsInTheReference() {
        String reference = flat("docs/loadbalancer-reference.md");
        assertThat(Reason.values()).allSatisfy(r -> assertThat(reference).contains("`" + r.value() + "`"));
    }

    @Test
    void theRotationsPrecomputedLimitIsTheProxysOwn() {
        String limit = String.format(java.util.Locale.ROOT, "%,d", WeightedRoundRobin.PRECOMPUTED_STEPS);
        assertThat(flat("README.md")).contains("the sum of their weights over " + limit + ")");
        assertThat(flat("docs/health.md")).contains("Up to " + limit + " backends × cycle");
    }

    @Test
    void namesFromTheOperatorsCode() {
        String fieldManager = "field manager `" + LoadBalancerReconciler.NAME + "`";
        // The Lease of the chart installed as docs/install.md installs it (release "roundhouse").
        String lease = OperatorPermissions.leaseName(ChartFixture.only(
                ChartFixture.render(ChartFixture.template().withName("roundhouse")), Deployment.class));
        assertThat(flat("docs/operations.md"))
                .contains(fieldManager)
                .contains("Lease `" + lease + "`")
                .contains("get lease " + lease + " ")
                .contains("Lost the leader lease " + lease + ";");
        assertThat(flat("docs/argocd.md")).contains(fieldManager).contains(Managed.SELECTOR.replace("=", ": "));
        assertThat(flat("docs/install.md"))
                .contains("`" + lease + "` for the release above")
                .contains("You need Kubernetes " + ChartFixture.OLDEST_KUBERNETES.replaceAll("\\.0$", "") + " or later")
                .contains("| `LEADER_ELECTION_LEASE` | `" + OperatorSettings.DEFAULT_LEASE_NAME + "` |");
        assertThat(flat("docs/operations.md"))
                .as("JOSDK's lease duration, which the operator keeps")
                .contains("within about " + LeaderElectionConfiguration.LEASE_DURATION_DEFAULT_VALUE.toSeconds()
                        + " seconds");
    }

    /** A doc with every run of whitespace as one space, so that line breaks do not matter. */
    private static String flat(String page) {
        return Docs.read(page).replaceAll("\\s+", " ");
    }

    @Test
    void proxyDeploymentFactsMatchWhatTheOperatorBuilds() {
        LoadBalancer lb = new LoadBalancer();
        lb.setMetadata(
                new ObjectMetaBuilder().withName("web").withNamespace("shop").build());
        LoadBalancerSpec spec = new LoadBalancerSpec();
        BackendSpec backend = new BackendSpec();
        backend.setUrl("http://10.0.0.1:8080");
        spec.setBackends(List.of(backend));
        lb.setSpec(spec);
        Deployment deployment = ProxyDeployments.desired(lb, "img");
        Container proxy =
                deployment.getSpec().getTemplate().getSpec().getContainers().get(0);
        String shutdown = proxy.getEnv().stream()
                .filter(e -> e.getName().equals("SHUTDOWN_TIMEOUT"))
                .findFirst()
                .orElseThrow()
                .getValue();
        String operations = flat("docs/operations.md");
        assertThat(operations)
                .contains("`maxSurge: "
                        + deployment
                                .getSpec()
                                .getStrategy()
                                .getRollingUpdate()
                                .getMaxSurge()
                                .getIntVal() + "`, `maxUnavailable: "
                        + deployment
                                .getSpec()
                                .getStrategy()
                                .getRollingUpdate()
                                .getMaxUnavailable()
                                .getIntVal() + "`")
                .contains("up to " + shutdown.replace("s", " s") + " (`SHUTDOWN_TIMEOUT`")
                .contains("the grace period is "
                        + deployment.getSpec().getTemplate().getSpec().getTerminationGracePeriodSeconds() + " s");
        var resources = proxy.getResources();
        assertThat(resources.getRequests()).containsOnlyKeys("cpu", "memory");
        assertThat(resources.getLimits()).containsOnlyKeys("memory");
        assertThat(Docs.tableRow(Docs.read("docs/loadbalancer-reference.md"), "spec.resources")
                        .orElseThrow())
                .contains("requests `cpu: " + resources.getRequests().get("cpu") + "`, `memory: "
                        + resources.getRequests().get("memory") + "`; limits `memory: "
                        + resources.getLimits().get("memory") + "`");
        assertThat(Docs.tableRow(Docs.read("docs/loadbalancer-reference.md"), "spec.replicas")
                        .orElseThrow())
                .contains("`" + ProxyDeployments.DEFAULT_REPLICAS + "`");
    }

    @Test
    void everyOperatorSettingIsNamedInTheInstallGuide() {
        Matcher m = Pattern.compile("env\\.(?:getOrDefault|get)\\(\"([A-Z_]+)\"")
                .matcher(Docs.read("operator/src/main/java/dev/roundhouse/operator/OperatorSettings.java"));
        Set<String> settings = new TreeSet<>();
        while (m.find()) {
            settings.add(m.group(1));
        }
        settings.remove("POD_NAMESPACE"); // set from the downward API by the chart, not a user setting
        assertThat(settings).contains("WATCH_NAMESPACES", "PROXY_IMAGE", "HTTP_PORT", "LEADER_ELECTION");
        assertThat(settings)
                .allSatisfy(s -> assertThat(Docs.read("docs/install.md")).contains("`" + s + "`"));
    }

    @Test
    void chartFactsHoldForTheRenderedChart() {
        String rendered = new Helm(Docs.path("charts/roundhouse"))
                .template()
                .withName("roundhouse")
                .withKubeVersion(ChartFixture.OLDEST_KUBERNETES)
                .withNamespace("roundhouse-system")
                .call();
        List<JsonNode> objects = new ArrayList<>();
        for (String doc : rendered.split("(?m)^---\\s*$")) {
            JsonNode node = Docs.yaml(doc);
            if (node != null && node.has("kind")) {
                objects.add(node);
            }
        }
        assertThat(objects)
                .as("helm template leaves the CRD out, as install.md says")
                .noneMatch(o -> o.path("kind").asText().equals("CustomResourceDefinition"));
        assertThat(objects)
                .as("install.md: rollout status deployment/roundhouse")
                .anyMatch(o -> o.path("kind").asText().equals("Deployment")
                        && o.path("metadata").path("name").asText().equals("roundhouse"));
        JsonNode metrics = objects.stream()
                .filter(o -> o.path("kind").asText().equals("Service")
                        && o.path("metadata").path("name").asText().equals("roundhouse-metrics"))
                .findFirst()
                .orElseThrow(() -> new AssertionError("metrics.md: the chart's Service <release fullname>-metrics"));
        assertThat(metrics.path("spec").path("ports").get(0).path("name").asText())
                .isEqualTo("http");
        assertThat(metrics.path("spec").path("ports").get(0).path("port").asInt())
                .isEqualTo(8081);

        JsonNode values = Docs.yaml(Docs.read("charts/roundhouse/values.yaml"));
        String install = Docs.read("docs/install.md");
        for (String key : List.of(
                "image",
                "image.repository",
                "proxyImage",
                "proxyImage.repository",
                "watchNamespaces",
                "replicas",
                "leaderElection",
                "logLevel",
                "logFormat",
                "resources",
                "nodeSelector",
                "tolerations",
                "affinity",
                "metrics.serviceMonitor")) {
            JsonNode node = values;
            for (String part : key.split("\\.")) {
                node = node.path(part);
            }
            assertThat(node.isMissingNode())
                    .as("values.yaml has %s, which install.md names", key)
                    .isFalse();
            assertThat(install).as("install.md names %s", key).contains(key);
        }
        assertThat(values.path("proxyImage").path("tag").asText())
                .as("operations.md: the proxy tag defaults to " + "the chart's appVersion")
                .isEmpty();
    }

    @Test
    void theJibCommandsUseTheProfilesProperties() {
        String install = Docs.read("docs/install.md");
        Matcher m = Pattern.compile("-D(roundhouse\\.[a-z.]+)=").matcher(install);
        Set<String> properties = new TreeSet<>();
        while (m.find()) {
            properties.add(m.group(1));
        }
        assertThat(properties).contains("roundhouse.jib.goal", "roundhouse.image.registry");
        for (String pom : List.of("proxy/pom.xml", "operator/pom.xml")) {
            String text = Docs.read(pom);
            assertThat(text).as("%s has the jib profile install.md uses", pom).contains("<id>jib</id>");
            properties.forEach(p -> assertThat(text).as("%s defines %s", pom, p).contains("<" + p + ">"));
        }
    }
}
