package dev.roundhouse.operator.faults;

import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.jdkhttp.JdkHttpClientFactory;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.UnaryOperator;

/**
 * A TCP relay on 127.0.0.1 between one operator and the API server, so that a test can cut that operator off the
 * way a killed pod is cut off: {@link #kill()} resets every connection at once (requests in flight are lost half
 * way, watches end) and refuses new ones. The API server itself, and every other client of it, go on as before.
 * Lesser faults: {@link #resetConnections()} alone, and {@link #garbleWatches()}.
 */
public final class KillSwitch implements AutoCloseable {

    private final ServerSocket listener;
    private final int apiPort;
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();
    private volatile boolean killed;
    private volatile boolean garbleWatches;

    public KillSwitch(int apiPort) {
        this.apiPort = apiPort;
        try {
            listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Thread acceptor = new Thread(this::accept, "kill-switch-" + listener.getLocalPort());
        acceptor.setDaemon(true);
        acceptor.start();
    }

    /** Where clients reach the API server through this relay, on 127.0.0.1. */
    public int port() {
        return listener.getLocalPort();
    }

    /** A client that reaches the API server only through this relay; closed by whoever it is handed to. */
    KubernetesClient client() {
        return client(config -> config);
    }

    /** The same, with more client settings (its watches' reconnect limit, say). */
    KubernetesClient client(UnaryOperator<ConfigBuilder> settings) {
        return new KubernetesClientBuilder()
                .withConfig(settings.apply(new ConfigBuilder(Config.empty())
                                .withMasterUrl("http://127.0.0.1:" + port())
                                .withNamespace("default")
                                .withHttp2Disable(true))
                        .build())
                .withHttpClientFactory(new JdkHttpClientFactory())
                .build();
    }

    private void accept() {
        while (!killed) {
            try {
                Socket downstream = listener.accept();
                Socket upstream = new Socket();
                upstream.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), apiPort), 5000);
                downstream.setTcpNoDelay(true);
                upstream.setTcpNoDelay(true);
                sockets.add(downstream);
                sockets.add(upstream);
                if (killed) {
                    kill();
                    return;
                }
                pump(downstream, upstream, false);
                pump(upstream, downstream, true);
            } catch (IOException e) {
                if (killed) {
                    return;
                }
            }
        }
    }

    private void pump(Socket from, Socket to, boolean fromServer) {
        boolean garble = fromServer && garbleWatches;
        Thread t = new Thread(
                () -> {
                    byte[] buffer = new byte[16384];
                    try (InputStream in = from.getInputStream();
                            OutputStream out = to.getOutputStream()) {
                        boolean first = true;
                        for (int n; (n = in.read(buffer)) != -1; first = false) {
                            if (first && garble) {
                                out.write(garbled(buffer, n));
                            } else {
                                out.write(buffer, 0, n);
                            }
                            out.flush();
                        }
                        to.shutdownOutput();
                    } catch (IOException e) {
                        // killed, or one side went away: the other side goes too
                        closeQuietly(to);
                    }
                },
                "kill-switch-pump");
        t.setDaemon(true);
        t.start();
    }

    /**
     * From now on, a watch relayed anew (a websocket the server accepts) first gets a message that is no watch event,
     * as from a server or a proxy on the way that speaks the protocol wrongly: an error the client does not retry.
     */
    public void garbleWatches() {
        garbleWatches = true;
    }

    /** The server's first bytes on a connection, with a text frame that is no watch event after a 101 answer. */
    private static byte[] garbled(byte[] chunk, int length) {
        String head = new String(chunk, 0, length, StandardCharsets.ISO_8859_1);
        int end = head.indexOf("\r\n\r\n");
        if (!head.startsWith("HTTP/1.1 101") || end < 0) {
            return Arrays.copyOf(chunk, length);
        }
        byte[] text = "this is not a watch event".getBytes(StandardCharsets.US_ASCII);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(chunk, 0, end + 4);
        out.write(0x81); // a whole text frame, unmasked as a server's are
        out.write(text.length);
        out.writeBytes(text);
        out.write(chunk, end + 4, length - end - 4);
        return out.toByteArray();
    }

    /** Resets every relayed connection and refuses new ones, for good. */
    void kill() {
        killed = true;
        closeQuietly(listener);
        resetConnections();
    }

    /** Resets every relayed connection at once, and relays new ones as before: a blip in the network. */
    public void resetConnections() {
        for (Socket socket : sockets) {
            try {
                socket.setSoLinger(true, 0);
            } catch (IOException ignored) {
                // already closed
            }
            closeQuietly(socket);
        }
        sockets.removeIf(Socket::isClosed);
    }

    private static void closeQuietly(java.io.Closeable closeable) {
        try {
            closeable.close();
        } catch (IOException ignored) {
            // closing
        }
    }

    @Override
    public void close() {
        kill();
    }
}
