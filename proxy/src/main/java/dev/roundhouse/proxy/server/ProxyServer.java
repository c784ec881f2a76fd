package dev.roundhouse.proxy.server;

import dev.roundhouse.proxy.codec.HttpLimits;
import dev.roundhouse.proxy.config.ProxySettings;
import io.undertow.UndertowOptions;
import io.undertow.connector.ByteBufferPool;
import io.undertow.connector.PooledByteBuffer;
import io.undertow.protocols.ssl.UndertowXnioSsl;
import io.undertow.server.ConnectorStatistics;
import io.undertow.server.DelegateOpenListener;
import io.undertow.server.HttpHandler;
import io.undertow.server.OpenListener;
import io.undertow.server.protocol.http.AlpnOpenListener;
import io.undertow.server.protocol.http.HttpOpenListener;
import io.undertow.server.protocol.http2.Http2OpenListener;
import io.undertow.server.protocol.http2.Http2UpgradeHandler;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import javax.net.ssl.SSLContext;
import org.xnio.ChannelListeners;
import org.xnio.IoUtils;
import org.xnio.OptionMap;
import org.xnio.Options;
import org.xnio.SslClientAuthMode;
import org.xnio.StreamConnection;
import org.xnio.Xnio;
import org.xnio.XnioExecutor;
import org.xnio.XnioIoThread;
import org.xnio.XnioWorker;
import org.xnio.channels.AcceptingChannel;

/**
 * The client-facing HTTP server: drain accounting, then the handler it is given (the guard in front of the
 * forwarding, in the proxy). Assembled
 * from Undertow's parts rather than its {@code Undertow} builder so that shutdown can close the
 * listening socket alone: the builder's suspend also closes connections with requests in flight.
 */
public final class ProxyServer implements AutoCloseable {

    /** I/O buffer size: Undertow's default for large heaps, 16 KiB less room for protocol headers. */
    static final int BUFFER_BYTES = 16 * 1024 - 20;
    /** Free buffers kept in the shared queue (16 MiB), besides each thread's few. */
    static final int POOLED_BUFFERS = 1024;

    private final String host;
    private final int requestedPort;
    private final DrainHandler drain;
    private final Runnable beforeShutdown;
    private final HttpOpenListener openListener;
    private final Http2OpenListener http2Listener;
    private final ThreadCachedBufferPool buffers;
    private final long headerTimeoutMillis;
    /** How long a TLS client may take to finish its handshake: the keep-alive timeout, as for any idle client. */
    private final long handshakeTimeoutMillis;
    /** TLS connections still in their handshake, each with the timer that closes it when it takes too long. */
    private final Map<StreamConnection, XnioExecutor.Key> handshaking = new ConcurrentHashMap<>();

    private XnioWorker worker;
    private AcceptingChannel<StreamConnection> channel;
    private int port;
    private Https https;
    private AcceptingChannel<? extends StreamConnection> httpsChannel;
    private int httpsPort;

    /**
     * HTTPS beside plain HTTP, on the same handler: {@code context} serves the certificates (its key manager may
     * change them for later handshakes), with only {@code protocols} and {@code cipherSuites}.
     */
    public record Https(
            SSLContext context,
            int port,
            List<String> protocols,
            List<String> cipherSuites,
            boolean clientCertificates,
            boolean nativeEngine) {}

    /**
     * This server around {@code handler} alone, nothing to stop before shutdown: what the benchmark's "server floor"
     * measures, Undertow's share of a request with nothing forwarded.
     */
    public ProxyServer(ProxySettings settings, HttpHandler handler) {
        this(settings, handler, () -> {});
    }

