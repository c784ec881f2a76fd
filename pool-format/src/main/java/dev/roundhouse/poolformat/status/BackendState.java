package dev.roundhouse.poolformat.status;

import java.util.Locale;

/**
 * What a proxy makes of one backend, in one word, from best to worst: what {@code /status}, the status page and the
 * LoadBalancer's {@code status.backendHealth} say.
 */
public enum BackendState {
    IN_ROTATION(true),
    /** Its breaker lets a few probing requests through. */
    BREAKER_HALF_OPEN(true),
    BREAKER_OPEN(false),
    /** Its connects failed in a row: its breaker is open until a health check gets through. */
    EJECTED(false),
    /** It failed its health checks. */
    OUT_OF_ROTATION(false);

    private final boolean inRotation;
    private final String wireName;

    BackendState(boolean inRotation) {
        this.inRotation = inRotation;
        this.wireName = name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    /** Whether requests may go to it. */
    public boolean inRotation() {
        return inRotation;
    }

    /** As written: {@code out-of-rotation}. */
    public String wireName() {
        return wireName;
    }

    /** The state of {@code wireName}, or null for a name this build does not know. */
    public static BackendState of(String wireName) {
        for (BackendState s : values()) {
            if (s.wireName.equals(wireName)) {
                return s;
            }
        }
        return null;
    }

    @Override
    public String toString() {
        return wireName;
    }
}
