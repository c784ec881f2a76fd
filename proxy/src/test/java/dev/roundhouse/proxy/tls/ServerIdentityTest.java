package dev.roundhouse.proxy.tls;

import static org.assertj.core.api.Assertions.assertThat;

import dev.roundhouse.proxy.testing.TestTls;
import java.security.cert.X509Certificate;
import org.junit.jupiter.api.Test;

class ServerIdentityTest {

    @Test
    void aDnsNameMatchesItsAlternativeNameWhateverItsCase() {
        X509Certificate certificate =
                TestTls.certificate("dns:shop.default.svc,dns:shop.example").x509();

        assertThat(ServerIdentity.names(certificate, "shop.default.svc")).isTrue();
        assertThat(ServerIdentity.names(certificate, "SHOP.Example")).isTrue();
        assertThat(ServerIdentity.names(certificate, "shop.example."))
                .as("a fully qualified name")
                .isTrue();
        assertThat(ServerIdentity.names(certificate, "shop.default")).isFalse();
        assertThat(ServerIdentity.names(certificate, "evil-shop.example")).isFalse();
    }

    @Test
    void aWildcardStandsForExactlyOneLeftMostLabel() {
        X509Certificate certificate = TestTls.certificate("dns:*.shop.example").x509();

        assertThat(ServerIdentity.names(certificate, "a.shop.example")).isTrue();
        assertThat(ServerIdentity.names(certificate, "shop.example")).isFalse();
        assertThat(ServerIdentity.names(certificate, "a.b.shop.example")).isFalse();
        assertThat(ServerIdentity.names(certificate, "ashop.example")).isFalse();
    }

    @Test
    void anAddressMatchesOnlyAnIpAlternativeName() {
        X509Certificate certificate =
                TestTls.certificate("dns:10.0.0.9,ip:10.0.0.7,ip:::1").x509();

        assertThat(ServerIdentity.names(certificate, "10.0.0.7")).isTrue();
        assertThat(ServerIdentity.names(certificate, "::1")).isTrue();
        assertThat(ServerIdentity.names(certificate, "[0:0:0:0:0:0:0:1]")).isTrue();
        assertThat(ServerIdentity.names(certificate, "10.0.0.9"))
                .as("a DNS name spelled like an address")
                .isFalse();
        assertThat(ServerIdentity.names(certificate, "10.0.0.8")).isFalse();
    }

    @Test
    void theCommonNameIsNotConsulted() {
        // TestTls's certificates all carry CN=roundhouse test backend; only the alternative names count.
        X509Certificate certificate = TestTls.certificate("dns:other.example").x509();

        assertThat(ServerIdentity.names(certificate, "roundhouse test backend")).isFalse();
        assertThat(ServerIdentity.describe(certificate)).isEqualTo("[dns:other.example]");
    }
}
