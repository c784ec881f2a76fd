package dev.roundhouse.e2e.docs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.roundhouse.operator.model.Reason;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Argo CD health check of docs/argocd/health.lua, run for real on the sample LoadBalancers of
 * e2e/src/test/resources/argocd/ (expected results in its health_test.yaml), the doc that embeds it, and the
 * Flux health check expressions of the same doc on the same samples.
 */
class ArgoCdHealthCheckTest {

    static final String SCRIPT = "docs/argocd/health.lua";
    static final String DOC = "docs/argocd.md";
    static final String CM_KEY = "resource.customizations.health.roundhouse.dev_LoadBalancer";
    private static final Path FIXTURES = Docs.path("e2e/src/test/resources/argocd");

    @TempDir
    Path work;

    record Case(String inputPath, JsonNode object, String status, String message, String flux) {}

    static List<Case> cases() {
        List<Case> cases = new ArrayList<>();
        for (JsonNode test : Docs.yamlFile(FIXTURES.resolve("health_test.yaml")).path("tests")) {
            String input = test.path("inputPath").asText();
            cases.add(new Case(
                    input,
                    Docs.yamlFile(FIXTURES.resolve(input)),
                    test.path("healthStatus").path("status").asText(),
                    test.path("healthStatus").path("message").asText(),
                    test.path("flux").asText()));
        }
        return cases;
    }

    @TestFactory
    Stream<DynamicTest> healthCheckUnderLua54() {
        Path lua = Docs.onPath("lua5.4").orElse(null);
        assumeTrue(
                lua != null,
                "lua5.4 is not installed (Debian package lua5.4; .ci/run installs it): "
                        + "skipping the Argo CD health check on the samples");
        return samples(lua);
    }

    @TestFactory
    Stream<DynamicTest> healthCheckUnderLua51() {
        Path lua = Docs.onPath("lua5.1").orElse(null);
        assumeTrue(
                lua != null,
                "lua5.1 is not installed (Debian package lua5.1): Argo CD runs health checks in "
                        + "gopher-lua, a Lua 5.1, so install it to check the script against 5.1 as well as 5.4");
        return samples(lua);
    }

    private Stream<DynamicTest> samples(Path lua) {
        return cases().stream()
                .map(c -> DynamicTest.dynamicTest(c.inputPath(), () -> {
                    Lua.Result result = Lua.run(lua, Docs.path(SCRIPT), c.object(), work);
                    assertThat(result.ok())
                            .as("%s on %s, stderr: %s", SCRIPT, c.inputPath(), result.stderr())
                            .isTrue();
                    assertThat(result.status())
                            .as("status for %s", c.inputPath())
                            .isEqualTo(c.status());
                    assertThat(result.message())
                            .as("message for %s", c.inputPath())
                            .isEqualTo(c.message());
                }));
    }

    @Test
    void theHarnessRefusesWhatArgoCdsSandboxRefuses() throws IOException {
        Path lua = Docs.onPath("lua5.4").orElse(null);
        assumeTrue(lua != null, "lua5.4 is not installed (Debian package lua5.4): skipping");
        JsonNode object = Docs.yaml("metadata: {generation: 1}");
        assertThat(runScript(lua, "hs = {} hs.status = \"Healthy\" return hs", object))
                .as("a script within the sandbox")
                .extracting(Lua.Result::status)
                .isEqualTo("Healthy");
        for (String outside : List.of(
                "return { status = string.format(\"%s\", \"Healthy\") }",
                "return { status = (\"healthy\"):upper() }",
                "return { status = \"Healthy\", message = tostring(math.max(1, 2)) }",
                "io.write(\"x\") return { status = \"Healthy\" }",
                "return \"Healthy\"",
                "return { status = obj.status.phase }")) {
            Lua.Result result = runScript(lua, outside, object);
            assertThat(result.ok())
                    .as("the harness must refuse: %s (it printed %s)", outside, result.status())
                    .isFalse();
        }
    }

    private Lua.Result runScript(Path lua, String script, JsonNode object) throws IOException {
        Path file = Files.createTempFile(work, "script", ".lua");
        Files.writeString(file, script);
        return Lua.run(lua, file, object, work);
    }

    @Test
    void everyConditionReasonTheOperatorWritesHasASample() {
        Set<String> written = new TreeSet<>();
        for (Reason reason : Reason.values()) {
            written.add(reason.value());
        }

        Set<String> sampled = new TreeSet<>();
        for (Case c : cases()) {
            c.object()
                    .path("status")
                    .path("conditions")
                    .forEach(cond -> sampled.add(cond.path("reason").asText()));
        }
        assertThat(sampled)
                .as("condition reasons in the samples of health_test.yaml: add a sample for each "
                        + "reason the operator writes, with the health Argo CD should show")
                .containsAll(written);
        assertThat(cases())
                .extracting(Case::status)
                .as("health statuses the samples reach")
                .contains("Healthy", "Progressing", "Degraded", "Suspended");
    }

    @Test
    void theDocEmbedsTheScriptVerbatim() {
        String script = Docs.read(SCRIPT);
        List<String> embedded = new ArrayList<>();
        for (String block : Docs.fencedBlocks(Docs.read(DOC), "yaml")) {
            JsonNode value = Docs.yaml(block).path("data").path(CM_KEY);
            if (value.isTextual()) {
                embedded.add(value.textValue());
            }
        }
        assertThat(embedded).as("yaml blocks of %s that set %s", DOC, CM_KEY).hasSize(1);
        assertThat(embedded.get(0))
                .as("the health check in %s, against %s", DOC, SCRIPT)
                .isEqualTo(script);
    }

    @Test
    void theDocsFluxHealthCheckExpressionsGiveTheExpectedStatus() {
        List<JsonNode> exprs = new ArrayList<>();
        for (String block : Docs.fencedBlocks(Docs.read(DOC), "yaml")) {
            for (JsonNode expr : Docs.yaml(block).path("spec").path("healthCheckExprs")) {
                if (expr.path("kind").asText().equals("LoadBalancer")) {
                    exprs.add(expr);
                }
            }
        }
        assertThat(exprs).as("healthCheckExprs for LoadBalancer in %s", DOC).hasSize(1);
        assertThat(exprs.get(0).path("apiVersion").asText()).isEqualTo("roundhouse.dev/v1alpha1");
        FluxHealth flux = new FluxHealth(exprs.get(0));
        Map<String, String> got = new java.util.TreeMap<>();
        Map<String, String> want = new java.util.TreeMap<>();
        for (Case c : cases()) {
            got.put(c.inputPath(), flux.evaluate(c.object()));
            want.put(c.inputPath(), c.flux());
        }
        assertThat(got).isEqualTo(want);
    }
}
