package dev.roundhouse.e2e.images;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import dev.roundhouse.operator.OperatorSettings;
import dev.roundhouse.operator.Release;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.Node;

/**
 * The {@code jib} Maven profiles of the proxy and the operator build the image their Dockerfile builds: the same
 * pinned base image, user, ports, JVM flags, working directory and main class, under the image names the chart
 * and the operator use, and only when asked for. Reads the POMs and Dockerfiles as text (Jib itself cannot run
 * here: it needs the base image from Docker Hub).
 */
class JibProfileTest {

    private static final Path REPO = Path.of("..");

    @ParameterizedTest
    @ValueSource(strings = {"proxy", "operator"})
    void theJibProfileBuildsWhatTheDockerfileBuilds(String module) throws Exception {
        Dockerfile docker = Dockerfile.read(REPO.resolve(module).resolve("Dockerfile"));
        Pom pom = Pom.read(REPO.resolve(module).resolve("pom.xml"));
        Element jib = pom.jibPlugin().orElseThrow(() -> new AssertionError(module + "/pom.xml: no jib profile"));
        Element container = child(jib, "configuration", "container");

        assertThat(text(jib, "configuration", "from", "image")).as("base image").isEqualTo(docker.from);
        assertThat(text(container, "user")).as("user").isEqualTo(docker.user);
        assertThat(texts(child(container, "ports"), "port")).as("ports").isEqualTo(docker.exposed);
        // The proxy's Dockerfile writes a class archive with the image's own JVM (a RUN step), which Jib cannot do;
        // an archive named but missing would switch off even the JDK's own, so only that flag is the Dockerfile's
        // alone (docs/install.md says what it costs).
        assertThat(texts(child(container, "jvmFlags"), "jvmFlag"))
                .as("JVM flags")
                .isEqualTo(docker.jvmFlags.stream()
                        .filter(flag -> !flag.startsWith("-XX:SharedArchiveFile="))
                        .toList());
        assertThat(text(container, "appRoot")).as("appRoot").isEqualTo(docker.workdir);
        assertThat(text(container, "workingDirectory")).as("working directory").isEqualTo(docker.workdir);
        assertThat(text(container, "creationTime"))
                .as("creationTime, stated on purpose")
                .isIn("EPOCH", "USE_CURRENT_TIMESTAMP");

        // The Dockerfile runs the thin jar, whose manifest names ${main.class}; Jib runs the class itself.
        String mainClass = pom.resolve(text(container, "mainClass"));
        assertThat(mainClass).isEqualTo(pom.resolve("${main.class}"));
        assertThat(docker.jar).isEqualTo("/app/" + pom.text("build", "finalName") + ".jar");
        assertThat(pom.jarManifestMainClass()).isEqualTo("${main.class}");
        Method main = Class.forName(mainClass).getMethod("main", String[].class);
        assertThat(Modifier.isStatic(main.getModifiers()) && Modifier.isPublic(main.getModifiers()))
                .isTrue();

        // The image the chart and the operator expect, tagged with the release (ReleaseVersionTest: one version).
        assertThat(pom.resolve(text(jib, "configuration", "to", "image")))
                .isEqualTo("ghcr.io/roundhouse-dev/roundhouse-" + module + ":" + Release.VERSION);
        JsonNode values = new YAMLMapper()
                .readTree(REPO.resolve("charts/roundhouse/values.yaml").toFile());
        String chartRepository = values.path(module.equals("proxy") ? "proxyImage" : "image")
                .path("repository")
                .asText();
        assertThat(pom.resolve(text(jib, "configuration", "to", "image"))).startsWith(chartRepository + ":");
        if (module.equals("proxy")) {
            assertThat(OperatorSettings.DEFAULT_PROXY_IMAGE).startsWith(chartRepository + ":");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"proxy", "operator"})
    void theProfileIsOffByDefaultAndPinsTheJibVersion(String module) throws Exception {
        Pom pom = Pom.read(REPO.resolve(module).resolve("pom.xml"));
        Element profile = pom.profile("jib").orElseThrow();
        assertThat(child(profile, "activation"))
                .as("a jib profile that activates itself")
                .isNull();
        assertThat(pom.defaultBuildPlugins()).doesNotContain("jib-maven-plugin");
        assertThat(Pom.read(REPO.resolve("pom.xml")).defaultBuildPlugins()).doesNotContain("jib-maven-plugin");

        Element jib = pom.jibPlugin().orElseThrow();
        assertThat(text(jib, "groupId")).isEqualTo("com.google.cloud.tools");
        assertThat(text(jib, "version")).as("pinned Jib version").matches("3\\.(4\\.[6-9]|5\\.[0-2])");
        // Bound to package so that `mvn -Pjib package` works from the root; by default it writes a tarball and
        // pushes nothing.
        Element execution = child(jib, "executions", "execution");
        assertThat(text(execution, "phase")).isEqualTo("package");
        String goal = pom.resolve(text(execution, "goals", "goal"));
        assertThat(goal).isEqualTo("buildTar");
    }

