package dev.roundhouse.proxy.testing;

import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.server.mock.KubernetesMixedDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import io.fabric8.mockwebserver.ServerRequest;
import io.fabric8.mockwebserver.ServerResponse;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Queue;
import java.util.logging.Level;
import org.awaitility.core.ConditionTimeoutException;

/**
 * A Kubernetes API server for the proxy's tests: the Fabric8 mock server in CRUD mode over plain HTTP on 127.0.0.1,
 * objects in memory (watches over WebSocket work; every start begins empty, its resourceVersions numbered from 1).
 * It can be stopped and a new one started on the same port, as after an API server outage that lost its storage.
 * (The operator's tests use the fuller {@code EmbeddedApiServer} of {@code test-apiserver}; the proxy needs no more
 * than ConfigMaps and watches.)
 */
public final class CrudApiServer implements AutoCloseable {

    /** The mock web server logs every request at INFO through java.util.logging; held so the level sticks. */
    private static final java.util.logging.Logger REQUEST_LOG =
            java.util.logging.Logger.getLogger("io.fabric8.mockwebserver.MockWebServer");

    static {
        REQUEST_LOG.setLevel(Level.WARNING);
    }

    private final KubernetesMockServer server;
    private final KubernetesClient client;
    private boolean stopped;

    private CrudApiServer(int port) throws IOException {
        Map<ServerRequest, Queue<ServerResponse>> responses = new HashMap<>();
        server = new KubernetesMockServer(
                new Context(), new MockWebServer(), responses, new KubernetesMixedDispatcher(responses), false);
        server.init(InetAddress.getByName("127.0.0.1"), port);
        client = client(server.getPort());
    }

    /** Starts on {@code port} of 127.0.0.1 (0: an ephemeral one). */
    public static CrudApiServer start(int port) {
        try {
            return new CrudApiServer(port);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start a mock API server on port " + port, e);
        }
    }

    public int port() {
        return server.getPort();
    }

    /** A client of the test's own, to write objects with; closed with the server. */
    public KubernetesClient client() {
        return client;
    }

    /**
     * A new client for this port with Fabric8's defaults (no kubeconfig read), as the proxy would build one; the
     * caller (or the proxy it is handed to) closes it.
     */
    public static KubernetesClient client(int port) {
        return new KubernetesClientBuilder()
                .withConfig(new ConfigBuilder(Config.empty())
                        .withMasterUrl("http://127.0.0.1:" + port + "/")
                        .withNamespace("default")
                        .withHttp2Disable(true)
                        .build())
                .build();
    }

    /** Stops serving: connections to the port are refused from now on, and watches end. */
    public synchronized void stop() {
        if (!stopped) {
            stopped = true;
            client.close();
            server.destroy();
        }
    }

    /**
     * Binds a loopback port without listening: connections to it are refused, as to a stopped API server, and
     * nothing else (a proxy port, an outgoing connection) can take it until the socket is closed.
     */
    public static Socket holdPort(int port) {
        // The stopped server's sockets may take a moment to close after stop() returns: poll for the port.
        Socket[] held = new Socket[1];
        IOException[] last = new IOException[1];
        try {
            await().atMost(Duration.ofSeconds(5))
                    .pollInterval(Duration.ofMillis(20))
                    .until(() -> {
                        Socket socket = new Socket();
                        try {
                            socket.setReuseAddress(true);
                            socket.bind(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), port));
                            held[0] = socket;
                            return true;
                        } catch (IOException e) {
                            last[0] = e;
                            socket.close();
                            return false;
                        }
                    });
        } catch (ConditionTimeoutException e) {
            throw new UncheckedIOException("cannot hold port " + port, last[0]);
        }
        return held[0];
    }

    @Override
    public void close() {
        stop();
    }
}
