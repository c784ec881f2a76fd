package dev.roundhouse.poolformat.status;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.List;

/**
 * {@code GET /status} (docs/status.md): the live pool document, each backend's state, and the recent state changes.
 * Times are RFC 3339 UTC text, durations milliseconds; a null field is written as null unless marked otherwise.
 */
public record ProxyStatusDocument(
        int version, Pool pool, long lastChange, List<Backend> backends, List<Change> changes) {

    /** The document's format version: fields may be added within it, none changes meaning. */
    public static final int VERSION = 1;

    /** The live pool document; {@code lastRejected} only when a later one was refused. */
    public record Pool(
            int version,
            String hash,
            String source,
            String appliedAt,
            boolean panic,
            @JsonInclude(JsonInclude.Include.NON_NULL) Rejected lastRejected) {}

    public record Rejected(String at, String source, String reason) {}

    public record Backend(
            String url,
            int weight,
            String protocol,
            String state,
            boolean inRotation,
            String since,
            Health health,
            Breaker breaker,
            long inFlight,
            LastMinute lastMinute) {

        /** {@link #state} as this build knows it, or null. */
        public BackendState knownState() {
            return BackendState.of(state);
        }
    }

    public record Health(
            boolean healthy,
            String since,
            int consecutiveSuccesses,
            int consecutiveFailures,
            int healthyThreshold,
            int unhealthyThreshold,
            Check lastCheck) {}

    /** One health check; {@code reason} only when it failed. */
    public record Check(
            String at,
            boolean passed,
            double latencyMs,
            @JsonInclude(JsonInclude.Include.NON_NULL) String reason) {}

    /** {@code failureRate} in per cent, null until the breaker counted its minimum of calls. */
    public record Breaker(String state, String since, Float failureRate) {}

    /** Null figures where there were no requests to derive them from; {@code rates} oldest first. */
    public record LastMinute(
            double requestsPerSecond, Double errorRatio, Double p50Ms, Double p99Ms, List<Double> rates) {}

    /** One state change; {@code backend} and {@code from} absent for a reload. */
    public record Change(
            long seq,
            String at,
            String kind,
            @JsonInclude(JsonInclude.Include.NON_NULL) String backend,
            @JsonInclude(JsonInclude.Include.NON_NULL) String from,
            String to,
            String reason) {}
}
