package dev.roundhouse.proxy.tls;

import java.net.Socket;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLSession;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.X509TrustManager;

/**
 * Trusts a backend's certificate when its chain leads to a trusted CA and it names the server: the configured
 * server name, else the host the connection was opened to. The name check is done here rather than left to the
 * TLS engine's endpoint identification, because the proxy's engines (XNIO's and the JDK HTTP client's) decide
 * that setting themselves, and one of them leaves it off.
 */
final class VerifyingTrustManager extends ServerOnlyTrustManager {

    private final X509TrustManager chains;
    private final String serverName;

    /**
     * @param chains validates certificate chains against the trusted CAs
     * @param serverName the name every backend's certificate must carry, or null for the host connected to
     */
    VerifyingTrustManager(X509TrustManager chains, String serverName) {
        this.chains = chains;
        this.serverName = serverName;
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
            throws CertificateException {
        check(chain, authType, engine == null ? null : engine.getPeerHost());
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
            throws CertificateException {
        SSLSession session = socket instanceof SSLSocket tls ? tls.getHandshakeSession() : null;
        check(chain, authType, session == null ? null : session.getPeerHost());
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        check(chain, authType, null);
    }

    private void check(X509Certificate[] chain, String authType, String peerHost) throws CertificateException {
        chains.checkServerTrusted(chain, authType);
        String expected = serverName != null ? serverName : peerHost;
        if (expected == null) {
            throw new CertificateException("no server name to check the backend's certificate against");
        }
        if (!ServerIdentity.names(chain[0], expected)) {
            throw new CertificateException(
                    "the backend's certificate (" + ServerIdentity.describe(chain[0]) + ") does not name " + expected);
        }
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
        return chains.getAcceptedIssuers();
    }

    /** Accepts every certificate: {@code insecureSkipVerify}, explicitly asked for. */
    static final class AcceptingAll extends ServerOnlyTrustManager {

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) {}

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) {}

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) {}

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return new X509Certificate[0];
        }
    }
}
