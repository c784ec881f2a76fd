package dev.roundhouse.operator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import java.util.Objects;

/** One backend as the ready proxies see it, folded: how many have it in rotation, the worst state, and since when. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class BackendHealthStatus {

    @JsonPropertyDescription("The backend's URL, as in the pool document.")
    private String url;

    @JsonPropertyDescription("Ready proxies that have it in rotation.")
    private Integer inRotation;

    @JsonPropertyDescription("Ready proxies that reported on it.")
    private Integer proxies;

    @JsonPropertyDescription(
            "The worst state among them: in-rotation, breaker-half-open, breaker-open, ejected, out-of-rotation;"
                    + " unknown before any proxy reported.")
    private String state;

    @JsonPropertyDescription("The worst circuit breaker state among them: closed, half-open or open.")
    private String breaker;

    @JsonPropertyDescription("When that state began (the latest of the proxies' times).")
    private String since;

    public BackendHealthStatus() {}

    public BackendHealthStatus(
            String url, Integer inRotation, Integer proxies, String state, String breaker, String since) {
        this.url = url;
        this.inRotation = inRotation;
        this.proxies = proxies;
        this.state = state;
        this.breaker = breaker;
        this.since = since;
    }

    public String getUrl() {
        return url;
    }

    public void setUrl(String url) {
        this.url = url;
    }

    public Integer getInRotation() {
        return inRotation;
    }

    public void setInRotation(Integer inRotation) {
        this.inRotation = inRotation;
    }

    public Integer getProxies() {
        return proxies;
    }

    public void setProxies(Integer proxies) {
        this.proxies = proxies;
    }

    public String getState() {
        return state;
    }

    public void setState(String state) {
        this.state = state;
    }

    public String getBreaker() {
        return breaker;
    }

    public void setBreaker(String breaker) {
        this.breaker = breaker;
    }

    public String getSince() {
        return since;
    }

    public void setSince(String since) {
        this.since = since;
    }

    /** Out of rotation on every proxy that reported on it, and at least one did. */
    public boolean outEverywhere() {
        return proxies != null && proxies > 0 && (inRotation == null || inRotation == 0);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof BackendHealthStatus b
                && Objects.equals(url, b.url)
                && Objects.equals(inRotation, b.inRotation)
                && Objects.equals(proxies, b.proxies)
                && Objects.equals(state, b.state)
                && Objects.equals(breaker, b.breaker)
                && Objects.equals(since, b.since);
    }

    @Override
    public int hashCode() {
        return Objects.hash(url, inRotation, proxies, state, breaker, since);
    }

    @Override
    public String toString() {
        return url + " " + inRotation + "/" + proxies + " " + state;
    }
}
