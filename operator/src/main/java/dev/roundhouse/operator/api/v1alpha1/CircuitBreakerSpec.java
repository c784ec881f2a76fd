package dev.roundhouse.operator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Size;
import java.util.List;

/** Per-backend circuit breaker (Resilience4j). */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class CircuitBreakerSpec {

    @JsonPropertyDescription("Failure rate in percent that opens the breaker.")
    @Default("50")
    @Min(1)
    @Max(100)
    private Integer failureRateThreshold;

    @JsonPropertyDescription("Calls the failure rate is computed over.")
    @Default("20")
    @Min(1)
    @Max(10000)
    private Integer slidingWindowSize;

    @JsonPropertyDescription("Calls before the breaker can judge.")
    @Default("10")
    @Min(1)
    @Max(10000)
    private Integer minimumNumberOfCalls;

    @JsonPropertyDescription("Time open before probing (half-open).")
    @Default("10s")
    @Pattern("^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$")
    private String waitDurationInOpenState;

    @JsonPropertyDescription("Probe calls in half-open state.")
    @Default("3")
    @Min(1)
    @Max(1000)
    private Integer permittedNumberOfCallsInHalfOpenState;

    @JsonPropertyDescription("Connects in a row that fail (refused, timed out) before the backend's breaker opens at "
            + "once, whatever the failure rate; it closes again when a health check or a half-open probe gets "
            + "through. 0 turns this off.")
    @Default("3")
    @Min(0)
    @Max(1000)
    private Integer consecutiveConnectFailures;

    // No schema default: absent is the pool document's default list, which then stays one definition.
    @JsonPropertyDescription("gRPC statuses that count as the backend failing, by name; when absent UNKNOWN,"
            + " DEADLINE_EXCEEDED, INTERNAL and UNAVAILABLE; an empty list counts none.")
    @Size(max = 17)
    private List<
                    @Pattern("^(OK|CANCELLED|UNKNOWN|INVALID_ARGUMENT|DEADLINE_EXCEEDED|NOT_FOUND|ALREADY_EXISTS"
                            + "|PERMISSION_DENIED|RESOURCE_EXHAUSTED|FAILED_PRECONDITION|ABORTED|OUT_OF_RANGE"
                            + "|UNIMPLEMENTED|INTERNAL|UNAVAILABLE|DATA_LOSS|UNAUTHENTICATED)$")
                    String>
            grpcFailureStatuses;

    public Integer getFailureRateThreshold() {
        return failureRateThreshold;
    }

    public void setFailureRateThreshold(Integer failureRateThreshold) {
        this.failureRateThreshold = failureRateThreshold;
    }

    public Integer getSlidingWindowSize() {
        return slidingWindowSize;
    }

    public void setSlidingWindowSize(Integer slidingWindowSize) {
        this.slidingWindowSize = slidingWindowSize;
    }

    public Integer getMinimumNumberOfCalls() {
        return minimumNumberOfCalls;
    }

    public void setMinimumNumberOfCalls(Integer minimumNumberOfCalls) {
        this.minimumNumberOfCalls = minimumNumberOfCalls;
    }

    public String getWaitDurationInOpenState() {
        return waitDurationInOpenState;
    }

    public void setWaitDurationInOpenState(String waitDurationInOpenState) {
        this.waitDurationInOpenState = waitDurationInOpenState;
    }

    public Integer getPermittedNumberOfCallsInHalfOpenState() {
        return permittedNumberOfCallsInHalfOpenState;
    }

    public void setPermittedNumberOfCallsInHalfOpenState(Integer permittedNumberOfCallsInHalfOpenState) {
        this.permittedNumberOfCallsInHalfOpenState = permittedNumberOfCallsInHalfOpenState;
    }

    public List<String> getGrpcFailureStatuses() {
        return grpcFailureStatuses;
    }

    public void setGrpcFailureStatuses(List<String> grpcFailureStatuses) {
        this.grpcFailureStatuses = grpcFailureStatuses;
    }

    public Integer getConsecutiveConnectFailures() {
        return consecutiveConnectFailures;
    }

    public void setConsecutiveConnectFailures(Integer consecutiveConnectFailures) {
        this.consecutiveConnectFailures = consecutiveConnectFailures;
    }
}
