package dev.roundhouse.proxy.pool;

/**
 * Active health-check state of one backend: consecutive results and whether it is in rotation.
 * Survives reloads with its backend. A new backend starts healthy so that it takes traffic at once;
 * its breaker protects clients until the first checks have run.
 */
public final class HealthState {

    /** One check as the status page shows it; {@code failure} is null when it passed. */
    public record Check(java.time.Instant at, long latencyNanos, String failure) {}

    /** What {@code /status} reads, taken under the lock so its counts agree with each other. */
    public record View(
            boolean healthy, java.time.Instant since, int consecutiveSuccesses, int consecutiveFailures, Check last) {}

    private volatile boolean healthy = true;
    private int consecutiveSuccesses;
    private int consecutiveFailures;
    /** When the backend last moved into or out of rotation, or arrived. */
    private java.time.Instant since = java.time.Instant.now();

    private Check last;

    public boolean isHealthy() {
        return healthy;
    }

    /** Back to a new backend's state: healthy, no results counted. */
    public synchronized void reset() {
        if (!healthy) {
            since = java.time.Instant.now();
        }
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
        boolean changed = count(success, healthyThreshold, unhealthyThreshold);
        if (changed) {
            since = last == null ? java.time.Instant.now() : last.at();
        }
        return changed;
    }

    /** {@link #record(boolean, int, int)}, keeping the check's time, latency and failure for the status page. */
    public synchronized boolean record(Check check, int healthyThreshold, int unhealthyThreshold) {
        last = check;
        return record(check.failure() == null, healthyThreshold, unhealthyThreshold);
    }

    public synchronized View view() {
        return new View(healthy, since, consecutiveSuccesses, consecutiveFailures, last);
    }

    private boolean count(boolean success, int healthyThreshold, int unhealthyThreshold) {
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
