package dev.roundhouse.e2e.kind;

import static dev.roundhouse.e2e.chart.ChartFixture.OLDEST_KUBERNETES;
import static dev.roundhouse.e2e.chart.ChartFixture.only;
import static dev.roundhouse.e2e.chart.ChartFixture.parseAll;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.marcnuri.helm.Helm;
import com.marcnuri.helm.TemplateCommand;
import dev.roundhouse.e2e.chart.OperatorPermissions;
import dev.roundhouse.operator.api.v1alpha1.LoadBalancer;
import dev.roundhouse.operator.model.Names;
import dev.roundhouse.operator.model.PoolDocuments;
import dev.roundhouse.operator.model.ProxyDeployments;
import dev.roundhouse.operator.model.ProxyDisruptionBudgets;
import dev.roundhouse.poolformat.PoolDocument;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.PodSecurityContext;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceAccount;
import io.fabric8.kubernetes.api.model.ServicePort;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.fabric8.openshift.api.model.monitoring.v1.ServiceMonitor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * What can be checked of e2e/kind/ without Docker or a cluster: the chart renders, with the kind values, to
 * Kubernetes objects that run the images kind.sh builds and grant what the operator's code calls (the chart itself,
 * with every value, is tested in dev.roundhouse.e2e.chart); the demo
 * manifests parse into the objects the operator reads; the script is valid bash; the Dockerfiles agree with the
 * Maven build and the Deployment the operator writes for proxies. Tests run in e2e/, so the repository is "..".
 */
class KindManifestsTest {

    private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
    private static final Path CHART = ROOT.resolve("charts/roundhouse");
    private static final Path KIND = ROOT.resolve("e2e/kind");
    private static final Path SCRIPT = KIND.resolve("kind.sh");
    private static final Path VALUES = KIND.resolve("values.yaml");

    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    // ---------------------------------------------------------------- the chart

    @Test
    void chartWithKindValuesRunsTheImagesTheScriptBuilds() throws IOException {
        Map<String, String> script = scriptVariables();
        List<HasMetadata> objects = render(kindValues());

        Deployment operator = only(objects, Deployment.class);
        assertThat(operator.getMetadata().getName())
                .as("kind.sh restarts deployment $RELEASE")
                .isEqualTo(script.get("RELEASE"));
        assertThat(operator.getMetadata().getNamespace()).isEqualTo(script.get("NAMESPACE"));
        Container container =
                operator.getSpec().getTemplate().getSpec().getContainers().get(0);
        assertThat(container.getImage()).isEqualTo(script.get("OPERATOR_IMAGE"));
        assertThat(container.getImagePullPolicy())
                .as("the image is only in the kind node")
                .isIn("Never", "IfNotPresent");
        assertThat(env(container, "PROXY_IMAGE")).isEqualTo(script.get("PROXY_IMAGE"));

        // values.yaml says the same as kind.sh
        JsonNode values = YAML.readTree(VALUES.toFile());
        assertThat(values.at("/image/repository").asText() + ":"
                        + values.at("/image/tag").asText())
                .isEqualTo(script.get("OPERATOR_IMAGE"));
        assertThat(values.at("/proxyImage/repository").asText() + ":"
                        + values.at("/proxyImage/tag").asText())
                .isEqualTo(script.get("PROXY_IMAGE"));

        // The Deployment the operator then writes for a LoadBalancer runs the proxy image kind.sh loaded, and its
        // pull policy does not need a registry.
        Container proxy = ProxyDeployments.desired(loadBalancer(), env(container, "PROXY_IMAGE"))
                .getSpec()
                .getTemplate()
                .getSpec()
                .getContainers()
                .get(0);
        assertThat(proxy.getImage()).isEqualTo(script.get("PROXY_IMAGE"));
        assertThat(proxy.getImagePullPolicy()).isIn("Never", "IfNotPresent");
    }

