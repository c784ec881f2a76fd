package dev.roundhouse.operator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.roundhouse.operator.testing.OperatorCluster;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What {@code kubectl get lb} shows, from the committed CRD's printer columns as the API server serves them (a
 * Table): the header, and the Ready condition's reason in REASON. Needs kubectl; skipped without it.
 */
class KubectlGetLoadBalancersTest {

    private static final Path KUBECTL = Path.of("/usr/bin/kubectl");

    @TempDir
    Path dir;

    @Test
    void theReasonColumnShowsTheReadyConditionsReason() throws Exception {
        assumeTrue(Files.isExecutable(KUBECTL), "kubectl is not installed at " + KUBECTL + ": test skipped");
        try (OperatorCluster cluster = OperatorCluster.start()) {
            Path kubeconfig = cluster.api.writeKubeconfig(dir.resolve("kubeconfig"));
            cluster.create(OperatorCluster.loadBalancer("shop", "http://10.40.0.1:8080", "http://10.40.0.2:8080"));
            cluster.create(OperatorCluster.loadBalancer("twice", "http://10.40.0.3:8080", "http://10.40.0.3:8080"));
            await().atMost(OperatorCluster.WAIT).until(() -> cluster.deployment("shop") != null);
            cluster.markProxiesReady("shop");
            cluster.awaitCondition("shop", "Ready", "True", "ProxiesReady");
            cluster.awaitCondition("twice", "Ready", "False", "InvalidSpec");

            List<String> lines = kubectl(kubeconfig, "get", "lb", "-n", OperatorCluster.NS)
                    .lines()
                    .toList();

            assertThat(columns(lines.get(0)))
                    .containsExactly("NAME", "AGE", "BACKENDS", "REASON", "READY", "HEALTHY", "REPLICAS");
            String header = lines.get(0);
            String shop = lines.stream()
                    .filter(l -> l.startsWith("shop "))
                    .findFirst()
                    .orElseThrow();
            String twice = lines.stream()
                    .filter(l -> l.startsWith("twice "))
                    .findFirst()
                    .orElseThrow();
            assertThat(cell(header, shop, "REASON")).isEqualTo("ProxiesReady");
            assertThat(cell(header, shop, "READY")).isEqualTo("True");
            assertThat(cell(header, shop, "BACKENDS")).isEqualTo("2");
            assertThat(cell(header, shop, "REPLICAS")).isEqualTo("2");
            assertThat(cell(header, twice, "REASON")).isEqualTo("InvalidSpec");
            assertThat(cell(header, twice, "READY")).isEqualTo("False");
        }
    }

    /** The cell under {@code column}: kubectl aligns each column's cells where its header starts. */
    private static String cell(String header, String line, String column) {
        List<String> names = columns(header);
        int start = header.indexOf(column);
        int next = names.indexOf(column) + 1 < names.size()
                ? header.indexOf(names.get(names.indexOf(column) + 1), start)
                : line.length();
        return line.substring(Math.min(start, line.length()), Math.min(next, line.length()))
                .trim();
    }

    private static List<String> columns(String line) {
        return Arrays.asList(line.trim().split("\\s+"));
    }

    private String kubectl(Path kubeconfig, String... args) throws IOException, InterruptedException {
        List<String> command = new java.util.ArrayList<>(List.of(
                KUBECTL.toString(),
                "--kubeconfig",
                kubeconfig.toString(),
                "--cache-dir",
                dir.resolve("cache").toString(),
                "--request-timeout",
                "30s"));
        command.addAll(List.of(args));
        Path out = Files.createTempFile(dir, "kubectl", ".out");
        ProcessBuilder builder =
                new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(out.toFile());
        builder.environment().remove("KUBECONFIG");
        Process process = builder.start();
        if (!process.waitFor(60, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new AssertionError("kubectl timed out: " + command);
        }
        String output = Files.readString(out, StandardCharsets.UTF_8);
        assertThat(process.exitValue()).as(output).isZero();
        return output;
    }
}
