package dev.roundhouse.proxy.http;

import io.undertow.client.UndertowClient;
import io.undertow.protocols.ssl.UndertowXnioSsl;
import io.undertow.server.handlers.proxy.ConnectionPoolManager;
import io.undertow.server.handlers.proxy.ProxyConnectionPool;
import org.xnio.OptionMap;
import org.xnio.Options;
import org.xnio.Xnio;

import javax.net.ssl.SSLContext;
import java.net.URI;
import java.security.NoSuchAlgorithmException;
import java.util.function.Function;

/**
 * Creates each backend's pool of keep-alive connections (Undertow's {@link ProxyConnectionPool}).
 * Availability is decided by our health checks and breakers, so the pool's own "problem server"
 * logic is switched off: it always reports the backend available.
 */
public final class BackendConnections implements Function<URI, ProxyConnectionPool> {

    /** Idle connections above this many per I/O thread close after {@link #IDLE_TTL_MILLIS}. */
    private static final int WARM_CONNECTIONS = 4;
    private static final long IDLE_TTL_MILLIS = 60_000;
    /** Requests waiting for a connection per I/O thread before the proxy answers 503. */
    private static final int MAX_QUEUE = 1024;

    private final ConnectionPoolManager manager;
    private final OptionMap options = OptionMap.create(Options.TCP_NODELAY, true);
    private UndertowXnioSsl ssl;

    public BackendConnections(int maxConnectionsPerThread) {
        this.manager = new Manager(maxConnectionsPerThread);
    }

    @Override
    public ProxyConnectionPool apply(URI uri) {
        if ("https".equals(uri.getScheme())) {
            return new ProxyConnectionPool(manager, uri, tls(), UndertowClient.getInstance(), options);
        }
        return new ProxyConnectionPool(manager, uri, UndertowClient.getInstance(), options);
    }

    private synchronized UndertowXnioSsl tls() {
        if (ssl == null) {
            try {
                ssl = new UndertowXnioSsl(Xnio.getInstance(), OptionMap.EMPTY, SSLContext.getDefault());
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException("no default TLS context for https backends", e);
            }
        }
        return ssl;
    }

    private record Manager(int maxConnections) implements ConnectionPoolManager {
        @Override
        public int getProblemServerRetry() {
            return -1;
        }

        @Override
        public boolean isAvailable() {
            return true;
        }

        @Override
        public boolean handleError() {
            return true;
        }

        @Override
        public boolean clearError() {
            return true;
        }

        @Override
        public int getMaxConnections() {
            return maxConnections;
        }

        @Override
        public int getMaxCachedConnections() {
            return maxConnections;
        }

        @Override
        public int getSMaxConnections() {
            return WARM_CONNECTIONS;
        }

        @Override
        public long getTtl() {
            return IDLE_TTL_MILLIS;
        }

        @Override
        public int getMaxQueueSize() {
            return MAX_QUEUE;
        }
    }
}