    @Test
    void operatorDeploymentHasTheSettingsTheCodeReads() throws IOException {
        List<HasMetadata> objects = render(kindValues());
        Deployment deployment = only(objects, Deployment.class);
        var pod = deployment.getSpec().getTemplate().getSpec();
        Container container = pod.getContainers().get(0);

        EnvVar namespace = container.getEnv().stream()
                .filter(e -> e.getName().equals("POD_NAMESPACE"))
                .findFirst()
                .orElseThrow();
        assertThat(namespace.getValueFrom().getFieldRef().getFieldPath()).isEqualTo("metadata.namespace");
        assertThat(env(container, "HTTP_PORT")).isEqualTo("8081");
        assertThat(env(container, "WATCH_NAMESPACES")).isEmpty();
        assertThat(env(container, "LEADER_ELECTION")).isEqualTo("true");
        assertThat(env(container, "LOG_LEVEL")).isEqualTo("info");

        assertThat(container.getPorts()).singleElement().satisfies(p -> {
            assertThat(p.getName()).isEqualTo("http");
            assertThat(p.getContainerPort()).isEqualTo(8081);
        });
        assertThat(container.getLivenessProbe().getHttpGet().getPath()).isEqualTo("/healthz");
        assertThat(container.getReadinessProbe().getHttpGet().getPath()).isEqualTo("/readyz");
        assertThat(container.getReadinessProbe().getHttpGet().getPort().getStrVal())
                .isEqualTo("http");

        PodSecurityContext podSecurity = pod.getSecurityContext();
        assertThat(podSecurity.getRunAsNonRoot()).isTrue();
        assertThat(podSecurity.getRunAsUser()).isEqualTo(10001L);
        assertThat(podSecurity.getSeccompProfile().getType()).isEqualTo("RuntimeDefault");
        assertThat(container.getSecurityContext().getReadOnlyRootFilesystem()).isTrue();
        assertThat(container.getSecurityContext().getAllowPrivilegeEscalation()).isFalse();
        assertThat(container.getSecurityContext().getCapabilities().getDrop()).containsExactly("ALL");
        assertThat(container.getVolumeMounts())
                .anySatisfy(m -> assertThat(m.getMountPath()).isEqualTo("/tmp"));
        assertThat(pod.getVolumes()).anySatisfy(v -> assertThat(v.getEmptyDir()).isNotNull());
        assertThat(pod.getServiceAccountName())
                .isEqualTo(only(objects, ServiceAccount.class).getMetadata().getName());

        Service metrics = only(objects, Service.class);
        assertThat(metrics.getSpec().getSelector())
                .isEqualTo(deployment.getSpec().getSelector().getMatchLabels());
        assertThat(metrics.getSpec().getPorts()).singleElement().satisfies(p -> {
            assertThat(p.getName()).isEqualTo("http");
            assertThat(p.getPort()).isEqualTo(8081);
        });
    }

    @Test
    void watchNamespacesAreJoinedForTheOperator() throws IOException {
        Deployment deployment = only(
                render(kindValues().set("watchNamespaces[0]", "team-a").set("watchNamespaces[1]", "team-b")),
                Deployment.class);
        assertThat(env(
                        deployment
                                .getSpec()
                                .getTemplate()
                                .getSpec()
                                .getContainers()
                                .get(0),
                        "WATCH_NAMESPACES"))
                .isEqualTo("team-a,team-b");
    }

    @Test
    void serviceMonitorOnlyWhenEnabled() throws IOException {
        assertThat(render(kindValues())).noneMatch(o -> o.getKind().equals("ServiceMonitor"));

        List<HasMetadata> objects = render(kindValues()
                .set("metrics.serviceMonitor.enabled", "true")
                .set("metrics.serviceMonitor.labels.release", "prometheus")
                .set("metrics.serviceMonitor.interval", "15s"));
        ServiceMonitor monitor = only(objects, ServiceMonitor.class);
        Service service = only(objects, Service.class);
        assertThat(monitor.getMetadata().getLabels()).containsEntry("release", "prometheus");
        assertThat(monitor.getSpec().getSelector().getMatchLabels())
                .isEqualTo(service.getSpec().getSelector());
        assertThat(service.getMetadata().getLabels())
                .containsAllEntriesOf(monitor.getSpec().getSelector().getMatchLabels());
        assertThat(monitor.getSpec().getEndpoints()).singleElement().satisfies(e -> {
            assertThat(e.getPort())
                    .isEqualTo(service.getSpec().getPorts().get(0).getName())
                    .isEqualTo("http");
            assertThat(e.getPath()).isEqualTo("/metrics");
            assertThat(e.getInterval()).isEqualTo("15s");
        });
    }

