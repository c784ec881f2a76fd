package dev.roundhouse.operator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.roundhouse.operator.faults.KillSwitch;
import dev.roundhouse.operator.faults.LostLeaseTest;
import dev.roundhouse.operator.testing.OperatorCluster;
import dev.roundhouse.testing.apiserver.EmbeddedApiServer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The operator's main class in a child JVM, as its container runs it: exit codes, what it prints, its probes.
 * The child gets only PATH, JAVA_HOME, a KUBECONFIG of our own and the settings under test.
 */
class OperatorMainTest {

    private static final Duration DEADLINE = Duration.ofSeconds(30);
    /** A probe that gets no answer within this is the defect: the kubelet's own timeout is 1 s by default. */
    private static final Duration PROBE_TIMEOUT = Duration.ofSeconds(5);

    private static final HttpClient HTTP =
            HttpClient.newBuilder().connectTimeout(PROBE_TIMEOUT).build();

    @TempDir
    Path dir;

    private Process process;
    private Socket closedPort;

    @AfterEach
    void stopTheChild() throws Exception {
        if (process != null && process.isAlive()) {
            process.destroyForcibly();
            process.waitFor(DEADLINE.toSeconds(), TimeUnit.SECONDS);
        }
        if (closedPort != null) {
            closedPort.close();
        }
    }

    @Test
    void badSettingsExitWith2AndOneLinePerProblemWithoutAStackTrace() throws Exception {
        start(
                Map.of(
                        "WATCH_NAMESPACES",
                        "shop, Not_A_Namespace",
                        "LOG_LEVEL",
                        "chatty",
                        "LOG_FORMAT",
                        "xml",
                        "HTTP_PORT",
                        "http",
                        "LEADER_ELECTION",
                        "maybe"),
                unreachableKubeconfig());

        assertThat(process.waitFor(DEADLINE.toSeconds(), TimeUnit.SECONDS))
                .as(output())
                .isTrue();
        assertThat(process.exitValue()).as(output()).isEqualTo(2);
        assertThat(Files.readString(dir.resolve("stdout"))).as(output()).isEmpty();
        assertThat(Files.readAllLines(dir.resolve("stderr")))
                .as(output())
                .containsExactly(
                        "roundhouse-operator: cannot start, WATCH_NAMESPACES: 'Not_A_Namespace' is not a namespace name "
                                + "(a DNS-1123 label: at most 63 lower-case letters, digits and '-', "
                                + "starting and ending with a letter or digit)",
                        "roundhouse-operator: cannot start, LOG_LEVEL: must be one of trace, debug, info, warn, error, off, "
                                + "got 'chatty'",
                        "roundhouse-operator: cannot start, LOG_FORMAT: must be text or json, got 'xml'",
                        "roundhouse-operator: cannot start, HTTP_PORT: must be an integer, got 'http'",
                        "roundhouse-operator: cannot start, LEADER_ELECTION: must be true or false, got 'maybe'");
        assertThat(output()).doesNotContain("Exception").doesNotContain("\tat ");
    }

    @Test
    void probesAnswer503AtOnceWhileTheApiServerIsUnreachable() throws Exception {
        int port = freePort();
        start(Map.of("HTTP_PORT", Integer.toString(port), "LEADER_ELECTION", "false"), unreachableKubeconfig());

        HttpResponse<String> ready = awaitAnswer(port, "/readyz");
        assertThat(ready.statusCode()).as(output()).isEqualTo(503);
        assertThat(ready.body()).contains("API server");
        HttpResponse<String> live = get(port, "/healthz");
        assertThat(live.statusCode()).isEqualTo(503);
        assertThat(live.body()).contains("API server");
        assertThat(get(port, "/metrics").statusCode()).isEqualTo(200);
        assertThat(process.isAlive()).as("still trying to start: " + output()).isTrue();
    }

    @Test
    void sigtermWhileTheApiServerIsUnreachableExits0() throws Exception {
        int port = freePort();
        start(Map.of("HTTP_PORT", Integer.toString(port), "LEADER_ELECTION", "false"), unreachableKubeconfig());
        assertThat(awaitAnswer(port, "/readyz").statusCode()).as(output()).isEqualTo(503);

        assertThat(process.toHandle().destroy()).isTrue(); // SIGTERM

        assertThat(process.waitFor(DEADLINE.toSeconds(), TimeUnit.SECONDS))
                .as(output())
                .isTrue();
        assertThat(process.exitValue()).as(output()).isEqualTo(0);
    }

