package dev.roundhouse.proxy.testing;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.util.concurrent.TimeUnit;

/**
 * A certificate for 127.0.0.1 and localhost, made once per test run with the JDK's keytool (so nothing secret is
 * committed), and the TLS contexts around it: one for a backend serving it, one for a client trusting it.
 */
public final class TestTls {

    private static final char[] PASSWORD = "test-only".toCharArray();
    private static KeyStore store;

    private TestTls() {
    }

    private static synchronized KeyStore store() {
        if (store == null) {
            try {
                Path dir = Files.createTempDirectory("roundhouse-tls");
                Path file = dir.resolve("backend.p12");
                Process keytool = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "keytool").toString(),
                        "-genkeypair", "-alias", "backend", "-keyalg", "EC", "-groupname", "secp256r1",
                        "-dname", "CN=localhost", "-ext", "san=dns:localhost,ip:127.0.0.1", "-validity", "2",
                        "-keystore", file.toString(), "-storetype", "PKCS12",
                        "-storepass", new String(PASSWORD), "-keypass", new String(PASSWORD))
                        .redirectErrorStream(true).start();
                String output = new String(keytool.getInputStream().readAllBytes());
                if (!keytool.waitFor(60, TimeUnit.SECONDS) || keytool.exitValue() != 0) {
                    throw new IllegalStateException("keytool failed: " + output);
                }
                KeyStore ks = KeyStore.getInstance("PKCS12");
                try (InputStream in = Files.newInputStream(file)) {
                    ks.load(in, PASSWORD);
                }
                Files.delete(file);
                Files.delete(dir);
                store = ks;
            } catch (IOException | InterruptedException | java.security.GeneralSecurityException e) {
                throw new IllegalStateException("cannot make a test certificate", e);
            }
        }
        return store;
    }

    /** For a server presenting the test certificate. */
    public static SSLContext server() {
        try {
            KeyManagerFactory keys = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            keys.init(store(), PASSWORD);
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(keys.getKeyManagers(), null, null);
            return context;
        } catch (java.security.GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    /** For a client that trusts the test certificate (and nothing else). */
    public static SSLContext client() {
        try {
            TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            trust.init(store());
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(null, trust.getTrustManagers(), null);
            return context;
        } catch (java.security.GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }
}
