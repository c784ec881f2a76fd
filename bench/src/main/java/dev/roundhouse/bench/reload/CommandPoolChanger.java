package dev.roundhouse.bench.reload;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs a shell command for each change, {@code {pool}} replaced by the new pool's names joined with commas
 * (e.g. "b1,b2,b3"): how nginx and HAProxy are given a new configuration (rewrite it, then reload).
 */
final class CommandPoolChanger implements PoolChanger {

    private final String template;

    CommandPoolChanger(String template) {
        if (!template.contains("{pool}")) {
            throw new IllegalArgumentException("--command must contain {pool}");
        }
        this.template = template;
    }

    @Override
    public void apply(List<String> pool) throws Exception {
        String command = template.replace("{pool}", String.join(",", pool));
        Process p = new ProcessBuilder("sh", "-c", command)
                .redirectErrorStream(true)
                .start();
        p.getOutputStream().close();
        byte[] output = p.getInputStream().readAllBytes();
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException("command did not finish in 30 s: " + command);
        }
        if (p.exitValue() != 0) {
            throw new IOException("command exited with " + p.exitValue() + ": " + command + ": "
                    + new String(output, StandardCharsets.UTF_8).strip());
        }
    }

    @Override
    public String describe() {
        return "command: " + template;
    }
}