    @Test
    void theDockerfileReaderReadsWhatItChecks() throws Exception {
        Path file = Files.createTempFile("Dockerfile", "");
        try {
            Files.writeString(file, """
                    # comment
                    FROM example/base:1.2
                    WORKDIR /srv
                    USER 1:2
                    EXPOSE 1 2
                    ENTRYPOINT ["java", "-Xmx1g", "-jar", "/srv/app.jar"]
                    """);
            Dockerfile d = Dockerfile.read(file);
            assertThat(List.of(d.from, d.workdir, d.user, d.jar))
                    .containsExactly("example/base:1.2", "/srv", "1:2", "/srv/app.jar");
            assertThat(d.exposed).containsExactly("1", "2");
            assertThat(d.jvmFlags).containsExactly("-Xmx1g");
        } finally {
            Files.delete(file);
        }
    }

    /** The instructions of a Dockerfile that the image's runtime depends on. */
    private record Dockerfile(
            String from, String workdir, String user, List<String> exposed, List<String> jvmFlags, String jar) {

        static Dockerfile read(Path file) throws Exception {
            Map<String, String> instructions = new HashMap<>();
            for (String line : Files.readAllLines(file)) {
                String trimmed = line.trim();
                if (trimmed.isEmpty() || trimmed.startsWith("#")) {
                    continue;
                }
                String[] parts = trimmed.split("\\s+", 2);
                instructions.put(parts[0].toUpperCase(), parts.length > 1 ? parts[1].trim() : "");
            }
            List<String> entrypoint = new ArrayList<>();
            new ObjectMapper().readTree(instructions.get("ENTRYPOINT")).forEach(a -> entrypoint.add(a.asText()));
            int jarIndex = entrypoint.indexOf("-jar");
            assertThat(entrypoint.get(0)).as("ENTRYPOINT starts java").isEqualTo("java");
            assertThat(jarIndex).as("ENTRYPOINT runs a jar").isGreaterThan(0);
            return new Dockerfile(
                    instructions.get("FROM"),
                    instructions.get("WORKDIR"),
                    instructions.get("USER"),
                    Arrays.asList(instructions.get("EXPOSE").split("\\s+")),
                    entrypoint.subList(1, jarIndex),
                    entrypoint.get(jarIndex + 1));
        }
    }

    /** A module POM read as XML, with its properties (the jib profile's included) for ${...}. */
    record Pom(Element project, Map<String, String> properties) {

        private static final Pattern PROPERTY = Pattern.compile("\\$\\{([^}]+)}");