    /**
     * With the connection settings of {@code settings} (address, port, header and keep-alive timeouts), serving
     * every request whose head and body framing pass through {@code handler}.
     *
     * @param beforeShutdown runs as the server closes, before its I/O threads stop: the handler's own tasks on
     *     them end there
     */
    public ProxyServer(ProxySettings settings, HttpHandler handler, Runnable beforeShutdown) {
        this.host = settings.bindAddress();
        this.requestedPort = settings.port();
        this.beforeShutdown = beforeShutdown;
        drain = new DrainHandler(handler);
        OptionMap serverOptions = OptionMap.builder()
                .set(UndertowOptions.MAX_HEADER_SIZE, HttpLimits.MAX_HEADER_BYTES)
                .set(UndertowOptions.MAX_HEADERS, HttpLimits.MAX_HEADERS)
                // idle with no request in progress: before the first request and between keep-alive requests
                .set(UndertowOptions.NO_REQUEST_TIMEOUT, millis(settings.keepAliveTimeout()))
                // Undertow's own limit stays off (2.4 would otherwise cut bodies at 2 MiB): with the proxy
                // handler it would act only once the request is on its way to the backend, and then by
                // closing the connection (chunked) or failing the transfer (Content-Length), never with a
                // 413. RequestGuard enforces MAX_REQUEST_BODY instead.
                .set(UndertowOptions.MAX_ENTITY_SIZE, 0L)
                .set(UndertowOptions.DECODE_URL, false) // forward the path exactly as received
                .set(UndertowOptions.ALLOW_UNESCAPED_CHARACTERS_IN_URL, false)
                .set(UndertowOptions.ALWAYS_SET_DATE, true)
                // HTTP/2: over TLS when the client offers h2 (ALPN), and in clear text with prior knowledge or
                // Upgrade: h2c; every stream is a request of its own through the same handler.
                .set(UndertowOptions.ENABLE_HTTP2, true)
                .set(UndertowOptions.HTTP2_SETTINGS_ENABLE_PUSH, false)
                .set(UndertowOptions.HTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, HttpLimits.MAX_CONCURRENT_STREAMS)
                .set(UndertowOptions.HTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, HttpLimits.MAX_HTTP2_HEADER_LIST_BYTES)
                .set(UndertowOptions.MAX_RST_FRAMES_PER_WINDOW, HttpLimits.MAX_RESETS_PER_WINDOW)
                .set(UndertowOptions.RST_FRAMES_TIME_WINDOW, HttpLimits.RESET_WINDOW_MILLIS)
                .getMap();
        buffers = new ThreadCachedBufferPool(true, BUFFER_BYTES, POOLED_BUFFERS);
        openListener = new HttpOpenListener(buffers, serverOptions);
        // A request asking to switch to h2c is answered 101 here and then served as the connection's first stream.
        openListener.setRootHandler(new Http2UpgradeHandler(drain));
        http2Listener = new Http2OpenListener(buffers, serverOptions);
        http2Listener.setRootHandler(drain);
        // From the first byte of a request to the end of its headers; slow-header clients are closed. The gate
        // holds a head until it is whole, so it keeps this time itself (Undertow's parse timer never sees one).
        headerTimeoutMillis = millis(settings.requestHeaderTimeout());
        handshakeTimeoutMillis = millis(settings.keepAliveTimeout());
    }

    private static int millis(Duration d) {
        return (int) Math.max(1, Math.min(Integer.MAX_VALUE, d.toMillis()));
    }

    /** Serves HTTPS too, from {@link #start}. */
    public void listenHttps(Https https) {
        this.https = https;
    }

    public void start() {
        try {
            int ioThreads = Math.max(1, Runtime.getRuntime().availableProcessors());
            worker = Xnio.getInstance()
                    .createWorker(OptionMap.builder()
                            .set(Options.WORKER_IO_THREADS, ioThreads)
                            // nothing blocks on the proxy path; task threads are only a fallback
                            .set(Options.WORKER_TASK_CORE_THREADS, 2)
                            .set(Options.WORKER_TASK_MAX_THREADS, 4)
                            .set(Options.TCP_NODELAY, true)
                            .getMap());
            channel = worker.createStreamConnectionServer(
                    new InetSocketAddress(host, requestedPort),
                    ChannelListeners.openListenerAdapter(this::accepted),
                    listening().getMap());
            channel.resumeAccepts();
            port = ((InetSocketAddress) channel.getLocalAddress()).getPort();
            if (https != null) {
                startHttps();
            }
        } catch (IOException e) {
            close();
            throw new UncheckedIOException(
                    "PORT " + requestedPort + ": cannot listen on " + host + ":" + requestedPort + " (" + e.getMessage()
                            + ")",
                    e);
        }
    }

