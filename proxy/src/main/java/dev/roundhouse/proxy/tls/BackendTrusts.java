package dev.roundhouse.proxy.tls;

import dev.roundhouse.poolformat.PoolDocument.BackendTls;

/**
 * The proxy's one {@link BackendTrust} for the applied {@code backendTLS} settings, shared by every I/O thread and
 * the health checker: a CA bundle is parsed once per change of the settings, not once for each of them.
 */
public final class BackendTrusts {

    private BackendTrust current; // guarded by this

    /** The trust for {@code settings}, built when they differ from the last ones asked for. */
    public synchronized BackendTrust of(BackendTls settings) {
        if (current == null || !current.settings().equals(settings)) {
            current = BackendTrust.of(settings);
        }
        return current;
    }
}
