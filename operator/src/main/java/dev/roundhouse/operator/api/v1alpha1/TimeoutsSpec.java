package dev.roundhouse.operator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Pattern;

/** Proxy timeouts. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class TimeoutsSpec {

    @JsonPropertyDescription("Time to connect to a backend before trying the next.")
    @Default("3s")
    @Pattern("^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$")
    private String connect;

    @JsonPropertyDescription("Time a backend has to answer before the proxy answers 504.")
    @Default("60s")
    @Pattern("^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$")
    private String request;

    public String getConnect() {
        return connect;
    }

    public void setConnect(String connect) {
        this.connect = connect;
    }

    public String getRequest() {
        return request;
    }

    public void setRequest(String request) {
        this.request = request;
    }
}
