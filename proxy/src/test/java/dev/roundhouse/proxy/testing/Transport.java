package dev.roundhouse.proxy.testing;

import dev.roundhouse.testing.RawHttp;
import dev.roundhouse.testing.TestBackend;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * How the proxy reaches a test's backends: plain HTTP, or TLS with a certificate made at test time that the proxy
 * is told to trust ({@code BACKEND_CA_FILE}), as a user's in-cluster CA would be. Tests of behaviour that must not
 * depend on the transport run once with each ({@code @EnumSource(Transport.class)}).
 */
public enum Transport {
    HTTP,
    HTTPS;

    private static Path caFile;

    /** A backend speaking this transport. */
    public TestBackend start(String name) {
        return this == HTTP
                ? TestBackend.start(name)
                : TestBackend.startTls(name, TestTls.loopback().serverContext());
    }

    /** The URL of a backend of this transport listening on a loopback port. */
    public String url(int port) {
        return (this == HTTP ? "http" : "https") + "://127.0.0.1:" + port;
    }

    /** A misbehaving backend (see {@link ScriptedBackend}) speaking this transport. */
    public ScriptedBackend scripted(ScriptedBackend.Script script) {
        return ScriptedBackend.start(
                script, this == HTTP ? null : TestTls.loopback().serverContext());
    }

    /** A backend that records every request byte for byte (see {@link RawHttp.RecordingBackend}). */
    public RawHttp.RecordingBackend recording() {
        return RawHttp.RecordingBackend.start(
                this == HTTP ? null : TestTls.loopback().serverContext());
    }

    /** {@code env} with what the proxy needs to trust backends of this transport (nothing for plain HTTP). */
    public Map<String, String> trusting(Map<String, String> env) {
        if (this == HTTPS) {
            env.put("BACKEND_CA_FILE", caFile().toString());
        }
        return env;
    }

    private static synchronized Path caFile() {
        if (caFile == null) {
            try {
                Path dir = Files.createTempDirectory("roundhouse-ca");
                caFile = TestTls.loopback().pemFile(dir);
                caFile.toFile().deleteOnExit();
                dir.toFile().deleteOnExit();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return caFile;
    }
}
