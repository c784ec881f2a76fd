package dev.roundhouse.e2e.local;

import dev.roundhouse.proxy.RoundhouseProxy;
import java.io.IOException;

/**
 * The main class of a local proxy process: the real {@link RoundhouseProxy#main}, plus one thing a container
 * runtime gives for free: the proxy ends when the local runner that started it dies, even by SIGKILL. Its
 * standard input is a pipe from the runner, which nobody writes; end of input means the runner is gone, and the
 * proxy shuts down as on SIGTERM (draining first).
 */
public final class ProxyLauncher {

    private ProxyLauncher() {}

    public static void main(String[] args) throws Exception {
        Thread watchdog = new Thread(
                () -> {
                    try {
                        while (System.in.read() != -1) {
                            // nothing is ever written; wait for the end
                        }
                    } catch (IOException e) {
                        // the pipe broke: the runner is gone just the same
                    }
                    System.exit(0);
                },
                "parent-watchdog");
        watchdog.setDaemon(true);
        watchdog.start();
        RoundhouseProxy.main(args);
    }
}
