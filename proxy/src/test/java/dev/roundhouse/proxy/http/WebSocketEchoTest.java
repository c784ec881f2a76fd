package dev.roundhouse.proxy.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.roundhouse.proxy.RoundhouseProxy;
import dev.roundhouse.proxy.testing.Closeables;
import dev.roundhouse.proxy.testing.ProxyFixture;
import dev.roundhouse.proxy.testing.TestTls;
import io.undertow.Handlers;
import io.undertow.Undertow;
import io.undertow.websockets.core.AbstractReceiveListener;
import io.undertow.websockets.core.BufferedBinaryMessage;
import io.undertow.websockets.core.BufferedTextMessage;
import io.undertow.websockets.core.CloseMessage;
import io.undertow.websockets.core.WebSocketChannel;
import io.undertow.websockets.core.WebSockets;
import java.io.ByteArrayOutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Random;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A real WebSocket conversation through the proxy, end to end: the JDK's WebSocket client, the proxy, and
 * Undertow's WebSocket server echoing, behind a plain and a TLS backend. Text, a large binary message, ping and
 * pong, and the closing handshake all pass the tunnel unchanged.
 */
class WebSocketEchoTest {

    private static final Duration WAIT = Duration.ofSeconds(10);

    @RegisterExtension
    final Closeables closeables = new Closeables();

    @TempDir
    Path dir;

    @ParameterizedTest(name = "{0} backend")
    @ValueSource(strings = {"http", "https"})
    void messagesPingsAndTheCloseHandshakeCrossTheProxy(String scheme) throws Exception {
        boolean tls = scheme.equals("https");
        Undertow echo = echoServer(tls);
        int port = ((InetSocketAddress) echo.getListenerInfo().get(0).getAddress()).getPort();
        RoundhouseProxy proxy = closeables.add(ProxyFixture.start(ProxyFixture.env(
                "BACKENDS",
                scheme + "://127.0.0.1:" + port,
                "HEALTH_CHECK_PATH",
                "/health",
                "BACKEND_CA_FILE",
                TestTls.loopback().pemFile(dir).toString())));

        Recorder events = new Recorder();
        WebSocket socket = HttpClient.newHttpClient()
                .newWebSocketBuilder()
                .connectTimeout(WAIT)
                .buildAsync(URI.create("ws://127.0.0.1:" + proxy.port() + "/echo"), events)
                .get(WAIT.toSeconds(), TimeUnit.SECONDS);

        for (String text : new String[] {"hello", "", "ünïcödé ✓"}) {
            socket.sendText(text, true).get(WAIT.toSeconds(), TimeUnit.SECONDS);
            assertThat(events.next()).isEqualTo("text:" + text);
        }
        byte[] large = new byte[300_000]; // spans many reads and writes on both legs
        new Random(7).nextBytes(large);
        socket.sendBinary(ByteBuffer.wrap(large), true).get(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertThat(events.next()).isEqualTo("binary:" + java.util.Arrays.hashCode(large) + "/" + large.length);

        socket.sendPing(ByteBuffer.wrap(new byte[] {1, 2, 3})).get(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertThat(events.next()).isEqualTo("pong:3");

        socket.sendClose(4000, "done here").get(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertThat(events.next()).isEqualTo("close:4000 done here");
    }

    /** Echoes text and binary messages, answers pings (Undertow does that itself) and echoes the close code. */
    private Undertow echoServer(boolean tls) {
        Undertow.Builder builder = Undertow.builder().setIoThreads(1);
        if (tls) {
            builder.addHttpsListener(0, "127.0.0.1", TestTls.loopback().serverContext());
        } else {
            builder.addHttpListener(0, "127.0.0.1");
        }
        Undertow server = builder.setHandler(Handlers.path()
                        .addExactPath(
                                "/health",
                                exchange -> exchange.getResponseSender().send("ok"))
                        .addExactPath("/echo", Handlers.websocket((exchange, channel) -> {
                            channel.getReceiveSetter().set(new AbstractReceiveListener() {
                                @Override
                                protected void onFullTextMessage(WebSocketChannel ch, BufferedTextMessage message) {
                                    WebSockets.sendText(message.getData(), ch, null);
                                }

                                @Override
                                protected void onFullBinaryMessage(WebSocketChannel ch, BufferedBinaryMessage message) {
                                    try (var data = message.getData()) {
                                        WebSockets.sendBinary(data.getResource(), ch, null);
                                    }
                                }

                                @Override
                                protected void onCloseMessage(CloseMessage message, WebSocketChannel ch) {
                                    WebSockets.sendClose(message.getCode(), message.getReason(), ch, null);
                                }
                            });
                            channel.resumeReceives();
                        })))
                .build();
        server.start();
        closeables.add((AutoCloseable) server::stop);
        return server;
    }

    /** What the client receives, in order, as short strings; waits a bounded time for each. */
    private static final class Recorder implements WebSocket.Listener {
        private final BlockingQueue<String> received = new LinkedBlockingQueue<>();
        private final StringBuilder text = new StringBuilder();
        private final ByteArrayOutputStream binary = new ByteArrayOutputStream();

        String next() throws InterruptedException {
            String event = received.poll(WAIT.toMillis(), TimeUnit.MILLISECONDS);
            assertThat(event).as("an event within %s", WAIT).isNotNull();
            return event;
        }

        @Override
        public CompletionStage<?> onText(WebSocket socket, CharSequence data, boolean last) {
            text.append(data);
            if (last) {
                received.add("text:" + text);
                text.setLength(0);
            }
            socket.request(1);
            return null;
        }

        @Override
        public CompletionStage<?> onBinary(WebSocket socket, ByteBuffer data, boolean last) {
            byte[] chunk = new byte[data.remaining()];
            data.get(chunk);
            binary.writeBytes(chunk);
            if (last) {
                byte[] all = binary.toByteArray();
                received.add("binary:" + java.util.Arrays.hashCode(all) + "/" + all.length);
                binary.reset();
            }
            socket.request(1);
            return null;
        }

        @Override
        public CompletionStage<?> onPong(WebSocket socket, ByteBuffer message) {
            received.add("pong:" + message.remaining());
            socket.request(1);
            return null;
        }

        @Override
        public CompletionStage<?> onClose(WebSocket socket, int statusCode, String reason) {
            received.add("close:" + statusCode + " " + reason);
            return CompletableFuture.completedFuture(null);
        }

        @Override
        public void onError(WebSocket socket, Throwable error) {
            received.add("error:" + error);
        }
    }
}
