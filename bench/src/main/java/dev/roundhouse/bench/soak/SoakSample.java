package dev.roundhouse.bench.soak;

/**
 * One row of the soak table: the proxy's state at {@code seconds} after the load started, and the load of the
 * interval that ended then. Memory in bytes, latency in microseconds. {@code heapUsedBytes} is the mean of probes
 * every second over the interval (heap used is a saw-tooth); {@code liveHeapBytes} is NaN except on rows
 * where the run forced a full GC (heap used right after it: what is still reachable).
 *
 * @param p99Micros        latency from when each request was due (the generator's lag included)
 * @param serviceP99Micros latency from when each request was sent
 * @param gcCount       GC pauses so far, not counting the forced ones
 * @param gcPauseMillis total pause time so far, not counting the forced ones
 * @param errorsSoFar   the generator's errors (non-2xx, socket errors, timeouts) plus the proxy's own error counter
 * @param cpuPercent    the proxy's CPU time over the interval, in % of one CPU
 * @param loadAverage   the machine's 1-minute load average (/proc/loadavg): other work on the machine shows here
 */
public record SoakSample(
        double seconds,
        double requestsPerSecond,
        long p50Micros,
        long p99Micros,
        long serviceP99Micros,
        long maxMicros,
        long requestsSoFar,
        long errorsSoFar,
        long rssBytes,
        double heapUsedBytes,
        double heapCommittedBytes,
        double oldGenUsedBytes,
        double liveHeapBytes,
        long gcCount,
        double gcPauseMillis,
        long openFds,
        long threads,
        double cpuPercent,
        double loadAverage) {}
