package dev.roundhouse.testing.apiserver;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.fabric8.kubernetes.api.model.ConditionBuilder;
import io.fabric8.kubernetes.api.model.EventBuilder;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** kubectl against the embedded server, when kubectl is installed. */
class KubectlTest {

    private static final Path KUBECTL = Path.of("/usr/bin/kubectl");

    @TempDir
    Path dir;

    private EmbeddedApiServer server;
    private Path kubeconfig;

    @BeforeAll
    static void needsKubectl() {
        assumeTrue(Files.isExecutable(KUBECTL), "kubectl is not installed at " + KUBECTL);
    }

    @BeforeEach
    void start() {
        server = new EmbeddedApiServer().start();
        kubeconfig = server.writeKubeconfig(dir.resolve("kubeconfig"));
    }

    @AfterEach
    void stop() {
        server.close();
    }

    @Test
    void customResourcesWithPrinterColumns() throws IOException {
        assertThat(kubectl("apply", "-f", TestFiles.WIDGET_CRD.toString()))
                .contains("customresourcedefinition.apiextensions.k8s.io/widgets.test.roundhouse.dev created");
        assertThat(kubectl("get", "widgets")).contains("No resources found in default namespace.");

        Path widget = write("widget.yaml", """
        apiVersion: test.roundhouse.dev/v1
        kind: Widget
        metadata:
          name: w1
        spec:
          port: 8080
          backends:
          - name: a
            address: 10.0.0.1
        """);
        assertThat(kubectl("apply", "-f", widget.toString())).contains("widget.test.roundhouse.dev/w1 created");
        server.resetWriteCount();
        assertThat(kubectl("apply", "-f", widget.toString())).contains("w1 unchanged");
        Files.writeString(widget, Files.readString(widget).replace("8080", "8081"));
        assertThat(kubectl("apply", "-f", widget.toString())).contains("w1 configured");
        assertThat(server.writes())
                .extracting(Write::method, Write::contentType)
                .containsExactly(org.assertj.core.groups.Tuple.tuple("PATCH", "application/merge-patch+json"));

        server.client().resources(Widget.class).withName("w1").editStatus(w -> {
            w.setStatus(new Widget.Status());
            w.getStatus().setBackends(2);
            w.getStatus()
                    .setConditions(List.of(new ConditionBuilder()
                            .withType("Ready")
                            .withStatus("True")
                            .build()));
            return w;
        });
        List<String> table = kubectl("get", "widgets").lines().toList();
        assertThat(table.get(0).split("\\s+")).containsExactly("NAME", "READY", "BACKENDS", "AGE");
        assertThat(table.get(1).split("\\s+")).startsWith("w1", "True", "2");
        assertThat(kubectl("get", "wg", "-o", "wide")
                        .lines()
                        .findFirst()
                        .orElseThrow()
                        .split("\\s+"))
                .containsExactly("NAME", "READY", "BACKENDS", "PORT", "AGE");
        assertThat(kubectl("get", "widget", "w1", "-o", "jsonpath={.spec.port}"))
                .isEqualTo("8081");

        assertThat(kubectl("delete", "widget", "w1")).contains("widget.test.roundhouse.dev \"w1\" deleted");
        assertThat(server.client().resources(Widget.class).withName("w1").get()).isNull();
    }

    @Test
    void configMapsApplyGetJsonpathAndDelete() throws IOException {
        Path cm = write("cm.yaml", """
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: settings
          labels:
            app: demo
        data:
          mode: round-robin
        """);
        assertThat(kubectl("apply", "-f", cm.toString())).contains("configmap/settings created");
        assertThat(kubectl("apply", "-f", cm.toString())).contains("configmap/settings unchanged");
        Files.writeString(cm, Files.readString(cm).replace("round-robin", "least-connections"));
        assertThat(kubectl("apply", "-f", cm.toString())).contains("configmap/settings configured");

        assertThat(kubectl("get", "cm", "settings", "-o", "jsonpath={.data.mode}"))
                .isEqualTo("least-connections");
        assertThat(kubectl("get", "cm")).contains("settings");

        assertThat(kubectl("delete", "cm", "settings")).contains("configmap \"settings\" deleted");
        assertThat(server.client().configMaps().withName("settings").get()).isNull();
    }

