package dev.roundhouse.proxy.tls;

import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.OpenSslContextOption;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import java.security.KeyManagementException;
import java.security.Provider;
import java.security.SecureRandom;
import java.util.List;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLContextSpi;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLServerSocketFactory;
import javax.net.ssl.SSLSessionContext;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;

/**
 * {@code TLS_ENGINE=openssl}: BoringSSL (netty-tcnative) does the TLS, behind the JDK's {@link SSLEngine} interface,
 * so the same listener, the same key manager (certificates by SNI, reloads) and the same options serve with it.
 * What it changes is the cost of the handshake and of each record.
 */
final class OpenSslEngines {

    private OpenSslEngines() {}

    /** Whether the native library loads on this machine (linux-x86_64 is bundled). */
    static boolean available() {
        return OpenSsl.isAvailable();
    }

    /** Why it does not load, for the error that says so. */
    static String unavailableBecause() {
        Throwable cause = OpenSsl.unavailabilityCause();
        return cause == null ? "unknown" : cause.toString();
    }

    static SSLContext context(
            SniKeyManager keys, TrustManagerFactory clientTrust, List<String> protocols, List<String> suites)
            throws SSLException {
        SslContextBuilder builder = SslContextBuilder.forServer(keys)
                .sslProvider(SslProvider.OPENSSL)
                .protocols(protocols)
                .ciphers(suites)
                // The certificate callback runs inside the handshake step, not as a task handed to the listener's
                // worker threads: no thread hop per handshake.
                .option(OpenSslContextOption.USE_TASKS, false)
                // ALPN is BoringSSL's to do, set here: the listener's JDK-style request on each engine is not
                // heard by it, but it reads the outcome the JDK way (getApplicationProtocol).
                .applicationProtocolConfig(new ApplicationProtocolConfig(
                        ApplicationProtocolConfig.Protocol.ALPN,
                        ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
                        ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT,
                        TlsTermination.APPLICATION_PROTOCOLS));
        if (clientTrust != null) {
            builder.trustManager(clientTrust).clientAuth(ClientAuth.REQUIRE);
        }
        SslContext netty = builder.build();
        return new Wrapped(new Spi(netty));
    }

    /** The JDK's SSLContext face for Netty's: engines only, which is all the listener asks of it. */
    private static final class Wrapped extends SSLContext {
        Wrapped(SSLContextSpi spi) {
            super(spi, new Provider("roundhouse-openssl", "1", "BoringSSL engines behind SSLContext") {}, "TLS");
        }
    }

    private static final class Spi extends SSLContextSpi {
        private final SslContext netty;

        Spi(SslContext netty) {
            this.netty = netty;
        }

        @Override
        protected void engineInit(KeyManager[] km, TrustManager[] tm, SecureRandom sr) throws KeyManagementException {
            // built already
        }

        @Override
        protected SSLEngine engineCreateSSLEngine() {
            return netty.newEngine(ByteBufAllocator.DEFAULT);
        }

        @Override
        protected SSLEngine engineCreateSSLEngine(String host, int port) {
            return netty.newEngine(ByteBufAllocator.DEFAULT, host, port);
        }

        @Override
        protected SSLSessionContext engineGetServerSessionContext() {
            return netty.sessionContext();
        }

        @Override
        protected SSLSessionContext engineGetClientSessionContext() {
            return null;
        }

        @Override
        protected SSLSocketFactory engineGetSocketFactory() {
            throw new UnsupportedOperationException("engines only");
        }

        @Override
        protected SSLServerSocketFactory engineGetServerSocketFactory() {
            throw new UnsupportedOperationException("engines only");
        }
    }
}
