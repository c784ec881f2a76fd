package dev.roundhouse.proxy.testing;

import dev.roundhouse.proxy.RoundhouseProxy;
import dev.roundhouse.testing.RawHttp;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Runs both hostile corpora against Roundhouse and against nginx, each in front of the same kind of backend, and
 * prints what each did as a Markdown table (the source of the nginx column in docs/http-conformance.md). A tool, not
 * a test: {@code bench/hostile-http-vs-nginx.sh} runs it.
 */
public final class HostileCorpusComparison {

    private HostileCorpusComparison() {}

    public static void main(String[] args) throws Exception {
        Path nginx = Path.of(args.length > 0 ? args[0] : "/usr/sbin/nginx");
        System.out.println("## Requests\n");
        System.out.println("| case | class | rule | Roundhouse | nginx |");
        System.out.println("|---|---|---|---|---|");
        for (HostileCorpus.Case c : HostileCorpus.load("/hostile/requests.corpus")) {
            String ours;
            try (RawHttp.RecordingBackend backend = RawHttp.RecordingBackend.start();
                    RoundhouseProxy proxy = ProxyFixture.start(
                            ProxyFixture.env("BACKENDS", backend.url(), "HEALTH_CHECK_PATH", "/health"))) {
                ours = request(c, proxy.port(), backend);
            }
            String theirs;
            try (RawHttp.RecordingBackend backend = RawHttp.RecordingBackend.start();
                    Nginx proxy = Nginx.start(nginx, port(backend.url()))) {
                theirs = request(c, proxy.port, backend);
            }
            System.out.printf("| %s | %s | %s | %s | %s |%n", c.name(), c.field("class"), c.field("rfc"), ours, theirs);
        }
        System.out.println("\n## Backend responses (to a GET / a Content-Length POST / a chunked POST)\n");
        System.out.println("| case | class | rule | Roundhouse | nginx |");
        System.out.println("|---|---|---|---|---|");
        for (HostileCorpus.Case c : HostileCorpus.load("/hostile/responses.corpus")) {
            StringBuilder ours = new StringBuilder();
            StringBuilder theirs = new StringBuilder();
            for (CorpusProbe.Kind kind : CorpusProbe.Kind.values()) {
                String sep = kind.ordinal() == 0 ? "" : " / ";
                try (ScriptedBackend backend = ScriptedBackend.start(CorpusProbe.firstAnswer(c));
                        RoundhouseProxy proxy = ProxyFixture.start(
                                ProxyFixture.env("BACKENDS", backend.url(), "HEALTH_CHECK_PATH", "/health"))) {
                    ours.append(sep).append(response(kind, proxy.port()));
                }
                try (ScriptedBackend backend = ScriptedBackend.start(CorpusProbe.firstAnswer(c));
                        Nginx proxy = Nginx.start(nginx, port(backend.url()))) {
                    theirs.append(sep).append(response(kind, proxy.port));
                }
            }
            System.out.printf("| %s | %s | %s | %s | %s |%n", c.name(), c.field("class"), c.field("rfc"), ours, theirs);
        }
    }

    private static String request(HostileCorpus.Case c, int port, RawHttp.RecordingBackend backend) {
        CorpusProbe.RequestOutcome outcome = CorpusProbe.sendRequestCase(c, port);
        String answer = CorpusProbe.describe(outcome.response(), false);
        String closed =
                outcome.response().answered() && outcome.closed() && "close".equals(c.field("then")) ? ", closed" : "";
        return answer + closed + "; backend: " + CorpusProbe.backendSaw(backend);
    }

    private static String response(CorpusProbe.Kind kind, int port) {
        RawHttp.Response response = RawHttp.exchange(port, kind.request);
        RawHttp.Response next = RawHttp.exchange(port, "GET /next HTTP/1.1\r\nHost: x\r\n\r\n");
        String poisoned = next.status() == 200 && next.bodyText().equals("ok")
                ? ""
                : " (next request: " + CorpusProbe.describe(next, true)
                        + (next.answered() ? " '" + next.bodyText() + "'" : "") + ")";
        String lengths =
                response.headers().getOrDefault("content-length", List.of()).size() > 1
                        ? " with " + response.headers().get("content-length")
                        : "";
        return CorpusProbe.describe(response, true) + lengths + poisoned;
    }

    private static int port(String url) {
        return Integer.parseInt(url.substring(url.lastIndexOf(':') + 1));
    }

    /** nginx 1 worker in front of one backend, configured as bench/proxy-vs-peers.sh configures it. */
    private static final class Nginx implements AutoCloseable {
        final int port;
        final Process process;
        final Path dir;

        private Nginx(int port, Process process, Path dir) {
            this.port = port;
            this.process = process;
            this.dir = dir;
        }

        static Nginx start(Path binary, int backendPort) throws IOException, InterruptedException {
            int port;
            try (ServerSocket free = new ServerSocket(0)) {
                port = free.getLocalPort();
            }
            Path dir = Files.createTempDirectory("nginx-corpus");
            Files.createDirectories(dir.resolve("logs"));
            Files.writeString(dir.resolve("nginx.conf"), """
                    master_process off;
                    daemon off;
                    pid %1$s/nginx.pid;
                    error_log %1$s/logs/error.log warn;
                    events { worker_connections 256; }
                    http {
                      access_log off;
                      upstream backends {
                        server 127.0.0.1:%2$d;
                        keepalive 16;
                      }
                      server {
                        listen 127.0.0.1:%3$d;
                        location / {
                          proxy_pass http://backends;
                          proxy_http_version 1.1;
                          proxy_set_header Connection "";
                        }
                      }
                    }
                    """.formatted(dir, backendPort, port));
            Process process = new ProcessBuilder(
                            binary.toString(),
                            "-p",
                            dir.toString(),
                            "-c",
                            dir.resolve("nginx.conf").toString(),
                            "-e",
                            dir.resolve("logs/error.log").toString())
                    .redirectErrorStream(true)
                    .redirectOutput(dir.resolve("logs/stdout.log").toFile())
                    .start();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (System.nanoTime() < deadline) {
                try (Socket s = new Socket()) {
                    s.connect(new InetSocketAddress("127.0.0.1", port), 200);
                    return new Nginx(port, process, dir);
                } catch (IOException notYet) {
                    Thread.sleep(20); // polling for the port, with a deadline
                }
            }
            process.destroyForcibly();
            throw new IllegalStateException(
                    "nginx did not listen on " + port + ": " + Files.readString(dir.resolve("logs/error.log")));
        }

        @Override
        public void close() throws Exception {
            process.destroy();
            process.waitFor(5, TimeUnit.SECONDS);
            try (Stream<Path> files = Files.walk(dir)) {
                files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }
}
