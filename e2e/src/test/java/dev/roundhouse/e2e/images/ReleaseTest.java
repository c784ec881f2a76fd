package dev.roundhouse.e2e.images;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import dev.roundhouse.operator.OperatorSettings;
import dev.roundhouse.operator.Release;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.Test;

/**
 * One version everywhere, and a workflow that publishes what the chart and the operator pull: the parent POM's
 * {@code roundhouse.release} is the images' tag, the chart's version and appVersion, and the operator's default
 * proxy image; {@code .github/workflows/release.yml} pushes both images for amd64 and arm64 and the chart, under
 * the names the chart's values and the operator use, and refuses a tag that is not that release. The workflow
 * cannot run here: it is read, and checked against the workflow schema with action-validator where installed.
 */
class ReleaseTest {

    private static final Path REPO = Path.of("..");
    private static final Path WORKFLOW = REPO.resolve(".github/workflows/release.yml");
    private static final YAMLMapper YAML = new YAMLMapper();

    @Test
    void theReleaseIsTheImageTagTheChartVersionAndTheDefaultProxyImage() throws Exception {
        JibProfileTest.Pom parent = JibProfileTest.Pom.read(REPO.resolve("pom.xml"));
        String release = parent.resolve("${roundhouse.release}");
        JsonNode chart =
                YAML.readTree(REPO.resolve("charts/roundhouse/Chart.yaml").toFile());

        assertThat(release).matches("[0-9]+\\.[0-9]+\\.[0-9]+");
        assertThat(Release.VERSION).as("what the operator's build read").isEqualTo(release);
        assertThat(chart.path("version").asText()).as("the chart's version").isEqualTo(release);
        assertThat(chart.path("appVersion").asText())
                .as("the chart's appVersion")
                .isEqualTo(release);
        assertThat(OperatorSettings.DEFAULT_PROXY_IMAGE)
                .isEqualTo("ghcr.io/roundhouse-dev/roundhouse-proxy:" + release);
        assertThat(parent.version())
                .as("the Maven version works towards the release")
                .startsWith(release);
    }

    @Test
    void theWorkflowPublishesWhatTheChartAndTheOperatorPull() throws Exception {
        JsonNode workflow = YAML.readTree(WORKFLOW.toFile());
        assertThat(workflow.path("on").path("push").path("tags").get(0).asText())
                .isEqualTo("v*.*.*");
        assertThat(workflow.path("permissions").path("packages").asText()).isEqualTo("write");
        JsonNode job = workflow.path("jobs").path("release");
        String registry = job.path("env").path("REGISTRY").asText();
        assertThat(registry).isEqualTo("ghcr.io/${{ github.repository_owner }}");
        List<String> runs = StreamSupport.stream(job.path("steps").spliterator(), false)
                .map(step -> step.path("run").asText(""))
                .toList();

        // The version check comes before anything is pushed, and compares the tag with the tree's release.
        int check = indexOf(runs, "test \"${GITHUB_REF_NAME#v}\" = \"${release}\"");
        assertThat(runs.get(check))
                .contains("help:evaluate -Dexpression=roundhouse.release")
                .contains("test \"${chart_version}\" = \"${release}\"")
                .contains("test \"${app_version}\" = \"${release}\"");
        int test = indexOf(runs, "bash .ci/run");
        int images = indexOf(runs, "-Pjib package");
        int chart = indexOf(runs, "helm push");
        assertThat(check).isLessThan(test);
        assertThat(test).isLessThan(images);
        assertThat(images).isLessThan(chart);

        // Both images, pushed (not a tarball), for both architectures, to the owner's registry under the names the
        // chart and the operator use: with the owner roundhouse-dev, exactly what they pull.
        String build = runs.get(images);
        assertThat(build)
                .contains("-Droundhouse.jib.goal=build")
                .contains("-Droundhouse.image.registry=\"${REGISTRY}\"")
                .contains("-Djib.from.platforms=linux/amd64,linux/arm64")
                .doesNotContain("-pl ");
        String owner = "roundhouse-dev";
        String published = registry.replace("${{ github.repository_owner }}", owner);
        JsonNode values =
                YAML.readTree(REPO.resolve("charts/roundhouse/values.yaml").toFile());
        assertThat(published + "/roundhouse-operator")
                .isEqualTo(values.path("image").path("repository").asText());
        assertThat(published + "/roundhouse-proxy")
                .isEqualTo(values.path("proxyImage").path("repository").asText());
        assertThat(OperatorSettings.DEFAULT_PROXY_IMAGE).startsWith(published + "/roundhouse-proxy:");
        for (String module : List.of("proxy", "operator")) {
            JibProfileTest.Pom pom =
                    JibProfileTest.Pom.read(REPO.resolve(module).resolve("pom.xml"));
            assertThat(pom.resolve("${roundhouse.image.registry}")).isEqualTo(published);
        }
        assertThat(runs.get(chart)).contains("helm package charts/roundhouse").contains("oci://${REGISTRY}/charts");
    }

    @Test
    void theWorkflowIsValidForGitHubActions() throws Exception {
        Optional<Path> validator = onPath("action-validator");
        assumeTrue(
                validator.isPresent(),
                "action-validator is not installed (npm install -g @action-validator/cli;" + " .ci/run installs it)");
        Process process = new ProcessBuilder(validator.get().toString(), WORKFLOW.toString())
                .redirectErrorStream(true)
                .start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(process.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(process.exitValue())
                .as("action-validator %s:\n%s", WORKFLOW, output)
                .isZero();

        // It does refuse a broken workflow, so its silence above means something.
        Path broken = Files.createTempFile("release", ".yml");
        try {
            Files.writeString(broken, Files.readString(WORKFLOW).replace("runs-on:", "runs-onn:"));
            Process refused = new ProcessBuilder(validator.get().toString(), broken.toString())
                    .redirectErrorStream(true)
                    .start();
            refused.getInputStream().readAllBytes();
            assertThat(refused.waitFor(60, TimeUnit.SECONDS)).isTrue();
            assertThat(refused.exitValue()).isNotZero();
        } finally {
            Files.deleteIfExists(broken);
        }
    }

    private static int indexOf(List<String> runs, String text) {
        for (int i = 0; i < runs.size(); i++) {
            if (runs.get(i).contains(text)) {
                return i;
            }
        }
        throw new AssertionError("no step of " + WORKFLOW + " runs " + text + "\n" + runs);
    }

    private static Optional<Path> onPath(String name) throws IOException {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
            Path candidate = dir.isEmpty() ? null : Path.of(dir, name);
            if (candidate != null && Files.isExecutable(candidate)) {
                return Optional.of(candidate);
            }
        }
        return Optional.empty();
    }
}