    @Test
    void reapplyingADeploymentMergesContainersByName() throws IOException {
        Path deployment = write("deployment.yaml", """
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: web
        spec:
          replicas: 1
          selector:
            matchLabels: {app: web}
          template:
            metadata:
              labels: {app: web}
            spec:
              containers:
              - name: app
                image: nginx:1
                ports:
                - containerPort: 80
              - name: sidecar
                image: busybox
        """);
        kubectl("apply", "-f", deployment.toString());
        String changed = Files.readString(deployment).replace("nginx:1", "nginx:2");
        Files.writeString(deployment, changed.substring(0, changed.indexOf("      - name: sidecar")));

        assertThat(kubectl("apply", "-f", deployment.toString())).contains("deployment.apps/web configured");

        Deployment web = server.client().apps().deployments().withName("web").get();
        assertThat(web.getSpec().getTemplate().getSpec().getContainers())
                .singleElement()
                .satisfies(c -> {
                    assertThat(c.getImage()).isEqualTo("nginx:2");
                    assertThat(c.getPorts())
                            .singleElement()
                            .satisfies(p -> assertThat(p.getContainerPort()).isEqualTo(80));
                });
    }

    @Test
    void serverSideApply() throws IOException {
        Path cm = write("cm.yaml", """
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: ssa
        data:
          a: "1"
        """);
        assertThat(kubectl("apply", "--server-side", "-f", cm.toString())).contains("configmap/ssa serverside-applied");
        assertThat(server.client()
                        .configMaps()
                        .withName("ssa")
                        .get()
                        .getMetadata()
                        .getManagedFields())
                .singleElement()
                .satisfies(e -> assertThat(e.getManager()).isEqualTo("kubectl"));
    }

    @Test
    void anInvalidCustomResourceIsRefusedWithTheFieldNamed() throws IOException {
        server.applyCrds(TestFiles.LOAD_BALANCER_CRD);
        Path bad = write("bad.yaml", """
        apiVersion: roundhouse.dev/v1alpha1
        kind: LoadBalancer
        metadata:
          name: bad
        spec:
          replicas: 200
          backends:
          - url: http://127.0.0.1:3001
        """);

        Result refused = run("apply", "-f", bad.toString());

        assertThat(refused.exitCode()).as(refused.toString()).isNotZero();
        assertThat(refused.stderr()).contains("is invalid", "spec.replicas");
        assertThat(server.client()
                        .genericKubernetesResources("roundhouse.dev/v1alpha1", "LoadBalancer")
                        .withName("bad")
                        .get())
                .isNull();

        Files.writeString(bad, Files.readString(bad).replace("200", "2"));
        assertThat(kubectl("apply", "-f", bad.toString())).contains("loadbalancer.roundhouse.dev/bad created");
        assertThat(kubectl("get", "lb", "bad", "-o", "jsonpath={.spec.backends[0].weight}"))
                .as("no schema default: the pool document gives an absent weight 1")
                .isEmpty();
    }

    @Test
    void reapplyingTheUnchangedSampleIsUnchanged() throws IOException {
        // A schema default inside a list (backends[].weight) once made every client-side apply of an unchanged
        // manifest report "configured": the live list always differed from the applied one.
        server.applyCrds(TestFiles.LOAD_BALANCER_CRD);

        assertThat(kubectl("apply", "-f", TestFiles.LOAD_BALANCER_SAMPLE.toString()))
                .contains("loadbalancer.roundhouse.dev/demo created");
        assertThat(kubectl("apply", "-f", TestFiles.LOAD_BALANCER_SAMPLE.toString()))
                .contains("loadbalancer.roundhouse.dev/demo unchanged");
        assertThat(kubectl("diff", "-f", TestFiles.LOAD_BALANCER_SAMPLE.toString(), "--server-side=false"))
                .as("nothing for a GitOps tool that diffs client-side to show")
                .isEmpty();
    }

    @Test
    void unknownFieldsAreRefusedWarnedOrIgnoredAsKubectlAsks() throws IOException {
        server.applyCrds(TestFiles.LOAD_BALANCER_CRD);
        Path typo = write("typo.yaml", """
        apiVersion: roundhouse.dev/v1alpha1
        kind: LoadBalancer
        metadata:
          name: typo
        spec:
          replics: 3
          backends:
          - url: http://127.0.0.1:3001
            wieght: 2
        """);

        Result strict = run("apply", "-f", typo.toString());
        assertThat(strict.exitCode()).as(strict.toString()).isNotZero();
        assertThat(strict.stderr())
                .as("kubectl's default, --validate=strict, is the server's Strict")
                .contains(
                        "strict decoding error",
                        "unknown field \"spec.replics\"",
                        "unknown field \"spec.backends[0].wieght\"");
        assertThat(server.client()
                        .genericKubernetesResources("roundhouse.dev/v1alpha1", "LoadBalancer")
                        .withName("typo")
                        .get())
                .isNull();

        assertThat(kubectl("apply", "--validate=warn", "-f", typo.toString()))
                .contains(
                        "Warning: unknown field \"spec.replics\"",
                        "Warning: unknown field \"spec.backends[0].wieght\"",
                        "loadbalancer.roundhouse.dev/typo created");
        assertThat(kubectl("get", "lb", "typo", "-o", "jsonpath={.spec}"))
                .as("pruned, as a real server prunes")
                .doesNotContain("replics", "wieght");

        assertThat(kubectl("apply", "--validate=false", "-f", typo.toString())).doesNotContain("Warning");
    }