    @Test
    void moreThanOneReplicaNeedsLeaderElection() {
        assertThatThrownBy(() -> kindValues()
                        .set("replicas", "2")
                        .set("leaderElection", "false")
                        .call())
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("leaderElection");
    }

    // ---------------------------------------------------------------- RBAC

    /** The full comparison, for every mode, is ChartRbacTest's; here the values kind.sh installs with. */
    @Test
    void kindValuesGrantExactlyWhatTheOperatorCalls() throws IOException {
        OperatorPermissions.assertGrantsExactly(render(kindValues()), List.of(), true);
    }

    // ---------------------------------------------------------------- the demo manifests and the script

    @Test
    void loadBalancerPointsAtTheDemoBackends() throws Exception {
        Map<String, String> script = scriptVariables();
        List<HasMetadata> backends = parseAll(Files.readString(KIND.resolve("backends.yaml")));
        Namespace namespace = only(backends, Namespace.class);
        Deployment deployment = only(backends, Deployment.class);
        Service service = only(backends, Service.class);
        assertThat(namespace.getMetadata().getName()).isEqualTo(script.get("DEMO_NAMESPACE"));
        assertThat(List.of(deployment, service))
                .allSatisfy(o -> assertThat(o.getMetadata().getNamespace()).isEqualTo(script.get("DEMO_NAMESPACE")));
        assertThat(deployment.getSpec().getReplicas()).isEqualTo(3);
        var pod = deployment.getSpec().getTemplate();
        assertThat(pod.getMetadata().getLabels())
                .containsAllEntriesOf(service.getSpec().getSelector());
        assertThat(deployment.getSpec().getSelector().getMatchLabels())
                .isEqualTo(service.getSpec().getSelector());
        Container netexec = pod.getSpec().getContainers().get(0);
        assertThat(netexec.getReadinessProbe().getHttpGet()).isNotNull();

        LoadBalancer lb = loadBalancer();
        assertThat(lb.getMetadata().getNamespace()).isEqualTo(script.get("DEMO_NAMESPACE"));
        assertThat(lb.getMetadata().getName()).isEqualTo(script.get("LB"));
        // kind.sh port-forwards service/$LB:$LB_PORT: the Service the operator creates for this LoadBalancer
        assertThat(Names.service(lb)).isEqualTo(script.get("LB"));
        // and restarts deployment "$LB-proxy" on a re-run
        assertThat(Names.deployment(lb)).isEqualTo(script.get("LB") + "-proxy");
        assertThat(lb.getSpec().getPort()).isEqualTo(Integer.parseInt(script.get("LB_PORT")));
        // A privileged Service port, which a non-root proxy could not bind itself: the container keeps its own.
        assertThat(lb.getSpec().getPort()).isLessThan(1024);
        assertThat(ProxyDeployments.desired(lb, "x")
                        .getSpec()
                        .getTemplate()
                        .getSpec()
                        .getContainers()
                        .get(0)
                        .getPorts())
                .allSatisfy(p -> assertThat(p.getContainerPort()).isGreaterThanOrEqualTo(1024));
        // Two replicas: the operator gives them a PodDisruptionBudget, which the script's drain exercises.
        assertThat(ProxyDisruptionBudgets.wanted(lb)).isTrue();
        // the CRD's one-of rule
        assertThat(lb.getSpec().getBackends()).isNull();
        assertThat(lb.getSpec().getServiceRef().getName())
                .isEqualTo(service.getMetadata().getName());
        assertThat(service.getSpec().getPorts())
                .extracting(ServicePort::getPort)
                .as(
                        "serviceRef.port is a port of Service %s",
                        service.getMetadata().getName())
                .contains(lb.getSpec().getServiceRef().getPort());
        ServicePort port = service.getSpec().getPorts().stream()
                .filter(p -> p.getPort().equals(lb.getSpec().getServiceRef().getPort()))
                .findFirst()
                .orElseThrow();
        String targetPort = port.getTargetPort().getStrVal();
        assertThat(netexec.getPorts()).anySatisfy(p -> assertThat(p.getName()).isEqualTo(targetPort));
        int containerPort = netexec.getPorts().stream()
                .filter(p -> p.getName().equals(targetPort))
                .findFirst()
                .orElseThrow()
                .getContainerPort();
        assertThat(netexec.getArgs()).contains("--http-port=" + containerPort);

        // The pool the operator builds from the slice Kubernetes would publish for three ready backends.
        EndpointSlice slice = new EndpointSliceBuilder()
                .withNewMetadata()
                .withName(service.getMetadata().getName() + "-x")
                .addToLabels("kubernetes.io/service-name", service.getMetadata().getName())
                .endMetadata()
                .withAddressType("IPv4")
                .addNewPort()
                .withName(port.getName())
                .withPort(containerPort)
                .withProtocol("TCP")
                .endPort()
                .addNewEndpoint()
                .withAddresses("10.244.0.5")
                .withNewConditions()
                .withReady(true)
                .endConditions()
                .endEndpoint()
                .addNewEndpoint()
                .withAddresses("10.244.0.6")
                .withNewConditions()
                .withReady(true)
                .endConditions()
                .endEndpoint()
                .addNewEndpoint()
                .withAddresses("10.244.0.7")
                .withNewConditions()
                .withReady(true)
                .endConditions()
                .endEndpoint()
                .build();
        List<PoolDocument.BackendEntry> discovered = PoolDocuments.fromEndpointSlices(
                service,
                lb.getSpec().getServiceRef().getPort(),
                lb.getSpec().getServiceRef().getScheme(),
                List.of(slice));
        assertThat(discovered)
                .extracting(PoolDocument.BackendEntry::url)
                .containsExactly(
                        "http://10.244.0.5:" + containerPort,
                        "http://10.244.0.6:" + containerPort,
                        "http://10.244.0.7:" + containerPort);
        assertThat(PoolDocuments.fromSpec(lb.getSpec(), discovered)
                        .healthCheck()
                        .path())
                .isEqualTo(netexec.getReadinessProbe().getHttpGet().getPath());
    }

