package dev.roundhouse.operator.faults;

import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.jdkhttp.JdkHttpClientFactory;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A TCP relay on 127.0.0.1 between one operator and the API server, so that a test can cut that operator off the
 * way a killed pod is cut off: {@link #kill()} resets every connection at once (requests in flight are lost half
 * way, watches end) and refuses new ones. The API server itself, and every other client of it, go on as before.
 */
final class KillSwitch implements AutoCloseable {

    private final ServerSocket listener;
    private final int apiPort;
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();
    private volatile boolean killed;

    KillSwitch(int apiPort) {
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

    /** A client that reaches the API server only through this relay; closed by whoever it is handed to. */
    KubernetesClient client() {
        return new KubernetesClientBuilder()
                .withConfig(new ConfigBuilder(Config.empty())
                        .withMasterUrl("http://127.0.0.1:" + listener.getLocalPort())
                        .withNamespace("default")
                        .withHttp2Disable(true)
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
                pump(downstream, upstream);
                pump(upstream, downstream);
            } catch (IOException e) {
                if (killed) {
                    return;
                }
            }
        }
    }

    private void pump(Socket from, Socket to) {
        Thread t = new Thread(
                () -> {
                    byte[] buffer = new byte[16384];
                    try (InputStream in = from.getInputStream();
                            OutputStream out = to.getOutputStream()) {
                        for (int n; (n = in.read(buffer)) != -1; ) {
                            out.write(buffer, 0, n);
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

    /** Resets every relayed connection and refuses new ones, for good. */
    void kill() {
        killed = true;
        closeQuietly(listener);
        for (Socket socket : sockets) {
            try {
                socket.setSoLinger(true, 0);
            } catch (IOException ignored) {
                // already closed
            }
            closeQuietly(socket);
        }
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