    @Test
    void describeAndGetEventsShowTheEventsOfOneObject() throws IOException {
        server.applyCrds(TestFiles.LOAD_BALANCER_CRD);
        kubectl("apply", "-f", TestFiles.LOAD_BALANCER_SAMPLE.toString());
        String uid = kubectl("get", "lb", "demo", "-o", "jsonpath={.metadata.uid}");
        for (String object : List.of("demo", "other")) {
            server.client()
                    .v1()
                    .events()
                    .inNamespace("default")
                    .resource(new EventBuilder()
                            .withNewMetadata()
                            .withName(object + ".conflict")
                            .endMetadata()
                            .withNewInvolvedObject()
                            .withApiVersion("roundhouse.dev/v1alpha1")
                            .withKind("LoadBalancer")
                            .withNamespace("default")
                            .withName(object)
                            .withUid(object.equals("demo") ? uid : "other-uid")
                            .endInvolvedObject()
                            .withReason("NameConflict")
                            .withType("Warning")
                            .withMessage("Service " + object + " is not ours")
                            .withCount(3)
                            .withNewSource("roundhouse-operator", null)
                            .build())
                    .create();
        }

        assertThat(kubectl("describe", "lb", "demo"))
                .containsPattern("Warning +NameConflict +.*roundhouse-operator +Service demo is not ours")
                .doesNotContain("Service other");
        assertThat(kubectl("get", "events", "--field-selector", "involvedObject.name=demo"))
                .contains("demo.conflict")
                .doesNotContain("other.conflict");
    }

    @Test
    void kubectlScaleSetsALoadBalancersReplicasThroughItsScaleSubresource() {
        server.applyCrds(TestFiles.LOAD_BALANCER_CRD);
        kubectl("apply", "-f", TestFiles.LOAD_BALANCER_SAMPLE.toString());

        assertThat(kubectl("scale", "lb", "demo", "--replicas=5")).contains("scaled");
        assertThat(kubectl("get", "lb", "demo", "-o", "jsonpath={.spec.replicas}"))
                .isEqualTo("5");

        // Past the schema's maximum: refused, nothing changed, as a real server does.
        Result tooMany = run("scale", "lb", "demo", "--replicas=101");
        assertThat(tooMany.exitCode()).as(tooMany.toString()).isNotZero();
        assertThat(tooMany.stderr()).contains("less than or equal to 100");
        assertThat(kubectl("get", "lb", "demo", "-o", "jsonpath={.spec.replicas}"))
                .isEqualTo("5");
    }

    private Path write(String name, String content) throws IOException {
        return Files.writeString(dir.resolve(name), content);
    }

    /** Runs kubectl against the server; fails on a non-zero exit. Returns stdout and stderr. */
    private String kubectl(String... args) {
        Result result = run(args);
        assertThat(result.exitCode()).as(result.toString()).isZero();
        return result.stdout() + result.stderr();
    }

    record Result(List<String> args, int exitCode, String stdout, String stderr) {
        @Override
        public String toString() {
            return "kubectl " + String.join(" ", args) + " exited with " + exitCode + ":\n" + stdout + stderr;
        }
    }

    /** Runs kubectl against the server; fails after 60 s. */
    private Result run(String... args) {
        List<String> command = new ArrayList<>(List.of(
                KUBECTL.toString(),
                "--kubeconfig",
                kubeconfig.toString(),
                "--cache-dir",
                dir.resolve("cache").toString(),
                "--request-timeout",
                "30s"));
        command.addAll(List.of(args));
        try {
            Path stdout = Files.createTempFile(dir, "kubectl", ".out");
            Path stderr = Files.createTempFile(dir, "kubectl", ".err");
            ProcessBuilder builder =
                    new ProcessBuilder(command).redirectOutput(stdout.toFile()).redirectError(stderr.toFile());
            builder.environment().remove("KUBECONFIG");
            Process process = builder.start();
            if (!process.waitFor(60, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new AssertionError("kubectl timed out: " + command);
            }
            return new Result(
                    List.of(args),
                    process.exitValue(),
                    Files.readString(stdout, StandardCharsets.UTF_8),
                    Files.readString(stderr, StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new AssertionError(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }
}
