package dev.roundhouse.poolformat.tls;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One certificate the proxy serves: its chain (leaf first, as in the PEM file), its private key, the host names it
 * is valid for (its DNS subject alternative names, lower case, wildcards kept) and when it expires. Read from a
 * PEM pair as Kubernetes {@code kubernetes.io/tls} Secrets and cert-manager write them: the key in PKCS#8
 * ({@code PRIVATE KEY}), PKCS#1 ({@code RSA PRIVATE KEY}) or SEC1 ({@code EC PRIVATE KEY}); RSA or ECDSA.
 *
 * @param source where it came from, for logs and errors ({@code tls.crt + tls.key} paths)
 */
public record ServerCertificate(
        X509Certificate[] chain, PrivateKey key, List<String> names, Instant notAfter, String source) {

    private static final Pattern PEM =
            Pattern.compile("-----BEGIN ([A-Z0-9 ]+)-----([A-Za-z0-9+/=\\s]*)-----END \\1-----");
    /** rsaEncryption (1.2.840.113549.1.1.1), as the DER of its OID. */
    private static final byte[] RSA_OID = {0x06, 0x09, 0x2a, (byte) 0x86, 0x48, (byte) 0x86, (byte) 0xf7, 0x0d, 1, 1, 1
    };
    /** id-ecPublicKey (1.2.840.10045.2.1). */
    private static final byte[] EC_OID = {0x06, 0x07, 0x2a, (byte) 0x86, 0x48, (byte) 0xce, 0x3d, 2, 1};

    /** The key's algorithm as the JDK's key managers name key types: {@code RSA} or {@code EC}. */
    public String keyType() {
        return key.getAlgorithm();
    }

    /** The name this certificate is known by in logs and metrics: its first DNS name, else its subject. */
    public String name() {
        return names.isEmpty() ? chain[0].getSubjectX500Principal().getName() : names.get(0);
    }

    /** Whether this certificate is valid for {@code host} (lower case): its exact name, or one left-most wildcard. */
    public boolean matches(String host) {
        for (String name : names) {
            if (name.equals(host)) {
                return true;
            }
            if (name.startsWith("*.")) {
                int dot = host.indexOf('.');
                if (dot > 0 && host.substring(dot).equals(name.substring(1))) {
                    return true;
                }
            }
        }
        return false;
    }

    /**
     * Reads and checks a pair: the certificate file's chain, the key file's key, the key belonging to the leaf, and
     * the leaf not expired at {@code now}. A certificate not valid yet is taken: one just issued may start a moment
     * after this clock's now, and clients judge that themselves.
     *
     * @throws InvalidCertificateException saying what is wrong with which file, in a line
     */
    public static ServerCertificate read(Path certFile, Path keyFile, Instant now) throws InvalidCertificateException {
        return parse(
                readFile(certFile, "TLS_CERT_FILE"),
                "TLS_CERT_FILE " + certFile,
                readFile(keyFile, "TLS_KEY_FILE"),
                "TLS_KEY_FILE " + keyFile,
                now);
    }

    /**
     * Checks a pair given as bytes, as the operator reads it from a Secret, by the same rules as {@link #read}: what
     * the operator accepts, the proxies serve.
     *
     * @param certName what messages call the certificate's source ({@code Secret shop/web-tls key tls.crt})
     * @param keyName what messages call the key's source
     */
    public static ServerCertificate parse(byte[] cert, String certName, byte[] key, String keyName, Instant now)
            throws InvalidCertificateException {
        X509Certificate[] chain = chain(cert, certName);
        PrivateKey privateKey = key(key, keyName);
        X509Certificate leaf = chain[0];
        if (!belongTogether(privateKey, leaf)) {
            throw new InvalidCertificateException(
                    keyName + ": the key does not belong to the certificate in " + certName);
        }
        Instant notAfter = leaf.getNotAfter().toInstant();
        if (!now.isBefore(notAfter)) {
            throw new InvalidCertificateException(certName + ": the certificate expired at " + notAfter);
        }
        return new ServerCertificate(chain, privateKey, dnsNames(leaf, certName), notAfter, certName + " + " + keyName);
    }

    private static X509Certificate[] chain(byte[] bytes, String file) throws InvalidCertificateException {
        try {
            List<X509Certificate> chain = new ArrayList<>();
            for (var certificate :
                    CertificateFactory.getInstance("X.509").generateCertificates(new ByteArrayInputStream(bytes))) {
                chain.add((X509Certificate) certificate);
            }
            if (chain.isEmpty()) {
                throw new InvalidCertificateException(file + ": no PEM certificate in it");
            }
            return chain.toArray(X509Certificate[]::new);
        } catch (CertificateException e) {
            throw new InvalidCertificateException(file + ": not a PEM certificate chain (" + e.getMessage() + ")");
        }
    }

    private static PrivateKey key(byte[] bytes, String file) throws InvalidCertificateException {
        String text = new String(bytes, StandardCharsets.US_ASCII);
        Matcher pem = PEM.matcher(text);
        while (pem.find()) {
            String type = pem.group(1);
            byte[] der;
            try {
                der = Base64.getMimeDecoder().decode(pem.group(2));
            } catch (IllegalArgumentException e) {
                throw new InvalidCertificateException(file + ": the " + type + " block is not base64");
            }
            try {
                switch (type) {
                    case "PRIVATE KEY":
                        return pkcs8(der);
                    case "RSA PRIVATE KEY":
                        return KeyFactory.getInstance("RSA")
                                .generatePrivate(new PKCS8EncodedKeySpec(wrap(sequence(RSA_OID, nul()), der)));
                    case "EC PRIVATE KEY":
                        return KeyFactory.getInstance("EC")
                                .generatePrivate(new PKCS8EncodedKeySpec(wrap(sequence(EC_OID, curveOf(der)), der)));
                    case "ENCRYPTED PRIVATE KEY":
                        throw new InvalidCertificateException(
                                file + ": the key is encrypted; the proxy reads unencrypted keys, as Kubernetes "
                                        + "TLS Secrets hold them");
                    default:
                    // EC PARAMETERS (openssl ecparam -genkey writes it first), or anything else: not the key
                }
            } catch (GeneralSecurityException | IllegalArgumentException e) {
                throw new InvalidCertificateException(file + ": not a readable " + type + " (" + e.getMessage() + ")");
            }
        }
        throw new InvalidCertificateException(
                file + ": no PEM private key in it (PRIVATE KEY, RSA PRIVATE KEY or " + "EC PRIVATE KEY)");
    }

    private static PrivateKey pkcs8(byte[] der) throws GeneralSecurityException {
        GeneralSecurityException last = null;
        for (String algorithm : List.of("RSA", "EC")) {
            try {
                return KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(der));
            } catch (GeneralSecurityException e) {
                last = e;
            }
        }
        throw new GeneralSecurityException("neither an RSA nor an EC key", last);
    }

    /** Signs and verifies: the only check that holds for every key type. */
    private static boolean belongTogether(PrivateKey key, X509Certificate leaf) throws InvalidCertificateException {
        String algorithm = key.getAlgorithm().equals("EC") ? "SHA256withECDSA" : "SHA256withRSA";
        if (!leaf.getPublicKey().getAlgorithm().equals(key.getAlgorithm())) {
            return false;
        }
        try {
            byte[] challenge = "roundhouse".getBytes(StandardCharsets.US_ASCII);
            Signature signer = Signature.getInstance(algorithm);
            signer.initSign(key);
            signer.update(challenge);
            byte[] signature = signer.sign();
            Signature verifier = Signature.getInstance(algorithm);
            verifier.initVerify(leaf.getPublicKey());
            verifier.update(challenge);
            return verifier.verify(signature);
        } catch (GeneralSecurityException e) {
            return false;
        }
    }

    private static List<String> dnsNames(X509Certificate leaf, String certName) throws InvalidCertificateException {
        List<String> names = new ArrayList<>();
        try {
            var alternatives = leaf.getSubjectAlternativeNames();
            if (alternatives != null) {
                for (List<?> alternative : alternatives) {
                    if (Integer.valueOf(2).equals(alternative.get(0))) { // dNSName
                        names.add(((String) alternative.get(1)).toLowerCase(Locale.ROOT));
                    }
                }
            }
        } catch (CertificateParsingException e) {
            throw new InvalidCertificateException(
                    certName + ": its subject alternative names cannot be read: " + e.getMessage());
        }
        return List.copyOf(names);
    }

    /**
     * A certificate or key file's bytes, for {@link #parse}; {@code variable} names the setting it came from in the
     * error, as {@link #read} says it.
     */
    public static byte[] readFile(Path file, String variable) throws InvalidCertificateException {
        try {
            return Files.readAllBytes(file);
        } catch (IOException e) {
            throw new InvalidCertificateException(variable + " " + file + ": cannot be read ("
                    + (e instanceof java.nio.file.NoSuchFileException
                            ? "no such file"
                            : e.getClass().getSimpleName())
                    + ")");
        }
    }

    // ---- PKCS#1 and SEC1 keys into PKCS#8: the few DER shapes needed, nothing general --------------------------

    /** The curve's OID out of a SEC1 ECPrivateKey: its {@code [0] parameters}, which PKCS#8 needs outside. */
    private static byte[] curveOf(byte[] sec1) {
        int[] at = {0};
        header(sec1, at, 0x30); // ECPrivateKey SEQUENCE
        skip(sec1, at); // version
        skip(sec1, at); // privateKey OCTET STRING
        if (at[0] < sec1.length && (sec1[at[0]] & 0xff) == 0xa0) {
            int length = header(sec1, at, 0xa0);
            byte[] oid = new byte[length];
            System.arraycopy(sec1, at[0], oid, 0, length);
            return oid;
        }
        throw new IllegalArgumentException("an EC key without its curve");
    }

    /** Reads a tag and length at {@code at}, leaves {@code at} on the contents; returns the length. */
    private static int header(byte[] der, int[] at, int tag) {
        if (at[0] >= der.length || (der[at[0]] & 0xff) != tag) {
            throw new IllegalArgumentException("unexpected DER");
        }
        at[0]++;
        int length = der[at[0]++] & 0xff;
        if (length > 0x80) {
            int bytes = length - 0x80;
            length = 0;
            for (int i = 0; i < bytes; i++) {
                length = (length << 8) | (der[at[0]++] & 0xff);
            }
        }
        if (length < 0 || at[0] + length > der.length) {
            throw new IllegalArgumentException("truncated DER");
        }
        return length;
    }

    private static void skip(byte[] der, int[] at) {
        int length = header(der, at, der[at[0]] & 0xff);
        at[0] += length;
    }

    /** PrivateKeyInfo: version 0, the algorithm, the key as an OCTET STRING. */
    private static byte[] wrap(byte[] algorithm, byte[] key) {
        return tlv(0x30, concat(new byte[] {0x02, 0x01, 0x00}, algorithm, tlv(0x04, key)));
    }

    private static byte[] sequence(byte[]... parts) {
        return tlv(0x30, concat(parts));
    }

    private static byte[] nul() {
        return new byte[] {0x05, 0x00};
    }

    private static byte[] tlv(int tag, byte[] contents) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(tag);
        int length = contents.length;
        if (length < 0x80) {
            out.write(length);
        } else if (length < 0x100) {
            out.write(0x81);
            out.write(length);
        } else if (length < 0x10000) {
            out.write(0x82);
            out.write(length >> 8);
            out.write(length & 0xff);
        } else {
            out.write(0x83);
            out.write(length >> 16);
            out.write((length >> 8) & 0xff);
            out.write(length & 0xff);
        }
        out.writeBytes(contents);
        return out.toByteArray();
    }

    private static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] part : parts) {
            out.writeBytes(part);
        }
        return out.toByteArray();
    }
}
