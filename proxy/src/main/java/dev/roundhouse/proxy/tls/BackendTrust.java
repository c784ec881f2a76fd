package dev.roundhouse.proxy.tls;

import dev.roundhouse.poolformat.PoolDocument.BackendTls;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.util.List;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;

/**
 * The TLS context for a pool's {@code backendTLS} settings, one definition for every connection the proxy makes to
 * an https backend (requests and health checks alike): chains checked against the pool's CA bundle or the JVM's
 * CAs, the certificate checked for the server name or the backend's host, or, asked for explicitly, nothing.
 * Building one parses certificates: {@link BackendTrusts} keeps the proxy's one.
 */
public final class BackendTrust {

    private final BackendTls settings;
    private final SSLContext context;

    private BackendTrust(BackendTls settings, SSLContext context) {
        this.settings = settings;
        this.context = context;
    }

    /** @throws IllegalArgumentException if the CA bundle cannot be read (a validated document's never fails) */
    static BackendTrust of(BackendTls settings) {
        try {
            TrustManager trust = settings.insecureSkipVerify()
                    ? new VerifyingTrustManager.AcceptingAll()
                    : new VerifyingTrustManager(chains(settings.caBundle()), settings.serverName());
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(null, new TrustManager[] {trust}, null);
            return new BackendTrust(settings, context);
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException("cannot build the TLS context for backendTLS: " + e.getMessage(), e);
        }
    }

    /** The settings this was built for: compare them to a document's to know whether to rebuild. */
    public BackendTls settings() {
        return settings;
    }

    public SSLContext context() {
        return context;
    }

    /** Parameters for clients that take them (the JDK HTTP client): the server name to send, when one is set. */
    public SSLParameters parameters() {
        SSLParameters parameters = context.getDefaultSSLParameters();
        if (settings.serverName() != null) {
            parameters.setServerNames(List.of(new SNIHostName(settings.serverName())));
        }
        return parameters;
    }

    /** Validates chains against the bundle's certificates, or the JVM's CAs when there is none. */
    private static X509TrustManager chains(String caBundle) throws GeneralSecurityException {
        KeyStore anchors = caBundle == null ? null : anchors(caBundle.getBytes(StandardCharsets.US_ASCII));
        TrustManagerFactory factory = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        factory.init(anchors); // null: the JVM's default CAs
        for (TrustManager manager : factory.getTrustManagers()) {
            if (manager instanceof X509TrustManager x509) {
                return x509;
            }
        }
        throw new GeneralSecurityException("no X.509 trust manager");
    }

    /**
     * The PEM certificates of {@code pem} as trust anchors, for backends' CAs and for the CAs of clients'
     * certificates alike; empty when it holds none.
     */
    static KeyStore anchors(byte[] pem) throws GeneralSecurityException {
        KeyStore anchors = KeyStore.getInstance(KeyStore.getDefaultType());
        try {
            anchors.load(null, null);
        } catch (java.io.IOException e) {
            throw new GeneralSecurityException(e);
        }
        int i = 0;
        for (Certificate certificate :
                CertificateFactory.getInstance("X.509").generateCertificates(new ByteArrayInputStream(pem))) {
            anchors.setCertificateEntry("ca-" + i++, certificate);
        }
        return anchors;
    }
}