    /** Options of both listening sockets. */
    private static OptionMap.Builder listening() {
        return OptionMap.builder()
                .set(Options.TCP_NODELAY, true)
                .set(Options.REUSE_ADDRESSES, true)
                .set(Options.BACKLOG, 1024);
    }

    /**
     * A new connection, plain or (on its decrypted bytes) TLS: the gate goes under Undertow's parser before the parser
     * takes the connection, so the parser reads only checked heads.
     */
    private void accepted(StreamConnection connection) {
        RequestHeadGate.install(connection, headerTimeoutMillis);
        openListener.handleEvent(connection);
    }

    /**
     * HTTP/1.1 chosen in a TLS handshake (or no protocol offered): the gate goes in as for a plain connection, with
     * the bytes the negotiation read already.
     */
    private void acceptedHttp11(StreamConnection connection, PooledByteBuffer early) {
        handshakeDone(connection);
        try {
            RequestHeadGate.install(connection, headerTimeoutMillis, early == null ? null : early.getBuffer());
        } finally {
            IoUtils.safeClose(early);
        }
        openListener.handleEvent(connection);
    }

    /** h2 chosen in a TLS handshake: Undertow's HTTP/2 listener over the frame gate. */
    private void acceptedHttp2(StreamConnection connection, PooledByteBuffer early) {
        handshakeDone(connection);
        try {
            Http2FrameGate.install(connection, early == null ? null : early.getBuffer());
        } finally {
            IoUtils.safeClose(early);
        }
        http2Listener.handleEvent(connection, null);
    }

    private void startHttps() throws IOException {
        OptionMap.Builder options = listening()
                .setSequence(Options.SSL_ENABLED_PROTOCOLS, https.protocols().toArray(String[]::new))
                .setSequence(
                        Options.SSL_ENABLED_CIPHER_SUITES, https.cipherSuites().toArray(String[]::new));
        if (https.nativeEngine()) {
            // The listener would switch session creation on, which BoringSSL's engine refuses to be told: it always
            // creates sessions, so saying nothing is the same.
            options.set(Options.SSL_ENABLE_SESSION_CREATION, false);
        }
        if (https.clientCertificates()) {
            options.set(Options.SSL_CLIENT_AUTH_MODE, SslClientAuthMode.REQUIRED);
        }
        UndertowXnioSsl ssl = new UndertowXnioSsl(worker.getXnio(), OptionMap.EMPTY, https.context());
        // ALPN: h2 when the client offers it, else HTTP/1.1 with the gate under the parser.
        AlpnOpenListener alpn = new AlpnOpenListener(
                buffers,
                openListener.getUndertowOptions(),
                "http/1.1",
                new AlpnProtocol(openListener, this::acceptedHttp11));
        alpn.addProtocol(Http2OpenListener.HTTP2, new AlpnProtocol(http2Listener, this::acceptedHttp2), 10);
        try {
            httpsChannel = ssl.createSslConnectionServer(
                    worker,
                    new InetSocketAddress(host, https.port()),
                    ChannelListeners.openListenerAdapter(connection -> {
                        // Until the handshake is done no HTTP listener times the client out: this does.
                        handshaking.put(
                                connection,
                                connection
                                        .getIoThread()
                                        .executeAfter(
                                                () -> {
                                                    if (handshaking.remove(connection) != null) {
                                                        IoUtils.safeClose(connection);
                                                    }
                                                },
                                                handshakeTimeoutMillis,
                                                TimeUnit.MILLISECONDS));
                        alpn.handleEvent(connection);
                    }),
                    options.getMap());
        } catch (IOException e) {
            throw new IOException("TLS_PORT " + https.port() + ": " + e.getMessage(), e);
        }
        httpsChannel.resumeAccepts();
        httpsPort = ((InetSocketAddress) httpsChannel.getLocalAddress()).getPort();
    }

