package dev.roundhouse.proxy.tls;

import dev.roundhouse.poolformat.tls.InvalidCertificateException;
import dev.roundhouse.poolformat.tls.ServerCertificate;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.MessageDigest;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * TLS for clients: the certificates the proxy serves, read from PEM files and read again when they change (kubelet
 * swaps a mounted Secret's files through a symlink; cert-manager renews into the same Secret), with the context the
 * HTTPS listener hands every new connection. A new set that cannot be served (unreadable, key not matching, expired)
 * keeps the one in force; it is logged once and counted once, when it has stayed that way for two looks, so a pair
 * caught half written is not reported.
 */
public final class TlsTermination implements AutoCloseable {

    /** Protocols served: TLS 1.2 and 1.3 only. */
    public static final List<String> PROTOCOLS = List.of("TLSv1.3", "TLSv1.2");

    /**
     * Cipher suites served, strongest first: TLS 1.3's three, then TLS 1.2 with forward secrecy and AEAD only (the
     * "intermediate" profile most load balancers default to). Those the JDK lacks are left out.
     */
    /** What the HTTPS listener offers in ALPN, in its order of preference. */
    public static final List<String> APPLICATION_PROTOCOLS = List.of("h2", "http/1.1");

    public static final List<String> CIPHER_SUITES = List.of(
            "TLS_AES_128_GCM_SHA256",
            "TLS_AES_256_GCM_SHA384",
            "TLS_CHACHA20_POLY1305_SHA256",
            "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
            "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
            "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
            "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
            "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
            "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256");

    /** How often the files are looked at: a change is served well within a second. */
    static final long POLL_MILLIS = 250;

    /** What the proxy's meters hear of. */
    public interface Listener {
        /** A changed set of certificates was read: applied, or not (the last good set stays). */
        void reloaded(boolean applied);

        /** The set in force now (at start, and after each applied reload). */
        void serving(List<ServerCertificate> certificates);
    }

    private static final Logger log = LogManager.getLogger(TlsTermination.class);

    private final List<Path> certFiles;
    private final List<Path> keyFiles;
    private final Clock clock;
    private final Listener listener;
    private final SniKeyManager keys;
    private final SSLContext context;
    private final String[] cipherSuites;
    private final boolean clientCertificates;
    private final Engine engine;
    private ScheduledExecutorService poller;
    /** Digest of the files as last applied or reported. */
    private byte[] seen;
    /** Digest of an invalid set seen once and not yet reported. */
    private byte[] pending;

    /**
     * Who does the TLS: the JDK's own {@code SSLEngine}, or BoringSSL's behind the same interface, which does a full
     * handshake in half the CPU (docs/benchmarks.md); {@code AUTO} takes BoringSSL where its native library loads.
     */
    public enum Engine {
        AUTO,
        JDK,
        OPENSSL
    }

    private TlsTermination(
            List<Path> certFiles, List<Path> keyFiles, Path clientCaFile, Engine engine, Clock clock, Listener listener)
            throws InvalidCertificateException {
        this.certFiles = List.copyOf(certFiles);
        this.keyFiles = List.copyOf(keyFiles);
        this.clock = clock;
        this.listener = listener;
        Loaded first = load();
        this.seen = first.digest();
        this.keys = new SniKeyManager(first.certificates());
        this.clientCertificates = clientCaFile != null;
        TrustManagerFactory clientTrust = clientTrust(clientCaFile);
        if (engine == Engine.AUTO) {
            engine = OpenSslEngines.available() ? Engine.OPENSSL : Engine.JDK;
            if (engine == Engine.JDK) {
                log.info("TLS by the JDK: BoringSSL does not load here ({})", OpenSslEngines.unavailableBecause());
            }
        }
        this.engine = engine;
        try {
            if (engine == Engine.OPENSSL) {
                if (!OpenSslEngines.available()) {
                    throw new InvalidCertificateException(
                            "TLS_ENGINE openssl: BoringSSL does not load on this machine ("
                                    + OpenSslEngines.unavailableBecause() + "); use TLS_ENGINE=jdk");
                }
                context = OpenSslEngines.context(keys, clientTrust, PROTOCOLS, CIPHER_SUITES);
            } else {
                context = SSLContext.getInstance("TLS");
                context.init(
                        new KeyManager[] {keys}, clientTrust == null ? null : clientTrust.getTrustManagers(), null);
            }
        } catch (GeneralSecurityException | javax.net.ssl.SSLException e) {
            throw new InvalidCertificateException(
                    "TLS_CERT_FILE, TLS_KEY_FILE: cannot build the TLS context: " + e.getMessage());
        }
        Set<String> supported = Set.of(context.createSSLEngine().getSupportedCipherSuites());
        cipherSuites = CIPHER_SUITES.stream().filter(supported::contains).toArray(String[]::new);
        listener.serving(first.certificates());
    }

    /**
     * Reads the certificates; they are read again whenever the files change once {@link #watch()} is called.
     *
     * @param certFiles PEM certificate chains, each with the key file at the same place in {@code keyFiles}; or
     *     directories (with {@code keyFiles} empty), whose pairs are found in them ({@link #pairs})
     * @param clientCaFile CA certificates that client certificates must chain to; null: none asked for
     * @throws InvalidCertificateException when no certificate can be served
     */
    public static TlsTermination start(
            List<Path> certFiles, List<Path> keyFiles, Path clientCaFile, Engine engine, Clock clock, Listener listener)
            throws InvalidCertificateException {
        return new TlsTermination(certFiles, keyFiles, clientCaFile, engine, clock, listener);
    }

    /** With the engine {@link Engine#AUTO} picks. */
    public static TlsTermination start(
            List<Path> certFiles, List<Path> keyFiles, Path clientCaFile, Clock clock, Listener listener)
            throws InvalidCertificateException {
        return start(certFiles, keyFiles, clientCaFile, Engine.AUTO, clock, listener);
    }

    /** The engine in use: {@link Engine#JDK} or {@link Engine#OPENSSL}. */
    public Engine engine() {
        return engine;
    }

    /** Reads the files as {@link #start} would, for a check before anything starts. */
    public static void check(List<Path> certFiles, List<Path> keyFiles, Path clientCaFile, Engine engine)
            throws InvalidCertificateException {
        new TlsTermination(certFiles, keyFiles, clientCaFile, engine, Clock.systemUTC(), NO_LISTENER);
    }

    public static void check(List<Path> certFiles, List<Path> keyFiles, Path clientCaFile)
            throws InvalidCertificateException {
        check(certFiles, keyFiles, clientCaFile, Engine.AUTO);
    }

    private static final Listener NO_LISTENER = new Listener() {
        @Override
        public void reloaded(boolean applied) {}

        @Override
        public void serving(List<ServerCertificate> certificates) {}
    };

    /** Starts looking at the files for changes. */
    public synchronized void watch() {
        if (poller != null) {
            return;
        }
        poller = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "tls-reload");
            t.setDaemon(true);
            return t;
        });
        poller.scheduleWithFixedDelay(this::look, POLL_MILLIS, POLL_MILLIS, TimeUnit.MILLISECONDS);
    }

    /** The context for the HTTPS listener: its key manager serves whatever set is in force. */
    public SSLContext context() {
        return context;
    }

    /** The cipher suites to enable, those of {@link #CIPHER_SUITES} the JDK has. */
    public List<String> cipherSuites() {
        return List.of(cipherSuites);
    }

    /** Whether the listener asks clients for certificates. */
    public boolean requiresClientCertificates() {
        return clientCertificates;
    }

    public List<ServerCertificate> certificates() {
        return keys.certificates();
    }

    /** One look at the files: applies a changed set that can be served, reports one that cannot (once). */
    synchronized void look() {
        Snapshot files;
        byte[] digest;
        try {
            files = snapshot();
            digest = files.digest();
        } catch (InvalidCertificateException e) {
            digest = e.getMessage().getBytes(java.nio.charset.StandardCharsets.UTF_8);
            if (Arrays.equals(digest, seen)) {
                return;
            }
            invalid(digest, e.getMessage());
            return;
        }
        if (Arrays.equals(digest, seen)) {
            pending = null;
            return;
        }
        try {
            Loaded loaded = load(files);
            keys.replace(loaded.certificates());
            seen = loaded.digest();
            pending = null;
            listener.reloaded(true);
            listener.serving(loaded.certificates());
            log.info("TLS certificates reloaded: {}", describe(loaded.certificates()));
        } catch (InvalidCertificateException e) {
            invalid(digest, e.getMessage());
        } catch (RuntimeException e) {
            invalid(digest, e.toString());
        }
    }

    /** A set that cannot be served: reported when seen the same on two looks in a row. */
    private void invalid(byte[] digest, String why) {
        if (!Arrays.equals(digest, pending)) {
            pending = digest; // maybe caught half written: look again
            return;
        }
        pending = null;
        seen = digest;
        listener.reloaded(false);
        log.warn("TLS certificates not reloaded, still serving the last good ones: {}", why);
    }

    private record Loaded(List<ServerCertificate> certificates, byte[] digest) {}

    private Loaded load() throws InvalidCertificateException {
        return load(snapshot());
    }

    /** Parses the bytes the snapshot's digest was taken of: each file is read once per look. */
    private Loaded load(Snapshot files) throws InvalidCertificateException {
        List<ServerCertificate> certificates = new ArrayList<>();
        for (FileBytes[] pair : files.pairs()) {
            FileBytes cert = pair[0];
            FileBytes key = pair[1];
            // Named by variable and file: a problem at start is a settings problem, and its line says which.
            certificates.add(ServerCertificate.parse(
                    cert.bytes(),
                    "TLS_CERT_FILE " + cert.path(),
                    key.bytes(),
                    "TLS_KEY_FILE " + key.path(),
                    clock.instant()));
        }
        return new Loaded(List.copyOf(certificates), files.digest());
    }

    /** A certificate or key file as one look read it: its bytes, or why it could not be read. */
    private record FileBytes(Path path, byte[] read, InvalidCertificateException unreadable) {
        static FileBytes of(Path path, String variable) {
            try {
                return new FileBytes(path, ServerCertificate.readFile(path, variable), null);
            } catch (InvalidCertificateException e) {
                return new FileBytes(path, null, e);
            }
        }

        byte[] bytes() throws InvalidCertificateException {
            if (unreadable != null) {
                throw unreadable;
            }
            return read;
        }
    }

    /** The pairs as listed and read in one look, and a digest of them, to tell a change from none without parsing. */
    private record Snapshot(List<FileBytes[]> pairs, byte[] digest) {}

    private Snapshot snapshot() throws InvalidCertificateException {
        List<FileBytes[]> read = new ArrayList<>();
        for (Path[] pair : pairs()) {
            read.add(new FileBytes[] {FileBytes.of(pair[0], "TLS_CERT_FILE"), FileBytes.of(pair[1], "TLS_KEY_FILE")});
        }
        return new Snapshot(read, digest(read));
    }

    /**
     * The certificate and key files, in order (the first is the default). A directory holds pairs as Kubernetes
     * mounts TLS Secrets and as people keep them: {@code tls.crt} and {@code tls.key} in it or in its
     * subdirectories (one per Secret), or {@code NAME.crt} beside {@code NAME.key}; in name order.
     */
    List<Path[]> pairs() throws InvalidCertificateException {
        List<Path[]> pairs = new ArrayList<>();
        for (int i = 0; i < certFiles.size(); i++) {
            Path cert = certFiles.get(i);
            if (Files.isDirectory(cert)) {
                pairs.addAll(pairsIn(cert));
            } else {
                pairs.add(new Path[] {cert, keyFiles.get(i)});
            }
        }
        if (pairs.isEmpty()) {
            throw new InvalidCertificateException("TLS_CERT_FILE " + certFiles
                    + ": no certificate and key in it (tls.crt and tls.key, or " + "NAME.crt and NAME.key)");
        }
        return pairs;
    }

    private static List<Path[]> pairsIn(Path directory) throws InvalidCertificateException {
        TreeMap<String, Path[]> found = new TreeMap<>();
        addSecret(directory, "", found);
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(directory)) {
            for (Path entry : entries) {
                String name = entry.getFileName().toString();
                if (name.startsWith(".")) {
                    continue; // kubelet's ..data and timestamped directories: reached through the symlinks
                }
                if (Files.isDirectory(entry)) {
                    addSecret(entry, name, found);
                } else if (name.endsWith(".crt") && !name.equals("tls.crt")) {
                    Path key = entry.resolveSibling(name.substring(0, name.length() - 4) + ".key");
                    if (Files.isRegularFile(key)) {
                        found.put(name, new Path[] {entry, key});
                    }
                }
            }
        } catch (IOException e) {
            throw new InvalidCertificateException("TLS_CERT_FILE " + directory + ": cannot be listed ("
                    + e.getClass().getSimpleName() + ")");
        }
        return new ArrayList<>(found.values());
    }

    private static void addSecret(Path directory, String name, TreeMap<String, Path[]> found) {
        Path cert = directory.resolve("tls.crt");
        Path key = directory.resolve("tls.key");
        if (Files.isRegularFile(cert) && Files.isRegularFile(key)) {
            found.put(name, new Path[] {cert, key});
        }
    }

    /** What the files held when read, to tell a change from none without parsing. */
    private static byte[] digest(List<FileBytes[]> pairs) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            for (FileBytes[] pair : pairs) {
                for (FileBytes file : pair) {
                    sha.update(file.path().toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
                    if (file.read() != null) {
                        sha.update(file.read());
                    } else {
                        sha.update((byte) 0); // unreadable now: parsing will say so
                    }
                }
            }
            return sha.digest();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("SHA-256 is in every JDK", e);
        }
    }

    private static TrustManagerFactory clientTrust(Path caFile) throws InvalidCertificateException {
        if (caFile == null) {
            return null;
        }
        try {
            KeyStore anchors = BackendTrust.anchors(Files.readAllBytes(caFile));
            if (anchors.size() == 0) {
                throw new InvalidCertificateException("TLS_CLIENT_CA_FILE " + caFile + ": no PEM certificate in it");
            }
            TrustManagerFactory factory = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            factory.init(anchors);
            return factory;
        } catch (IOException e) {
            throw new InvalidCertificateException("TLS_CLIENT_CA_FILE " + caFile + ": cannot be read ("
                    + e.getClass().getSimpleName() + ")");
        } catch (GeneralSecurityException e) {
            throw new InvalidCertificateException("TLS_CLIENT_CA_FILE " + caFile + ": " + e.getMessage());
        }
    }

    static String describe(List<ServerCertificate> certificates) {
        List<String> parts = new ArrayList<>();
        for (ServerCertificate c : certificates) {
            parts.add(c.name() + " (" + c.keyType() + ", until " + c.notAfter() + ")");
        }
        return String.join(", ", parts);
    }

    @Override
    public synchronized void close() {
        if (poller != null) {
            poller.shutdownNow();
            poller = null;
        }
    }
}
