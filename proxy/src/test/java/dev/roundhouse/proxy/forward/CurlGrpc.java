package dev.roundhouse.proxy.forward;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** A gRPC call made with curl over h2c, so that a test controls every field (and curl shows the trailers). */
final class CurlGrpc {

    private CurlGrpc() {}

    static boolean available() {
        try {
            Process version = new ProcessBuilder("curl", "--version")
                    .redirectErrorStream(true)
                    .start();
            String text = new String(version.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            return version.waitFor(10, TimeUnit.SECONDS) && text.contains("HTTP2");
        } catch (Exception e) {
            return false;
        }
    }

    /**
     * Calls {@code path} on 127.0.0.1:{@code port} with one text message and the extra fields given as name, value
     * pairs; returns what curl prints: the head, the body's bytes as text, and the trailers.
     */
    static String call(int port, String path, String message, String... fields) throws Exception {
        byte[] text = message.getBytes(StandardCharsets.UTF_8);
        ByteArrayOutputStream frame = new ByteArrayOutputStream();
        frame.write(0); // not compressed
        frame.write(new byte[] {
            (byte) (text.length >>> 24), (byte) (text.length >>> 16), (byte) (text.length >>> 8), (byte) text.length
        });
        frame.write(text);
        Path body = Files.createTempFile("grpc-call", ".bin");
        try {
            Files.write(body, frame.toByteArray());
            List<String> command = new ArrayList<>(List.of(
                    "curl",
                    "-sS",
                    "-i",
                    "--http2-prior-knowledge",
                    "-m",
                    "20",
                    "-H",
                    "content-type: application/grpc",
                    "-H",
                    "te: trailers"));
            for (int i = 0; i < fields.length; i += 2) {
                command.add("-H");
                command.add(fields[i] + ": " + fields[i + 1]);
            }
            command.addAll(List.of("--data-binary", "@" + body, "http://127.0.0.1:" + port + path));
            Process curl = new ProcessBuilder(command).redirectErrorStream(true).start();
            String out = new String(curl.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
            curl.waitFor(30, TimeUnit.SECONDS);
            return out;
        } finally {
            Files.deleteIfExists(body);
        }
    }
}
