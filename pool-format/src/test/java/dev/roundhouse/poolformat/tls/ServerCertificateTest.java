package dev.roundhouse.poolformat.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.roundhouse.testing.ServerPem;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Reading the PEM pairs Kubernetes Secrets and cert-manager hold, and saying in a line what is wrong with one. */
class ServerCertificateTest {

    @TempDir
    Path dir;

    private static final Instant NOW = Instant.now();

    @Test
    void readsRsaAndEcdsaPairsWithTheirNamesAndExpiry() throws Exception {
        for (ServerPem.Spec spec : List.of(
                ServerPem.Spec.rsa("dns:Shop.Example,dns:*.shop.example,ip:10.0.0.1"),
                ServerPem.Spec.ec("dns:Shop.Example,dns:*.shop.example,ip:10.0.0.1"))) {
            ServerPem pem = ServerPem.make(dir.resolve(spec.keyAlgorithm()), "site", spec);
            ServerCertificate certificate = ServerCertificate.read(pem.cert(), pem.key(), NOW);
            assertThat(certificate.keyType()).isEqualTo(spec.keyAlgorithm());
            assertThat(certificate.names()).containsExactly("shop.example", "*.shop.example");
            assertThat(certificate.name()).isEqualTo("shop.example");
            assertThat(certificate.notAfter())
                    .isEqualTo(pem.leaf().getNotAfter().toInstant());
            assertThat(certificate.matches("shop.example")).isTrue();
            assertThat(certificate.matches("www.shop.example")).isTrue();
            assertThat(certificate.matches("a.www.shop.example")).isFalse();
            assertThat(certificate.matches("example")).isFalse();
        }
    }

    @Test
    void aChainFileKeepsItsOrderLeafFirst() throws Exception {
        ServerPem pem = ServerPem.make(
                dir, "site", ServerPem.Spec.rsa("dns:site.example").withCa());
        ServerCertificate certificate = ServerCertificate.read(pem.cert(), pem.key(), NOW);
        assertThat(certificate.chain()).hasSize(2);
        assertThat(certificate.chain()[0]).isEqualTo(pem.leaf());
        assertThat(certificate.chain()[1].getSubjectX500Principal().getName()).isEqualTo("CN=roundhouse test CA");
    }

    /** cert-manager writes PKCS#1 RSA keys by default; {@code openssl ecparam -genkey} writes SEC1 EC keys. */
    @Test
    void readsTraditionalRsaAndEcKeysAsOpensslWritesThem() throws Exception {
        assumeTrue(openssl("version") != null, "openssl is not installed: the traditional key forms are not tried");
        for (ServerPem.Spec spec : List.of(ServerPem.Spec.rsa("dns:a.example"), ServerPem.Spec.ec("dns:a.example"))) {
            ServerPem pem = ServerPem.make(dir.resolve(spec.keyAlgorithm()), "site", spec);
            Path traditional = dir.resolve(spec.keyAlgorithm() + "-traditional.key");
            assertThat(openssl("pkey", "-in", pem.key().toString(), "-traditional", "-out", traditional.toString()))
                    .isNotNull();
            String text = Files.readString(traditional);
            assertThat(text).contains(spec.keyAlgorithm().equals("RSA") ? "RSA PRIVATE KEY" : "EC PRIVATE KEY");
            if (spec.keyAlgorithm().equals("EC")) {
                // As `openssl ecparam -genkey` writes it: the curve's parameters block first.
                Files.writeString(
                        traditional,
                        "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n" + "-----END EC PARAMETERS-----\n" + text);
            }
            ServerCertificate certificate = ServerCertificate.read(pem.cert(), traditional, NOW);
            assertThat(certificate.key().getAlgorithm()).isEqualTo(spec.keyAlgorithm());
        }
    }

    @Test
    void whatIsWrongWithAPairIsSaidInALineNamingTheFile() throws Exception {
        ServerPem good = ServerPem.make(dir.resolve("good"), "site", ServerPem.Spec.ec("dns:site.example"));
        ServerPem other = ServerPem.make(dir.resolve("other"), "site", ServerPem.Spec.ec("dns:site.example"));
        ServerPem rsa = ServerPem.make(dir.resolve("rsa"), "site", ServerPem.Spec.rsa("dns:site.example"));
        ServerPem expired = ServerPem.make(
                dir.resolve("old"),
                "site",
                ServerPem.Spec.ec("dns:site.example").valid(10, 2));
        Path empty = Files.writeString(dir.resolve("empty.pem"), "");
        Path encrypted = Files.writeString(
                dir.resolve("encrypted.key"),
                "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n");
        Path missing = dir.resolve("missing.crt");

        assertProblem(good.cert(), other.key(), other.key() + ": the key does not belong to the certificate");
        assertProblem(good.cert(), rsa.key(), "the key does not belong to the certificate");
        assertProblem(expired.cert(), expired.key(), expired.cert() + ": the certificate expired at ");
        assertProblem(empty, good.key(), empty + ": no PEM certificate in it");
        assertProblem(good.key(), good.key(), "not a PEM certificate chain");
        assertProblem(good.cert(), good.cert(), good.cert() + ": no PEM private key in it");
        assertProblem(good.cert(), encrypted, "the key is encrypted");
        assertProblem(missing, good.key(), "TLS_CERT_FILE " + missing + ": cannot be read (no such file)");
    }

    private static void assertProblem(Path cert, Path key, String says) {
        assertThatThrownBy(() -> ServerCertificate.read(cert, key, NOW))
                .isInstanceOf(InvalidCertificateException.class)
                .hasMessageContaining(says)
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n").hasSizeLessThan(400));
    }

    /** Runs openssl; its output, or null when it is not installed or fails. */
    private static String openssl(String... args) throws InterruptedException {
        List<String> command = new ArrayList<>(List.of("openssl"));
        command.addAll(List.of(args));
        try {
            Process process =
                    new ProcessBuilder(command).redirectErrorStream(true).start();
            String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            return process.waitFor(30, TimeUnit.SECONDS) && process.exitValue() == 0 ? output : null;
        } catch (IOException e) {
            return null;
        }
    }
}