    /** The bound HTTPS port; 0 without HTTPS. */
    public int httpsPort() {
        return httpsPort;
    }

    /** The threads that serve every connection; after {@link #start}. */
    /** The buffers the server's connections use; HTTP/2 backend connections share them. */
    public ByteBufferPool bufferPool() {
        return buffers;
    }

    public List<XnioIoThread> ioThreads() {
        List<XnioIoThread> threads = new ArrayList<>();
        for (int i = 0; i < worker.getIoThreadCount(); i++) {
            threads.add(worker.getIoThread(i));
        }
        return threads;
    }

    /** The bound port (useful when started on port 0). */
    public int port() {
        return port;
    }

    public int inFlight() {
        return drain.inFlight();
    }

    /**
     * From now on every response says Connection: close; new connections are still accepted for {@code delay}
     * (they keep arriving until the endpoint has left every kube-proxy and load balancer), then the listening socket
     * closes ({@code stoppedAccepting} runs) and requests in flight get up to {@code timeout} to finish.
     *
     * @return true when every request finished in time
     */
    public boolean drain(Duration delay, Duration timeout, Runnable stoppedAccepting) throws InterruptedException {
        drain.startDraining();
        if (!delay.isZero()) {
            Thread.sleep(delay.toMillis()); // a deadline of the shutdown itself, not a synchronisation
        }
        closeListeners();
        stoppedAccepting.run();
        return drain.awaitDrained(timeout);
    }

    private void closeListeners() {
        for (AcceptingChannel<?> listening : new AcceptingChannel<?>[] {channel, httpsChannel}) {
            if (listening != null) {
                try {
                    listening.close();
                } catch (IOException ignored) {
                    // closing a listening socket cannot fail in a way we could act on
                }
            }
        }
    }

    /** A TLS connection finished its handshake: its timer goes. */
    private void handshakeDone(StreamConnection connection) {
        XnioExecutor.Key deadline = handshaking.remove(connection);
        if (deadline != null) {
            deadline.remove();
        }
    }

    /**
     * One protocol ALPN may choose: Undertow's listener for it, reached through {@code accept} with the bytes the
     * negotiation read already. The listeners' roots are set once, by the server: ALPN's own root is not its handler.
     */
    private record AlpnProtocol(OpenListener listener, BiConsumer<StreamConnection, PooledByteBuffer> accept)
            implements DelegateOpenListener {
        @Override
        public void handleEvent(StreamConnection connection, PooledByteBuffer early) {
            accept.accept(connection, early);
        }

        @Override
        public void handleEvent(StreamConnection connection) {
            accept.accept(connection, null);
        }

        @Override
        public HttpHandler getRootHandler() {
            return listener.getRootHandler();
        }

        @Override
        public void setRootHandler(HttpHandler handler) {
            // set once, by the server
        }

        @Override
        public OptionMap getUndertowOptions() {
            return listener.getUndertowOptions();
        }

        @Override
        public void setUndertowOptions(OptionMap options) {
            listener.setUndertowOptions(options);
        }

        @Override
        public ByteBufferPool getBufferPool() {
            return listener.getBufferPool();
        }

        @Override
        public ConnectorStatistics getConnectorStatistics() {
            return listener.getConnectorStatistics();
        }
    }

    @Override
    public void close() {
        closeListeners();
        openListener.closeConnections();
        http2Listener.closeConnections();
        beforeShutdown.run();
        if (worker != null) {
            worker.shutdownNow();
            try {
                worker.awaitTermination(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
