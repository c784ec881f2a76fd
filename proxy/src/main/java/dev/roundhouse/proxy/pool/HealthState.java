package dev.roundhouse.proxy.pool;

/**
 * Active health-check state of one backend: consecutive results and whether it is in rotation.
 * Survives reloads with its backend. A new backend starts healthy so that it takes traffic at once;
 * its breaker protects clients until the first checks have run.
 */
public final class HealthState {

    private volatile boolean healthy = true;
    private int consecutiveSuccesses;
    private int consecutiveFailures;

    public boolean isHealthy() {
        return healthy;
    }

    /** Back to a new backend's state: healthy, no results counted. */
    public synchronized void reset() {
        healthy = true;
        consecutiveSuccesses = 0;
        consecutiveFailures = 0;
    }

    /**
     * Records one check result.
     *
     * @return true when this result moved the backend into or out of rotation
     */
    public synchronized boolean record(boolean success, int healthyThreshold, int unhealthyThreshold) {
        if (success) {
            consecutiveFailures = 0;
            consecutiveSuccesses++;
            if (!healthy && consecutiveSuccesses >= healthyThreshold) {
                healthy = true;
                return true;
            }
        } else {
            consecutiveSuccesses = 0;
            consecutiveFailures++;
            if (healthy && consecutiveFailures >= unhealthyThreshold) {
                healthy = false;
                return true;
            }
        }
        return false;
    }
}