        static Pom read(Path file) throws Exception {
            DocumentBuilderFactory factory = DocumentBuilderFactory.newInstance();
            factory.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
            Document doc = factory.newDocumentBuilder().parse(file.toFile());
            Element project = doc.getDocumentElement();
            Map<String, String> properties = new HashMap<>();
            Element parent = child(project, "parent");
            String version = Optional.ofNullable(JibProfileTest.text(project, "version"))
                    .orElse(parent == null ? null : JibProfileTest.text(parent, "version"));
            properties.put("project.version", version);
            Pom pom = new Pom(project, properties);
            if (parent != null) { // the parent's properties first, so that the module's own win
                Element parentProject = factory.newDocumentBuilder()
                        .parse(file.toAbsolutePath()
                                .getParent()
                                .getParent()
                                .resolve("pom.xml")
                                .toFile())
                        .getDocumentElement();
                collect(child(parentProject, "properties"), properties);
            }
            collect(child(project, "properties"), properties);
            pom.profile("jib").ifPresent(p -> collect(child(p, "properties"), properties));
            return pom;
        }

        private static void collect(Element element, Map<String, String> into) {
            if (element != null) {
                children(element)
                        .forEach(
                                e -> into.put(e.getTagName(), e.getTextContent().trim()));
            }
        }

        String version() {
            return properties.get("project.version");
        }

        String text(String... path) {
            return JibProfileTest.text(project, path);
        }

        /** Replaces ${...} until none is left (a property may name another). */
        String resolve(String value) {
            String out = value;
            for (int i = 0; i < 10 && out.contains("${"); i++) {
                Matcher m = PROPERTY.matcher(out);
                StringBuilder sb = new StringBuilder();
                while (m.find()) {
                    String replacement = properties.get(m.group(1));
                    assertThat(replacement).as("property ${%s}", m.group(1)).isNotNull();
                    m.appendReplacement(sb, Matcher.quoteReplacement(replacement));
                }
                m.appendTail(sb);
                out = sb.toString();
            }
            return out;
        }

        Optional<Element> profile(String id) {
            Element profiles = child(project, "profiles");
            return profiles == null
                    ? Optional.empty()
                    : children(profiles).stream()
                            .filter(p -> id.equals(JibProfileTest.text(p, "id")))
                            .findFirst();
        }

        Optional<Element> jibPlugin() {
            return profile("jib")
                    .map(p -> child(p, "build", "plugins"))
                    .flatMap(plugins -> children(plugins).stream()
                            .filter(p -> "jib-maven-plugin".equals(JibProfileTest.text(p, "artifactId")))
                            .findFirst());
        }

        /** artifactIds of the plugins of the build outside any profile. */
        List<String> defaultBuildPlugins() {
            Element plugins = child(project, "build", "plugins");
            return plugins == null
                    ? List.of()
                    : children(plugins).stream()
                            .map(p -> JibProfileTest.text(p, "artifactId"))
                            .toList();
        }

        String jarManifestMainClass() {
            return children(child(project, "build", "plugins")).stream()
                    .filter(p -> "maven-jar-plugin".equals(JibProfileTest.text(p, "artifactId")))
                    .map(p -> JibProfileTest.text(p, "configuration", "archive", "manifest", "mainClass"))
                    .findFirst()
                    .orElse(null);
        }
    }

    private static List<Element> children(Element parent) {
        List<Element> out = new ArrayList<>();
        for (Node n = parent.getFirstChild(); n != null; n = n.getNextSibling()) {
            if (n instanceof Element e) {
                out.add(e);
            }
        }
        return out;
    }

    /** The element at the path of direct children, or null. */
    private static Element child(Element from, String... path) {
        Element current = from;
        for (String name : path) {
            if (current == null) {
                return null;
            }
            current = children(current).stream()
                    .filter(e -> e.getTagName().equals(name))
                    .findFirst()
                    .orElse(null);
        }
        return current;
    }

    private static String text(Element from, String... path) {
        Element e = child(from, path);
        return e == null ? null : e.getTextContent().trim();
    }

    private static List<String> texts(Element parent, String name) {
        assertThat(parent).as("<%s> list", name).isNotNull();
        return children(parent).stream()
                .filter(e -> e.getTagName().equals(name))
                .map(e -> e.getTextContent().trim())
                .toList();
    }
}
