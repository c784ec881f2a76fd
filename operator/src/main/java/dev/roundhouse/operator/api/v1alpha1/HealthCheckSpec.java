package dev.roundhouse.operator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Size;

/** Active health checks every proxy runs against every backend. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class HealthCheckSpec {

    @JsonPropertyDescription("Path of the GET check; a 2xx or 3xx answer passes.")
    @Default("/")
    @Pattern("^/\\S*$")
    private String path;

    @JsonPropertyDescription("Time between checks, e.g. 30s.")
    @Default("30s")
    @Pattern("^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$")
    private String interval;

    @JsonPropertyDescription("Time a check may take.")
    @Default("2s")
    @Pattern("^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$")
    private String timeout;

    @JsonPropertyDescription("Passing checks in a row that bring a backend back.")
    @Default("2")
    @Min(1)
    @Max(100)
    private Integer healthyThreshold;

    @JsonPropertyDescription("Failing checks in a row that take a backend out.")
    @Default("3")
    @Min(1)
    @Max(100)
    private Integer unhealthyThreshold;

    @JsonPropertyDescription("Check HTTP/2 backends (protocol h2c or h2) by the standard gRPC health protocol,"
            + " grpc.health.v1.Health/Check, for this service name (\"\" for the server as a whole) instead"
            + " of a GET of path; SERVING passes. HTTP/1.1 backends keep the GET.")
    @Pattern("^([A-Za-z_][A-Za-z0-9_]*(\\.[A-Za-z_][A-Za-z0-9_]*)*)?$")
    @Size(max = 256)
    private String grpcService;

    public String getPath() {
        return path;
    }

    public void setPath(String path) {
        this.path = path;
    }

    public String getInterval() {
        return interval;
    }

    public void setInterval(String interval) {
        this.interval = interval;
    }

    public String getTimeout() {
        return timeout;
    }

    public void setTimeout(String timeout) {
        this.timeout = timeout;
    }

    public Integer getHealthyThreshold() {
        return healthyThreshold;
    }

    public void setHealthyThreshold(Integer healthyThreshold) {
        this.healthyThreshold = healthyThreshold;
    }

    public Integer getUnhealthyThreshold() {
        return unhealthyThreshold;
    }

    public void setUnhealthyThreshold(Integer unhealthyThreshold) {
        this.unhealthyThreshold = unhealthyThreshold;
    }

    public String getGrpcService() {
        return grpcService;
    }

    public void setGrpcService(String grpcService) {
        this.grpcService = grpcService;
    }
}
