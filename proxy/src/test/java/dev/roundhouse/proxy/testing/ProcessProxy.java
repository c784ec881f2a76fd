package dev.roundhouse.proxy.testing;

import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The real proxy main class in a child JVM, with an environment of our choosing (nothing inherited
 * but PATH and JAVA_HOME) on free loopback ports. Its stdout and stderr are collected on background
 * threads. {@link #close()} kills it if it still runs.
 */
public final class ProcessProxy implements AutoCloseable {

    public static final String MAIN_CLASS = "dev.roundhouse.proxy.RoundhouseProxy";

    private static final HttpClient PROBE = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(2))
            .build();

    private final Process process;
    private final Output stdout;
    private final Output stderr;
    private final int port;
    private final int metricsPort;

    private ProcessProxy(Process process, int port, int metricsPort) {
        this.process = process;
        this.port = port;
        this.metricsPort = metricsPort;
        this.stdout = new Output(process.getInputStream(), "proxy-stdout");
        this.stderr = new Output(process.getErrorStream(), "proxy-stderr");
    }

    /**
     * Starts {@code java -Xmx64m -cp <test class path> RoundhouseProxy}. PORT, METRICS_PORT and
     * BIND_ADDRESS default to free loopback ports; {@code vars} adds or overrides proxy variables.
     */
    public static ProcessProxy start(Map<String, String> vars) {
        return start(vars, List.of("-Xmx64m"));
    }

    public static ProcessProxy start(Map<String, String> vars, List<String> jvmOptions) {
        int[] free = freePorts(2);
        Map<String, String> proxyVars = new HashMap<>();
        proxyVars.put("PORT", Integer.toString(free[0]));
        proxyVars.put("METRICS_PORT", Integer.toString(free[1]));
        proxyVars.put("BIND_ADDRESS", "127.0.0.1");
        proxyVars.put("SHUTDOWN_DELAY", "0s"); // tests of the delay set it
        proxyVars.putAll(vars);

        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(jvmOptions);
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(MAIN_CLASS);

        ProcessBuilder builder = new ProcessBuilder(command);
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
        env.putAll(proxyVars);
        try {
            return new ProcessProxy(
                    builder.start(),
                    Integer.parseInt(proxyVars.get("PORT")),
                    Integer.parseInt(proxyVars.get("METRICS_PORT")));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + command, e);
        }
    }

    /** Distinct ports that were free a moment ago (all held open together, then released). */
    public static int[] freePorts(int count) {
        List<ServerSocket> sockets = new ArrayList<>();
        try {
            int[] ports = new int[count];
            for (int i = 0; i < count; i++) {
                ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
                sockets.add(socket);
                ports[i] = socket.getLocalPort();
            }
            return ports;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            for (ServerSocket socket : sockets) {
                try {
                    socket.close();
                } catch (IOException ignored) {
                    // released
                }
            }
        }
    }

    public Process process() {
        return process;
    }

    public int port() {
        return port;
    }

    public int metricsPort() {
        return metricsPort;
    }

    public String url(String path) {
        return "http://127.0.0.1:" + port + path;
    }

    public String stdout() {
        return stdout.text();
    }

    public String stderr() {
        return stderr.text();
    }

    /** Both streams, for failure messages. */
    public String output() {
        return "--- stdout ---\n" + stdout() + "\n--- stderr ---\n" + stderr();
    }

    /**
     * Waits until /readyz answers 200 and the traffic port accepts connections; fails at once, with
     * the child's output, if the process exits meanwhile.
     */
    public ProcessProxy awaitReady(Duration atMost) {
        await().atMost(atMost).pollInterval(Duration.ofMillis(100)).until(() -> {
            if (!process.isAlive()) {
                throw new IllegalStateException(
                        "proxy exited with " + process.exitValue() + " before ready\n" + output());
            }
            return readyStatus() == 200 && accepts(port);
        });
        return this;
    }

    /** The status /readyz answers, or -1 when nothing answers (connection refused, reset, timeout). */
    public int readyStatus() {
        try {
            HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + metricsPort + "/readyz"))
                    .timeout(Duration.ofSeconds(2))
                    .GET()
                    .build();
            return PROBE.send(request, HttpResponse.BodyHandlers.discarding()).statusCode();
        } catch (IOException e) {
            return -1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -1;
        }
    }

    private static boolean accepts(int port) {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress("127.0.0.1", port), 1000);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /**
     * Sends SIGTERM. Through the process handle rather than {@link Process#destroy()}, which sends
     * the same signal but also closes our ends of the child's stdout and stderr at once: the lines
     * the proxy logs while shutting down would be lost (its writes fail with EPIPE).
     */
    public void terminate() {
        if (!process.toHandle().destroy()) {
            throw new IllegalStateException("cannot signal the proxy process " + process.pid());
        }
    }

    /** Waits for the process to exit and returns its exit code; fails with the output if it does not. */
    public int awaitExit(Duration atMost) {
        try {
            if (!process.waitFor(atMost.toMillis(), TimeUnit.MILLISECONDS)) {
                throw new AssertionError("proxy still running after " + atMost + "\n" + output());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
        stdout.join();
        stderr.join();
        return process.exitValue();
    }

    @Override
    public void close() {
        try {
            if (process.isAlive()) {
                process.destroy();
                if (!process.waitFor(10, TimeUnit.SECONDS)) {
                    process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                }
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        } finally {
            stdout.join();
            stderr.join();
        }
    }

    /** Drains one stream of the child into memory on a daemon thread. */
    private static final class Output {
        private final java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        private final Thread thread;

        Output(InputStream in, String name) {
            thread = new Thread(
                    () -> {
                        byte[] buffer = new byte[8192];
                        try (in) {
                            for (int n; (n = in.read(buffer)) != -1; ) {
                                synchronized (bytes) {
                                    bytes.write(buffer, 0, n);
                                }
                            }
                        } catch (IOException ignored) {
                            // the process ended
                        }
                    },
                    name);
            thread.setDaemon(true);
            thread.start();
        }

        String text() {
            synchronized (bytes) {
                return bytes.toString(StandardCharsets.UTF_8);
            }
        }

        /** Waits (bounded) for the stream to reach its end after the process exited. */
        void join() {
            try {
                thread.join(5000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