    @Test
    void scriptIsValidBashAndChecksItsTools() throws Exception {
        Process bash = new ProcessBuilder("bash", "-n", SCRIPT.toString())
                .redirectErrorStream(true)
                .start();
        assertThat(bash.waitFor(30, TimeUnit.SECONDS)).isTrue();
        String output = new String(bash.getInputStream().readAllBytes());
        assertThat(bash.exitValue()).as(output).isZero();

        String text = Files.readString(SCRIPT);
        assertThat(text).contains("set -euo pipefail");
        assertThat(text).containsPattern("require docker kind kubectl helm");
        assertThat(text)
                .contains(
                        "-f \"$HERE/values.yaml\"",
                        "charts/roundhouse",
                        "kind load docker-image",
                        "--for=condition=Ready",
                        "kind delete cluster");
        // A rollout and a drain, each under load from inside the cluster, failing on any failed request.
        assertThat(text)
                .contains(
                        "--config \"$HERE/cluster.yaml\"",
                        "rollout restart deployment \"$LB-proxy\"",
                        "k drain \"$node\"",
                        "load_check \"$load\"",
                        "[ \\$failed -eq 0 ]");
        String cluster = Files.readString(KIND.resolve("cluster.yaml"));
        assertThat(cluster.lines()
                        .filter(l -> l.strip().equals("- role: worker"))
                        .count())
                .as("workers in cluster.yaml, so that a drain leaves a proxy serving")
                .isGreaterThanOrEqualTo(2);
    }

    // ---------------------------------------------------------------- the Dockerfiles

    @Test
    void proxyDockerfileMatchesTheBuildAndTheOperatorsProxyDeployment() throws IOException {
        Dockerfile proxy = Dockerfile.of("proxy");
        PodSecurityContext runAs = ProxyDeployments.desired(loadBalancer(), "x")
                .getSpec()
                .getTemplate()
                .getSpec()
                .getSecurityContext();
        assertThat(proxy.user()).isEqualTo(runAs.getRunAsUser() + ":" + runAs.getRunAsGroup());
        assertThat(proxy.exposed()).containsExactlyInAnyOrder(Names.PROXY_PORT, Names.METRICS_PORT);
    }

