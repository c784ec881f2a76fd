package dev.roundhouse.proxy.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.roundhouse.poolformat.tls.InvalidCertificateException;
import dev.roundhouse.poolformat.tls.ServerCertificate;
import dev.roundhouse.testing.ServerPem;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Which files TLS_CERT_FILE, TLS_KEY_FILE and TLS_CLIENT_CA_FILE name, and what is refused of them. */
class TlsTerminationFilesTest {

    @TempDir
    Path dir;

    /**
     * A directory holds pairs as Kubernetes mounts TLS Secrets (tls.crt and tls.key, in it or one subdirectory per
     * Secret, kubelet's dot-directories passed over) and as people keep them (NAME.crt beside NAME.key), in name
     * order: the first is the default.
     */
    @Test
    void aDirectoryIsReadForItsPairsInNameOrder() throws Exception {
        ServerPem.make(dir.resolve("b-shop"), "tls", ServerPem.Spec.ec("dns:shop.example"));
        ServerPem.make(dir.resolve("a-api"), "tls", ServerPem.Spec.ec("dns:api.example"));
        ServerPem.make(dir.resolve("..2026_12_07"), "tls", ServerPem.Spec.ec("dns:hidden.example"));
        ServerPem.make(dir, "c-blog", ServerPem.Spec.rsa("dns:blog.example"));
        Files.writeString(dir.resolve("lonely.crt"), "no key beside it");

        List<String> names = new ArrayList<>();
        TlsTermination tls = TlsTermination.start(List.of(dir), List.of(), null, Clock.systemUTC(), listener(names));
        assertThat(tls.certificates())
                .extracting(ServerCertificate::name)
                .containsExactly("api.example", "shop.example", "blog.example");
        assertThat(names).containsExactly("api.example", "shop.example", "blog.example");

        Path nothing = Files.createDirectories(dir.resolve("nothing-here"));
        assertThatThrownBy(() -> TlsTermination.check(List.of(nothing), List.of(), null))
                .isInstanceOf(InvalidCertificateException.class)
                .hasMessageContaining("no certificate and key in it");
    }

    @Test
    void aClientCaFileMustHoldCertificates() throws Exception {
        ServerPem pem = ServerPem.make(dir, "site", ServerPem.Spec.ec("dns:site.example"));
        Path notPem = Files.writeString(dir.resolve("ca.pem"), "hello", StandardCharsets.US_ASCII);
        assertThatThrownBy(() -> TlsTermination.check(List.of(pem.cert()), List.of(pem.key()), notPem))
                .isInstanceOf(InvalidCertificateException.class)
                .hasMessageStartingWith("TLS_CLIENT_CA_FILE " + notPem);
    }

    /** What is wrong inside a file names the variable that named the file: at start, it is a settings problem. */
    @Test
    void aFileThatCannotBeServedIsNamedByItsVariable() throws Exception {
        ServerPem pem = ServerPem.make(dir, "site", ServerPem.Spec.ec("dns:site.example"));
        ServerPem other = ServerPem.make(dir.resolve("other"), "site", ServerPem.Spec.ec("dns:site.example"));
        Path garbage = Files.writeString(dir.resolve("garbage.pem"), "hello", StandardCharsets.US_ASCII);
        Path expiredDir = dir.resolve("expired");
        ServerPem expired = ServerPem.make(
                expiredDir, "site", ServerPem.Spec.ec("dns:site.example").valid(10, 2));

        assertThatThrownBy(() -> TlsTermination.check(List.of(garbage), List.of(pem.key()), null))
                .hasMessageStartingWith("TLS_CERT_FILE " + garbage + ":");
        assertThatThrownBy(() -> TlsTermination.check(List.of(pem.cert()), List.of(garbage), null))
                .hasMessageStartingWith("TLS_KEY_FILE " + garbage + ":");
        assertThatThrownBy(() -> TlsTermination.check(List.of(pem.cert()), List.of(other.key()), null))
                .hasMessageStartingWith("TLS_KEY_FILE " + other.key() + ": the key does not belong")
                .hasMessageContaining("TLS_CERT_FILE " + pem.cert());
        assertThatThrownBy(() -> TlsTermination.check(List.of(expired.cert()), List.of(expired.key()), null))
                .hasMessageStartingWith("TLS_CERT_FILE " + expired.cert() + ": the certificate expired");
    }

    private static TlsTermination.Listener listener(List<String> names) {
        return new TlsTermination.Listener() {
            @Override
            public void reloaded(boolean applied) {}

            @Override
            public void serving(List<ServerCertificate> certificates) {
                certificates.forEach(c -> names.add(c.name()));
            }
        };
    }
}
