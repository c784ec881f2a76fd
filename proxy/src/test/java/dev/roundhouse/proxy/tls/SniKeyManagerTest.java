package dev.roundhouse.proxy.tls;

import static org.assertj.core.api.Assertions.assertThat;

import dev.roundhouse.poolformat.tls.ServerCertificate;
import dev.roundhouse.testing.ServerPem;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Which certificate a handshake gets, by the name asked for and the kinds of key the client supports. */
class SniKeyManagerTest {

    @TempDir
    Path dir;

    private ServerCertificate make(String name, ServerPem.Spec spec) throws Exception {
        ServerPem pem = ServerPem.make(dir.resolve(name), "tls", spec);
        return ServerCertificate.read(pem.cert(), pem.key(), Instant.now());
    }

    @Test
    void aNameWithAnRsaAndAnEcdsaCertificateGetsTheKindTheClientSupportsAndNeverAnotherNamesCertificate()
            throws Exception {
        ServerCertificate fallback = make("default", ServerPem.Spec.rsa("dns:default.example"));
        ServerCertificate shopRsa = make("shop-rsa", ServerPem.Spec.rsa("dns:shop.example"));
        ServerCertificate shopEc = make("shop-ec", ServerPem.Spec.ec("dns:shop.example"));
        ServerCertificate apiEc = make("api-ec", ServerPem.Spec.ec("dns:api.example"));
        SniKeyManager keys = new SniKeyManager(List.of(fallback, shopRsa, shopEc, apiEc));

        assertThat(keys.choose("shop.example", "RSA")).isSameAs(shopRsa);
        assertThat(keys.choose("shop.example", "RSASSA-PSS")).isSameAs(shopRsa);
        assertThat(keys.choose("shop.example", "EC")).isSameAs(shopEc);
        assertThat(keys.choose("api.example", "RSA"))
                .as("only an ECDSA certificate names it: not the RSA default, the JDK tries the next kind")
                .isNull();
        assertThat(keys.choose("other.example", "RSA")).isSameAs(fallback);
        assertThat(keys.choose("other.example", "EC")).as("the default is RSA").isNull();
        assertThat(keys.choose(null, "RSA")).isSameAs(fallback);
    }

    @Test
    void anAliasChosenBeforeASwapStillFindsItsCertificate() throws Exception {
        ServerCertificate before = make("before", ServerPem.Spec.ec("dns:site.example"));
        ServerCertificate after = make("after", ServerPem.Spec.ec("dns:site.example"));
        SniKeyManager keys = new SniKeyManager(List.of(before));
        String alias = keys.chooseEngineServerAlias("EC", null, null);

        keys.replace(List.of(after));

        assertThat(keys.getCertificateChain(alias)).containsExactly(before.chain());
        assertThat(keys.getPrivateKey(alias)).isSameAs(before.key());
        assertThat(keys.getCertificateChain(keys.chooseEngineServerAlias("EC", null, null)))
                .containsExactly(after.chain());
    }
}
