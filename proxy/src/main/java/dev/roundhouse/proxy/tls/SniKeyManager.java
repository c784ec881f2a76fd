package dev.roundhouse.proxy.tls;

import dev.roundhouse.poolformat.tls.ServerCertificate;
import java.net.Socket;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Locale;
import javax.net.ssl.ExtendedSSLSession;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SNIServerName;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLSession;
import javax.net.ssl.X509ExtendedKeyManager;

/**
 * Chooses the certificate for each handshake from the set in force, by the name the client asked for (SNI): a
 * certificate naming it exactly, else one whose wildcard covers it, else the default (the first of the set). The set
 * is swapped whole when the files change: handshakes from then on use the new one, handshakes under way finish with
 * the set they chose from, and connections already open are not touched.
 */
public final class SniKeyManager extends X509ExtendedKeyManager {

    /** One set in force, numbered so that an alias says which set it came from. */
    private record Generation(int number, List<ServerCertificate> certificates) {}

    private volatile Generation current;
    /** The set before the current one: a handshake that chose from it just before the swap still finds its alias. */
    private volatile Generation previous;

    public SniKeyManager(List<ServerCertificate> certificates) {
        current = new Generation(0, List.copyOf(certificates));
        previous = current;
    }

    /** Puts {@code certificates} in force for the handshakes that start from now on. */
    public synchronized void replace(List<ServerCertificate> certificates) {
        previous = current;
        current = new Generation(current.number() + 1, List.copyOf(certificates));
    }

    public List<ServerCertificate> certificates() {
        return current.certificates();
    }

    /** The certificate a handshake for {@code serverName} (null: none sent) with a key of {@code keyType} gets. */
    ServerCertificate choose(String serverName, String keyType) {
        int index = choose(current.certificates(), serverName, keyType);
        return index < 0 ? null : current.certificates().get(index);
    }

    private static int choose(List<ServerCertificate> certificates, String serverName, String keyType) {
        if (serverName != null) {
            int wildcard = -1;
            boolean named = false;
            for (int i = 0; i < certificates.size(); i++) {
                ServerCertificate certificate = certificates.get(i);
                if (!certificate.matches(serverName)) {
                    continue;
                }
                named = true;
                if (!fits(certificate, keyType)) {
                    continue;
                }
                if (certificate.names().contains(serverName)) {
                    return i;
                }
                if (wildcard < 0) {
                    wildcard = i;
                }
            }
            if (named) {
                // A certificate for this name exists: another key type of it, never an unrelated default.
                return wildcard;
            }
        }
        return fits(certificates.get(0), keyType) ? 0 : -1;
    }

    /** Key types as the JDK asks for them: {@code RSA} (or {@code RSASSA-PSS} for the same keys), {@code EC}. */
    private static boolean fits(ServerCertificate certificate, String keyType) {
        String have = certificate.keyType();
        return have.equals(keyType) || (have.equals("RSA") && keyType.equals("RSASSA-PSS"));
    }

    @Override
    public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
        return alias(keyType, engine == null ? null : engine.getHandshakeSession());
    }

    @Override
    public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
        return alias(keyType, socket instanceof javax.net.ssl.SSLSocket tls ? tls.getHandshakeSession() : null);
    }

    private String alias(String keyType, SSLSession handshake) {
        Generation generation = current;
        int index = choose(generation.certificates(), serverName(handshake), keyType);
        return index < 0 ? null : generation.number() + "/" + index;
    }

    private static String serverName(SSLSession handshake) {
        if (handshake instanceof ExtendedSSLSession extended) {
            for (SNIServerName name : extended.getRequestedServerNames()) {
                if (name instanceof SNIHostName host) {
                    return host.getAsciiName().toLowerCase(Locale.ROOT);
                }
            }
        }
        return null;
    }

    private ServerCertificate byAlias(String alias) {
        if (alias == null) {
            return null;
        }
        int slash = alias.indexOf('/');
        if (slash < 0) {
            return null;
        }
        try {
            int number = Integer.parseInt(alias.substring(0, slash));
            int index = Integer.parseInt(alias.substring(slash + 1));
            for (Generation generation : new Generation[] {current, previous}) {
                if (generation.number() == number
                        && index < generation.certificates().size()) {
                    return generation.certificates().get(index);
                }
            }
        } catch (NumberFormatException e) {
            return null;
        }
        return null;
    }

    @Override
    public X509Certificate[] getCertificateChain(String alias) {
        ServerCertificate certificate = byAlias(alias);
        return certificate == null ? null : certificate.chain().clone();
    }

    @Override
    public PrivateKey getPrivateKey(String alias) {
        ServerCertificate certificate = byAlias(alias);
        return certificate == null ? null : certificate.key();
    }

    @Override
    public String[] getServerAliases(String keyType, Principal[] issuers) {
        Generation generation = current;
        return java.util.stream.IntStream.range(0, generation.certificates().size())
                .filter(i -> fits(generation.certificates().get(i), keyType))
                .mapToObj(i -> generation.number() + "/" + i)
                .toArray(String[]::new);
    }

    // The proxy presents no client certificate with this manager.

    @Override
    public String[] getClientAliases(String keyType, Principal[] issuers) {
        return null;
    }

    @Override
    public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
        return null;
    }

    @Override
    public String chooseEngineClientAlias(String[] keyType, Principal[] issuers, SSLEngine engine) {
        return null;
    }
}
