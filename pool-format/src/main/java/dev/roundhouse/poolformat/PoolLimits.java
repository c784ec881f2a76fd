package dev.roundhouse.poolformat;

/**
 * The allowed ranges of the pool document, all inclusive unless noted.
 * Compile-time constants, so the operator's CRD annotations can refer to the same numbers.
 */
public final class PoolLimits {

    public static final int MAX_BACKENDS = 1000;
    public static final int MIN_WEIGHT = 1;
    public static final int MAX_WEIGHT = 1000;

    public static final String MIN_DURATION = "10ms";
    public static final String MAX_DURATION = "1h";

    public static final int MAX_HEALTH_PATH_LENGTH = 1024;
    public static final int MIN_THRESHOLD = 1;
    public static final int MAX_THRESHOLD = 100;

    /** Exclusive lower bound. */
    public static final float MIN_FAILURE_RATE_EXCLUSIVE = 0f;

    public static final float MAX_FAILURE_RATE = 100f;
    public static final int MAX_SLIDING_WINDOW_SIZE = 10_000;
    public static final int MAX_MINIMUM_NUMBER_OF_CALLS = 10_000;
    public static final int MAX_PERMITTED_CALLS_IN_HALF_OPEN_STATE = 1000;
    /** 0 turns it off. */
    public static final int MIN_CONSECUTIVE_CONNECT_FAILURES = 0;

    public static final int MAX_CONSECUTIVE_CONNECT_FAILURES = 1000;

    /**
     * Characters of {@code backendTLS.caBundle}: room for a few hundred CA certificates (a full public bundle
     * is about 220,000), well inside the 1 MiB a ConfigMap holds with a full pool beside it.
     */
    public static final int MAX_CA_BUNDLE_LENGTH = 256 * 1024;
    /** {@code backendTLS.serverName}: a DNS name's limit. */
    public static final int MAX_SERVER_NAME_LENGTH = 253;

    private PoolLimits() {}
}