    @Test
    void sigtermAfterACleanStopExits0() throws Exception {
        try (EmbeddedApiServer api = new EmbeddedApiServer().start()) {
            api.applyCrds(OperatorCluster.CRD);
            int port = freePort();
            // LOG_FORMAT as a person might type it: the JSON lines below show that the checked value is the one used.
            start(
                    Map.of(
                            "HTTP_PORT",
                            Integer.toString(port),
                            "LEADER_ELECTION",
                            "true",
                            "POD_NAMESPACE",
                            "default",
                            "LEADER_ELECTION_LEASE",
                            "edge-leader",
                            "LOG_FORMAT",
                            " JSON "),
                    api.writeKubeconfig(dir.resolve("kubeconfig")));
            awaitAnswer(port, "/readyz", r -> r.statusCode() == 200);
            await("the Lease LEADER_ELECTION_LEASE names")
                    .atMost(DEADLINE)
                    .until(() -> api.client()
                                    .leases()
                                    .inNamespace("default")
                                    .withName("edge-leader")
                                    .get()
                            != null);
            assertThat(api.client()
                            .leases()
                            .inNamespace("default")
                            .withName(OperatorSettings.DEFAULT_LEASE_NAME)
                            .get())
                    .isNull();

            assertThat(process.toHandle().destroy()).isTrue(); // SIGTERM

            assertThat(process.waitFor(DEADLINE.toSeconds(), TimeUnit.SECONDS))
                    .as(output())
                    .isTrue();
            assertThat(process.exitValue()).as(output()).isEqualTo(0);
            List<String> lines = Files.readAllLines(dir.resolve("stdout"));
            assertThat(lines)
                    .as(output())
                    .isNotEmpty()
                    .allSatisfy(l -> assertThat(l).startsWith("{\""));
            assertThat(lines).anySatisfy(l -> assertThat(l).contains("Roundhouse operator stopped"));
            assertThat(output()).doesNotContain("\tat ");
        }
    }

    /**
     * A watch that ends in an error the Kubernetes client does not retry leaves the operator blind to that kind for
     * good: its process exits with 1 and a line saying what it stopped watching, so that Kubernetes restarts it.
     */
    @Test
    void aWatchThatEndsInAnErrorTheClientDoesNotRetryExits1WithALineSayingWhich() throws Exception {
        try (EmbeddedApiServer api = new EmbeddedApiServer().start();
                KillSwitch relay = new KillSwitch(api.port())) {
            api.applyCrds(OperatorCluster.CRD);
            int port = freePort();
            start(
                    Map.of("HTTP_PORT", Integer.toString(port), "LEADER_ELECTION", "false"),
                    kubeconfig("relayed", relay.port()));
            awaitAnswer(port, "/healthz", r -> r.statusCode() == 200);

            relay.garbleWatches();
            relay.resetConnections();

            // The Kubernetes client logs each watch's error, with its stack trace; the operator says it once.
            assertExits1WithOneLine(
                    "Stopped watching",
                    "ERROR +RoundhouseOperator - Stopped watching \\w+ \\(.+\\); exiting so that a restart watches again$");
        }
    }

    /** Another replica took the leader lease: the process exits with 1 and a line saying so, and restarts a follower. */
    @Test
    void aLostLeaderLeaseExits1WithALineSayingSo() throws Exception {
        try (EmbeddedApiServer api = new EmbeddedApiServer().start()) {
            api.applyCrds(OperatorCluster.CRD);
            int port = freePort();
            start(
                    Map.of("HTTP_PORT", Integer.toString(port), "LEADER_ELECTION", "true", "POD_NAMESPACE", "default"),
                    api.writeKubeconfig(dir.resolve("kubeconfig")));
            awaitAnswer(port, "/readyz", r -> r.statusCode() == 200);
            var lease = api.client().leases().inNamespace("default").withName(OperatorSettings.DEFAULT_LEASE_NAME);
            await().atMost(DEADLINE).until(() -> lease.get() != null);

            LostLeaseTest.takeTheLease(lease);

            assertExits1WithOneLine(
                    "Lost the leader lease",
                    "ERROR +RoundhouseOperator - Lost the leader lease " + OperatorSettings.DEFAULT_LEASE_NAME
                            + "; exiting so that another replica reconciles alone$");
        }
    }

