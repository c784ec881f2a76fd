package dev.roundhouse.proxy.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.roundhouse.proxy.RoundhouseProxy;
import dev.roundhouse.proxy.testing.Closeables;
import dev.roundhouse.proxy.testing.ProxyFixture;
import dev.roundhouse.proxy.testing.ScriptedBackend;
import dev.roundhouse.testing.RawHttp;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A protocol switch (a WebSocket handshake, say): the backend's 101 goes to the client with its Upgrade, then bytes
 * flow both ways untouched, including what the backend sent right after its 101, until each side ends.
 */
class UpgradeTunnelTest {

    @RegisterExtension
    final Closeables closeables = new Closeables();

    /** Answers the handshake with 101 and a greeting, then echoes each byte upper-cased until the client ends. */
    private static final class EchoAfterUpgrade implements AutoCloseable {
        final ServerSocket server = new ServerSocket(0, 10, InetAddress.getLoopbackAddress());
        final List<String> heads = new CopyOnWriteArrayList<>();

        EchoAfterUpgrade() throws IOException {
            Thread t = new Thread(this::serve, "upgrade-backend");
            t.setDaemon(true);
            t.start();
        }

        String url() {
            return "http://127.0.0.1:" + server.getLocalPort();
        }

        private void serve() {
            while (!server.isClosed()) {
                try (Socket s = server.accept()) {
                    InputStream in = s.getInputStream();
                    OutputStream out = s.getOutputStream();
                    String head = readHead(in);
                    if (head == null) {
                        continue;
                    }
                    if (head.startsWith("GET /health")) {
                        out.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
                                .getBytes(StandardCharsets.US_ASCII));
                        continue;
                    }
                    heads.add(head);
                    out.write(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n"
                                    + "Sec-Test: accepted\r\n\r\ngreeting;")
                            .getBytes(StandardCharsets.US_ASCII));
                    out.flush();
                    for (int b; (b = in.read()) != -1; ) {
                        out.write(Character.toUpperCase(b));
                        out.flush();
                    }
                    out.write("bye".getBytes(StandardCharsets.US_ASCII));
                } catch (IOException e) {
                    // the proxy went away
                }
            }
        }

        @Override
        public void close() throws IOException {
            server.close();
        }
    }

    @Test
    void bytesFlowBothWaysAfterThe101UntilEachSideEnds() throws Exception {
        EchoAfterUpgrade backend = closeables.add(new EchoAfterUpgrade());
        RoundhouseProxy proxy = closeables.add(ProxyFixture.start(ProxyFixture.env(
                "BACKENDS", backend.url(), "HEALTH_CHECK_PATH", "/health", "REQUEST_TIMEOUT", "300ms")));

        try (Socket client = new Socket()) {
            client.connect(new InetSocketAddress("127.0.0.1", proxy.port()), 5000);
            client.setSoTimeout(5000);
            OutputStream out = client.getOutputStream();
            InputStream in = client.getInputStream();
            out.write("GET /chat HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, Upgrade\r\nUpgrade: echo\r\n\r\n"
                    .getBytes(StandardCharsets.US_ASCII));

            String head = readHead(in);
            assertThat(head).startsWith("HTTP/1.1 101 ");
            assertThat(head.toLowerCase(Locale.ROOT))
                    .contains("upgrade: echo")
                    .contains("connection: upgrade")
                    .contains("sec-test: accepted");
            assertThat(new String(in.readNBytes("greeting;".length()), StandardCharsets.US_ASCII))
                    .as("what the backend sent with its 101")
                    .isEqualTo("greeting;");

            // Longer than the request timeout: a tunnel has none.
            for (String word : List.of("hello", "tunnel")) {
                out.write(word.getBytes(StandardCharsets.US_ASCII));
                assertThat(new String(in.readNBytes(word.length()), StandardCharsets.US_ASCII))
                        .isEqualTo(word.toUpperCase(Locale.ROOT));
            }
            Thread.sleep(600); // past REQUEST_TIMEOUT, on purpose: the tunnel must outlive it
            out.write("!".getBytes(StandardCharsets.US_ASCII));
            assertThat(in.read()).isEqualTo('!');

            client.shutdownOutput(); // the client ends its sending; the backend then says bye and closes
            ByteArrayOutputStream rest = new ByteArrayOutputStream();
            in.transferTo(rest);
            assertThat(rest.toString(StandardCharsets.US_ASCII)).isEqualTo("bye");
        }
        assertThat(backend.heads)
                .singleElement()
                .satisfies(h -> assertThat(h.toLowerCase(Locale.ROOT))
                        .contains("upgrade: echo")
                        .contains("connection: upgrade"));
    }

    @Test
    void anUpgradeTheBackendDeclinesIsAnsweredAndTheConnectionEnds() throws Exception {
        ScriptedBackend backend = closeables.add(ScriptedBackend.start(
                (request, connection) -> connection.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nno")));
        RoundhouseProxy proxy = closeables.add(
                ProxyFixture.start(ProxyFixture.env("BACKENDS", backend.url(), "HEALTH_CHECK_PATH", "/health")));

        try (Socket client = new Socket()) {
            client.connect(new InetSocketAddress("127.0.0.1", proxy.port()), 5000);
            client.setSoTimeout(5000);
            client.getOutputStream()
                    .write("GET /chat HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n"
                            .getBytes(StandardCharsets.US_ASCII));
            ByteArrayOutputStream all = new ByteArrayOutputStream();
            client.getInputStream().transferTo(all); // ends when the proxy closes

            assertThat(all.toString(StandardCharsets.US_ASCII))
                    .startsWith("HTTP/1.1 200 OK\r\n")
                    .endsWith("no");
        }
    }

    private static String readHead(InputStream in) throws IOException {
        return RawHttp.readHead(in, 64 * 1024);
    }
}