    @Test
    void operatorDockerfileMatchesTheBuildAndTheChart() throws IOException {
        Dockerfile operator = Dockerfile.of("operator");
        PodSecurityContext runAs = only(render(kindValues()), Deployment.class)
                .getSpec()
                .getTemplate()
                .getSpec()
                .getSecurityContext();
        assertThat(operator.user()).isEqualTo(runAs.getRunAsUser() + ":" + runAs.getRunAsGroup());
        assertThat(operator.exposed()).containsExactly(8081);
    }

    /** The parts of a module's Dockerfile that must agree with its pom.xml and the Deployments that run it. */
    record Dockerfile(String user, List<Integer> exposed) {

        static Dockerfile of(String module) throws IOException {
            Path dir = ROOT.resolve(module);
            String text = Files.readString(dir.resolve("Dockerfile"));
            String finalName = group(Files.readString(dir.resolve("pom.xml")), "<finalName>([^<]+)</finalName>");
            String jar = "target/" + finalName + ".jar";

            assertThat(group(text, "(?m)^FROM (\\S+)"))
                    .as("a pinned Temurin 17 JRE")
                    .matches("eclipse-temurin:17\\.\\d+\\.\\d+(\\.\\d+)?_\\d+-jre(-\\w+)?");
            int lib = text.indexOf("COPY target/lib/ /app/lib/");
            int app = text.indexOf("COPY " + jar + " /app/" + finalName + ".jar");
            assertThat(lib).as("dependencies copied to /app/lib/").isPositive();
            assertThat(app).as("then the thin jar beside them").isGreaterThan(lib);

            List<String> entrypoint = Arrays.asList(
                    new ObjectMapper().readValue(group(text, "(?m)^ENTRYPOINT (\\[.*])$"), String[].class));
            assertThat(entrypoint)
                    .startsWith("java")
                    .endsWith("-jar", "/app/" + finalName + ".jar")
                    .contains("-XX:+ExitOnOutOfMemoryError")
                    .anyMatch(a -> a.startsWith("-XX:MaxRAMPercentage="));

            String ignore = Files.readString(dir.resolve(".dockerignore"));
            assertThat(ignore.lines()).contains("*", "!" + jar, "!target/lib/");

            List<Integer> exposed = Arrays.stream(
                            group(text, "(?m)^EXPOSE (.+)$").trim().split("\\s+"))
                    .map(Integer::valueOf)
                    .toList();
            return new Dockerfile(group(text, "(?m)^USER (\\S+)$"), exposed);
        }
    }

    // ---------------------------------------------------------------- helpers

    private static TemplateCommand kindValues() throws IOException {
        return new Helm(CHART)
                .template()
                .withKubeVersion(OLDEST_KUBERNETES)
                .withName(scriptVariables().get("RELEASE"))
                .withNamespace(scriptVariables().get("NAMESPACE"))
                .withValuesFile(VALUES);
    }

    private static List<HasMetadata> render(TemplateCommand template) {
        List<HasMetadata> objects = parseAll(template.call());
        assertThat(objects).isNotEmpty();
        return objects;
    }

    private static LoadBalancer loadBalancer() throws IOException {
        // Unknown fields fail here: the operator would not see them either.
        return YAML.copy()
                .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
                .readValue(KIND.resolve("loadbalancer.yaml").toFile(), LoadBalancer.class);
    }

    /** NAME=value lines at the top level of kind.sh (quotes and trailing comments removed). */
    static Map<String, String> scriptVariables() throws IOException {
        Map<String, String> variables = new java.util.HashMap<>();
        Matcher m = Pattern.compile("(?m)^([A-Z_]+)=(\\S+)").matcher(Files.readString(SCRIPT));
        while (m.find()) {
            variables.put(m.group(1), m.group(2).replace("\"", ""));
        }
        assertThat(variables)
                .containsKeys(
                        "OPERATOR_IMAGE", "PROXY_IMAGE", "RELEASE", "NAMESPACE", "DEMO_NAMESPACE", "LB", "LB_PORT");
        return variables;
    }

    private static String env(Container container, String name) {
        return container.getEnv().stream()
                .filter(e -> e.getName().equals(name))
                .findFirst()
                .map(EnvVar::getValue)
                .orElseThrow(() -> new AssertionError("no env " + name));
    }

    private static String group(String text, String regex) {
        Matcher m = Pattern.compile(regex).matcher(text);
        assertThat(m.find()).as("/%s/ in%n%s", regex, text).isTrue();
        return m.group(1);
    }
}
