package dev.roundhouse.proxy.testing;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.util.Base64;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;

/**
 * Self-signed certificates made at test time with the JDK's keytool (so nothing secret is committed): a backend
 * serves one, and the proxy trusts it by being given its PEM as a CA bundle, as a user gives theirs.
 */
public final class TestTls {

    private static final char[] PASSWORD = "test-only".toCharArray();
    private static final Map<String, Certificate> MADE = new ConcurrentHashMap<>();

    private TestTls() {}

    /** The certificate for 127.0.0.1 and localhost, where test backends listen. */
    public static Certificate loopback() {
        return certificate("dns:localhost,ip:127.0.0.1");
    }

    /**
     * A certificate naming only {@code subjectAlternativeNames} (keytool's form: {@code dns:a.example,ip:10.0.0.1}),
     * made once per run.
     */
    public static Certificate certificate(String subjectAlternativeNames) {
        return MADE.computeIfAbsent(subjectAlternativeNames, Certificate::make);
    }

    /** One key pair and its self-signed certificate. */
    public static final class Certificate {

        private final KeyStore store;
        private final String pem;

        private Certificate(KeyStore store, String pem) {
            this.store = store;
            this.pem = pem;
        }

        private static Certificate make(String sans) {
            try {
                Path dir = Files.createTempDirectory("roundhouse-tls");
                Path file = dir.resolve("backend.p12");
                Process keytool = new ProcessBuilder(
                                Path.of(System.getProperty("java.home"), "bin", "keytool")
                                        .toString(),
                                "-genkeypair",
                                "-alias",
                                "backend",
                                "-keyalg",
                                "EC",
                                "-groupname",
                                "secp256r1",
                                "-dname",
                                "CN=roundhouse test backend",
                                "-ext",
                                "san=" + sans,
                                "-validity",
                                "2",
                                "-keystore",
                                file.toString(),
                                "-storetype",
                                "PKCS12",
                                "-storepass",
                                new String(PASSWORD),
                                "-keypass",
                                new String(PASSWORD))
                        .redirectErrorStream(true)
                        .start();
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
                String pem = "-----BEGIN CERTIFICATE-----\n"
                        + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
                                .encodeToString(ks.getCertificate("backend").getEncoded())
                        + "\n-----END CERTIFICATE-----\n";
                return new Certificate(ks, pem);
            } catch (IOException | InterruptedException | GeneralSecurityException e) {
                throw new IllegalStateException("cannot make a test certificate", e);
            }
        }

        /** For a server presenting this certificate. */
        public SSLContext serverContext() {
            try {
                KeyManagerFactory keys = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
                keys.init(store, PASSWORD);
                SSLContext context = SSLContext.getInstance("TLS");
                context.init(keys.getKeyManagers(), null, null);
                return context;
            } catch (GeneralSecurityException e) {
                throw new IllegalStateException(e);
            }
        }

        public java.security.cert.X509Certificate x509() {
            try {
                return (java.security.cert.X509Certificate) store.getCertificate("backend");
            } catch (java.security.KeyStoreException e) {
                throw new IllegalStateException(e);
            }
        }

        /** The certificate as PEM: what a CA bundle that trusts it holds. */
        public String pem() {
            return pem;
        }

        /** {@link #pem()} in a new file under {@code dir}, for {@code BACKEND_CA_FILE}. */
        public Path pemFile(Path dir) {
            try {
                Path file = Files.createTempFile(dir, "ca", ".pem");
                Files.writeString(file, pem, StandardCharsets.US_ASCII);
                return file;
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        }
    }
}