    /** The child exits with 1, having printed exactly one line that mentions {@code about}, matching {@code line}. */
    private void assertExits1WithOneLine(String about, String line) throws Exception {
        assertThat(process.waitFor(DEADLINE.toSeconds(), TimeUnit.SECONDS))
                .as(output())
                .isTrue();
        assertThat(process.exitValue()).as(output()).isEqualTo(1);
        assertThat(Files.readAllLines(dir.resolve("stdout")))
                .as(output())
                .filteredOn(l -> l.contains(about))
                .singleElement()
                .satisfies(l -> assertThat(l).containsPattern(line));
    }

    private void start(Map<String, String> settings, Path kubeconfig) throws IOException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        ProcessBuilder builder = new ProcessBuilder(
                        java,
                        "-Xmx256m",
                        "-Djava.net.preferIPv4Stack=true",
                        "-cp",
                        System.getProperty("java.class.path"),
                        RoundhouseOperator.class.getName())
                .redirectOutput(dir.resolve("stdout").toFile())
                .redirectError(dir.resolve("stderr").toFile());
        Map<String, String> env = builder.environment();
        String path = env.get("PATH");
        String javaHome = env.get("JAVA_HOME");
        env.clear();
        if (path != null) {
            env.put("PATH", path);
        }
        if (javaHome != null) {
            env.put("JAVA_HOME", javaHome);
        }
        env.put("KUBECONFIG", kubeconfig.toString());
        env.putAll(settings);
        process = builder.start();
    }

    /**
     * A kubeconfig whose API server is a loopback port that refuses connections. The port is held by a socket that is
     * bound but does not listen, so that nothing else can listen there during the test.
     */
    private Path unreachableKubeconfig() throws IOException {
        closedPort = new Socket();
        closedPort.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        return kubeconfig("unreachable", closedPort.getLocalPort());
    }

    /** A kubeconfig whose API server is {@code http://127.0.0.1:port}. */
    private Path kubeconfig(String name, int port) throws IOException {
        return Files.writeString(
                dir.resolve(name + "-kubeconfig"),
                String.join(
                        "\n",
                        "apiVersion: v1",
                        "kind: Config",
                        "clusters:",
                        "- name: " + name,
                        "  cluster:",
                        "    server: http://127.0.0.1:" + port,
                        "contexts:",
                        "- name: " + name,
                        "  context:",
                        "    cluster: " + name,
                        "    user: " + name,
                        "    namespace: default",
                        "current-context: " + name,
                        "users:",
                        "- name: " + name,
                        "  user: {}",
                        ""));
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }

    /** The first answer on {@code path} once the child listens. */
    private HttpResponse<String> awaitAnswer(int port, String path) {
        return awaitAnswer(port, path, r -> true);
    }

    /**
     * The first answer on {@code path} that {@code wanted} accepts. Connection refused means not listening yet and is
     * retried; a request that gets no answer within {@link #PROBE_TIMEOUT} fails the test at once.
     */
    private HttpResponse<String> awaitAnswer(int port, String path, Predicate<HttpResponse<String>> wanted) {
        return await().atMost(DEADLINE)
                .pollInterval(Duration.ofMillis(100))
                .until(
                        () -> {
                            if (!process.isAlive()) {
                                throw new IllegalStateException(
                                        "the operator exited with " + process.exitValue() + "\n" + output());
                            }
                            try {
                                return get(port, path);
                            } catch (ConnectException e) {
                                return null;
                            }
                        },
                        r -> r != null && wanted.test(r));
    }

    private static HttpResponse<String> get(int port, String path) throws IOException, InterruptedException {
        return HTTP.send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                        .timeout(PROBE_TIMEOUT)
                        .build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private String output() {
        try {
            return "--- stdout ---\n" + Files.readString(dir.resolve("stdout")) + "\n--- stderr ---\n"
                    + Files.readString(dir.resolve("stderr"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
