package dev.roundhouse.bench.reload;

import dev.roundhouse.bench.load.HaproxySocket;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Changes HAProxy's pool without a reload, through its Runtime API: every backend is a server in the configuration
 * (those not in the first pool start {@code disabled}), and a change puts servers into or out of maintenance
 * ({@code set server <be>/<name> state ready|maint}). Servers that join are enabled before the ones that leave are
 * disabled.
 */
final class HaproxyRuntimeChanger implements PoolChanger {

    private final HaproxySocket socket;
    private final String backend;
    private Set<String> current;

    HaproxyRuntimeChanger(Path socket, String backend, List<String> initialPool) throws IOException {
        this.socket = new HaproxySocket(socket);
        this.backend = backend;
        this.current = new LinkedHashSet<>(initialPool);
        this.socket.command("show servers state " + backend); // checks the socket, and loads the classes before timing
    }

    @Override
    public void apply(List<String> pool) throws IOException {
        Set<String> next = new LinkedHashSet<>(pool);
        List<String> commands = new ArrayList<>();
        for (String s : next) {
            if (!current.contains(s)) {
                commands.add("set server " + backend + "/" + s + " state ready");
            }
        }
        for (String s : current) {
            if (!next.contains(s)) {
                commands.add("set server " + backend + "/" + s + " state maint");
            }
        }
        for (String c : commands) {
            String answer = socket.command(c).strip();
            if (!answer.isEmpty()) {
                throw new IOException("HAProxy answered '" + answer + "' to '" + c + "'");
            }
        }
        current = next;
    }

    @Override
    public String describe() {
        return "HAProxy Runtime API: set server " + backend + "/<name> state ready|maint";
    }
}
