package dev.roundhouse.e2e.local;

import dev.roundhouse.proxy.RoundhouseProxy;
import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

/**
 * One proxy "container": the real proxy main in a child JVM, with exactly the environment it is given
 * (as a container gets only its image's and its pod's), its output appended to a log file.
 */
final class ProxyProcess {

    /** What a container would inherit from its image: enough for the JVM to run, nothing of ours. */
    private static final List<String> INHERITED = List.of("PATH", "HOME", "LANG", "TZ", "TMPDIR");

    private static final HttpClient PROBE_CLIENT = HttpClient.newBuilder()
            .connectTimeout(Duration.ofMillis(500))
            .version(HttpClient.Version.HTTP_1_1)
            .build();

    private final Process process;
    private final int port;
    private final int metricsPort;
    private final int tlsPort;
    private final Path log;

    private ProxyProcess(Process process, int port, int metricsPort, int tlsPort, Path log) {
        this.process = process;
        this.port = port;
        this.metricsPort = metricsPort;
        this.tlsPort = tlsPort;
        this.log = log;
    }

    /**
     * Starts the proxy with {@code env} (PORT and METRICS_PORT in it are the ports it will bind, and TLS_PORT when
     * TLS_CERT_FILE is set).
     */
    static ProxyProcess start(Map<String, String> env, Path log) {
        return startWith(withLocalFlags("-cp", classpath(), ProxyLauncher.class.getName()), env, log);
    }

    /**
     * Starts the proxy as its image runs it, {@code java -jar} on the packaged jar with the libraries beside it,
     * rather than from this JVM's class path; it then ends on SIGTERM only, not with this JVM.
     */
    static ProxyProcess startJar(Path jar, Map<String, String> env, Path log) {
        return startWith(withLocalFlags("-jar", jar.toAbsolutePath().toString()), env, log);
    }

    /** {@code what} after the JVM flags of a local proxy: small and quick to start, it serves a developer. */
    private static List<String> withLocalFlags(String... what) {
        List<String> arguments =
                new ArrayList<>(List.of("-XX:+UseSerialGC", "-Xmx256m", "-XX:+ExitOnOutOfMemoryError"));
        arguments.addAll(List.of(what));
        return arguments;
    }

    /**
     * Starts {@code java} with exactly {@code arguments} (an image's entry point, say), nothing added: PORT and
     * METRICS_PORT in {@code env} as for {@link #start}.
     */
    static ProxyProcess startWith(List<String> arguments, Map<String, String> env, Path log) {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(arguments);
        ProcessBuilder builder = new ProcessBuilder(command);
        Map<String, String> childEnv = builder.environment();
        Map<String, String> parentEnv = new TreeMap<>(childEnv);
        childEnv.clear();
        INHERITED.forEach(name -> {
            if (parentEnv.containsKey(name)) {
                childEnv.put(name, parentEnv.get(name));
            }
        });
        childEnv.putAll(env);
        try {
            Files.createDirectories(log.toAbsolutePath().getParent());
            builder.redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
            return new ProxyProcess(
                    builder.start(),
                    Integer.parseInt(env.get("PORT")),
                    Integer.parseInt(env.get("METRICS_PORT")),
                    env.containsKey("TLS_CERT_FILE") && env.containsKey("TLS_PORT")
                            ? Integer.parseInt(env.get("TLS_PORT"))
                            : 0,
                    log);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start the proxy: " + e.getMessage(), e);
        }
    }

    /**
     * This JVM's class path with the proxy's own code first, so that the proxy's log4j2.xml is the one the
     * child finds (the operator's and this module's are on the same class path).
     */
    private static String classpath() {
        try {
            String proxyCode = Path.of(RoundhouseProxy.class
                            .getProtectionDomain()
                            .getCodeSource()
                            .getLocation()
                            .toURI())
                    .toString();
            return proxyCode + File.pathSeparator + System.getProperty("java.class.path");
        } catch (URISyntaxException e) {
            throw new IllegalStateException("cannot locate the proxy's classes", e);
        }
    }

    long pid() {
        return process.pid();
    }

    int port() {
        return port;
    }

    int metricsPort() {
        return metricsPort;
    }

    /** The HTTPS port, or 0 without TLS. */
    int tlsPort() {
        return tlsPort;
    }

    Path log() {
        return log;
    }

    /** The last line the proxy wrote (why it exited, usually), or an empty string. */
    String lastLogLine() {
        try (var lines = Files.lines(log)) {
            return lines.filter(line -> !line.isBlank())
                    .reduce((first, second) -> second)
                    .orElse("");
        } catch (IOException | UncheckedIOException e) {
            return "";
        }
    }

    boolean isAlive() {
        return process.isAlive();
    }

    /** The exit code, or -1 while it runs. */
    int exitCode() {
        return process.isAlive() ? -1 : process.exitValue();
    }

    /** The kubelet's readiness probe: {@code GET /readyz} on the metrics port answers 200. */
    boolean ready() {
        if (!process.isAlive()) {
            return false;
        }
        try {
            HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + metricsPort + "/readyz"))
                    .timeout(Duration.ofSeconds(1))
                    .GET()
                    .build();
            return PROBE_CLIENT
                            .send(request, HttpResponse.BodyHandlers.discarding())
                            .statusCode()
                    == 200;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** Closes the pipe to the proxy's standard input, as the death of this JVM would (see {@link ProxyLauncher}). */
    void closeInput() throws IOException {
        process.getOutputStream().close();
    }

    /** SIGTERM, as the kubelet sends; the proxy drains, and is killed if still running after {@code grace}. */
    void stop(Duration grace) {
        process.destroy();
        try {
            if (!process.waitFor(grace.toMillis(), TimeUnit.MILLISECONDS)) {
                process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }
}
