package dev.roundhouse.testing;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * Certificates for the proxy to serve, made at test time with the JDK's keytool and written as the PEM files a
 * {@code kubernetes.io/tls} Secret holds: the chain in one file (leaf first), the key (PKCS#8) in another. Nothing
 * secret is committed.
 *
 * @param cert the chain's PEM file
 * @param key the key's PEM file
 * @param leaf the certificate the proxy should present
 */
public record ServerPem(Path cert, Path key, X509Certificate leaf) {

    private static final char[] PASSWORD = "test-only".toCharArray();

    /** What to make: key algorithm ({@code EC} or {@code RSA}), names, validity. */
    public record Spec(String keyAlgorithm, String sans, int startDaysAgo, int validityDays, boolean signedByCa) {
        public static Spec ec(String sans) {
            return new Spec("EC", sans, 0, 2, false);
        }

        public static Spec rsa(String sans) {
            return new Spec("RSA", sans, 0, 2, false);
        }

        /** Valid from {@code startDaysAgo} days ago for {@code validityDays}: in the past makes it expired. */
        public Spec valid(int startDaysAgo, int validityDays) {
            return new Spec(keyAlgorithm, sans, startDaysAgo, validityDays, signedByCa);
        }

        /** Signed by a CA of its own, whose certificate follows the leaf in the chain file. */
        public Spec withCa() {
            return new Spec(keyAlgorithm, sans, startDaysAgo, validityDays, true);
        }
    }

    /** Makes a certificate and key under {@code dir} as {@code name.crt} and {@code name.key}. */
    public static ServerPem make(Path dir, String name, Spec spec) {
        try {
            Files.createDirectories(dir);
            Path store = Files.createTempFile(dir, "keys", ".p12");
            Files.delete(store);
            List<String> leaf = new ArrayList<>(List.of(
                    "-genkeypair",
                    "-alias",
                    "leaf",
                    "-keyalg",
                    spec.keyAlgorithm(),
                    "-dname",
                    "CN=" + name,
                    "-ext",
                    "san=" + spec.sans(),
                    "-validity",
                    Integer.toString(spec.validityDays())));
            if (spec.keyAlgorithm().equals("EC")) {
                leaf.addAll(List.of("-groupname", "secp256r1"));
            } else {
                leaf.addAll(List.of("-keysize", "2048"));
            }
            if (spec.startDaysAgo() > 0) {
                leaf.addAll(List.of("-startdate", "-" + spec.startDaysAgo() + "d"));
            }
            keytool(store, leaf);
            List<X509Certificate> chain = new ArrayList<>();
            if (spec.signedByCa()) {
                keytool(
                        store,
                        List.of(
                                "-genkeypair",
                                "-alias",
                                "ca",
                                "-keyalg",
                                "EC",
                                "-groupname",
                                "secp256r1",
                                "-dname",
                                "CN=roundhouse test CA",
                                "-ext",
                                "bc:c",
                                "-validity",
                                "2"));
                Path request = dir.resolve(name + ".csr");
                keytool(store, List.of("-certreq", "-alias", "leaf", "-file", request.toString()));
                Path signed = dir.resolve(name + ".signed");
                List<String> sign = new ArrayList<>(List.of(
                        "-gencert",
                        "-alias",
                        "ca",
                        "-infile",
                        request.toString(),
                        "-outfile",
                        signed.toString(),
                        "-ext",
                        "san=" + spec.sans(),
                        "-validity",
                        Integer.toString(spec.validityDays())));
                if (spec.startDaysAgo() > 0) {
                    sign.addAll(List.of("-startdate", "-" + spec.startDaysAgo() + "d"));
                }
                keytool(store, sign);
                var factory = java.security.cert.CertificateFactory.getInstance("X.509");
                try (InputStream in = Files.newInputStream(signed)) {
                    chain.add((X509Certificate) factory.generateCertificate(in));
                }
                Files.delete(request);
                Files.delete(signed);
            }
            KeyStore keys = KeyStore.getInstance("PKCS12");
            try (InputStream in = Files.newInputStream(store)) {
                keys.load(in, PASSWORD);
            }
            Files.delete(store);
            if (spec.signedByCa()) {
                chain.add((X509Certificate) keys.getCertificate("ca"));
            } else {
                chain.add((X509Certificate) keys.getCertificate("leaf"));
            }
            StringBuilder chainPem = new StringBuilder();
            for (Certificate certificate : chain) {
                chainPem.append(pem("CERTIFICATE", certificate.getEncoded()));
            }
            PrivateKey key = (PrivateKey) keys.getKey("leaf", PASSWORD);
            Path certFile = dir.resolve(name + ".crt");
            Path keyFile = dir.resolve(name + ".key");
            Files.writeString(certFile, chainPem, StandardCharsets.US_ASCII);
            Files.writeString(keyFile, pem("PRIVATE KEY", key.getEncoded()), StandardCharsets.US_ASCII);
            return new ServerPem(certFile, keyFile, chain.get(0));
        } catch (IOException | GeneralSecurityException e) {
            throw new IllegalStateException("cannot make a test certificate", e);
        }
    }

    private static void keytool(Path store, List<String> args) {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "keytool").toString());
        command.addAll(args);
        command.addAll(List.of(
                "-keystore",
                store.toString(),
                "-storetype",
                "PKCS12",
                "-storepass",
                new String(PASSWORD),
                "-keypass",
                new String(PASSWORD)));
        try {
            Process keytool =
                    new ProcessBuilder(command).redirectErrorStream(true).start();
            String output = new String(keytool.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!keytool.waitFor(60, TimeUnit.SECONDS) || keytool.exitValue() != 0) {
                throw new IllegalStateException("keytool " + args + " failed: " + output);
            }
        } catch (IOException e) {
            throw new IllegalStateException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    static String pem(String type, byte[] der) {
        return "-----BEGIN " + type + "-----\n"
                + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
                        .encodeToString(der)
                + "\n-----END " + type + "-----\n";
    }

    /**
     * A client's TLS context that trusts the one certificate in {@code pem} (a CA, or a self-signed certificate) and
     * checks host names as usual: for JDK HTTP clients in front of a proxy serving a certificate made here.
     */
    public static SSLContext trusting(String pem) {
        try {
            KeyStore anchors = KeyStore.getInstance(KeyStore.getDefaultType());
            anchors.load(null, null);
            anchors.setCertificateEntry(
                    "trusted",
                    CertificateFactory.getInstance("X.509")
                            .generateCertificate(new ByteArrayInputStream(pem.getBytes(StandardCharsets.US_ASCII))));
            TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            trust.init(anchors);
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(null, trust.getTrustManagers(), null);
            return context;
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalStateException("cannot trust the certificate: " + e.getMessage(), e);
        }
    }

    /** The certificate as PEM, for a client that trusts it (its CA when it has one, else itself). */
    public String trustPem() {
        try {
            List<String> blocks = new ArrayList<>();
            String all = Files.readString(cert, StandardCharsets.US_ASCII);
            int last = all.lastIndexOf("-----BEGIN CERTIFICATE-----");
            blocks.add(all.substring(last));
            return String.join("", blocks);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
