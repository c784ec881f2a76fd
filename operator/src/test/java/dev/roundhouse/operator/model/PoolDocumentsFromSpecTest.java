package dev.roundhouse.operator.model;

import static dev.roundhouse.operator.model.TestLoadBalancers.backend;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.roundhouse.operator.api.v1alpha1.CircuitBreakerSpec;
import dev.roundhouse.operator.api.v1alpha1.HealthCheckSpec;
import dev.roundhouse.operator.api.v1alpha1.LoadBalancerSpec;
import dev.roundhouse.operator.api.v1alpha1.ServiceRefSpec;
import dev.roundhouse.operator.api.v1alpha1.TimeoutsSpec;
import dev.roundhouse.poolformat.InvalidPoolDocumentException;
import dev.roundhouse.poolformat.PoolDocument;
import dev.roundhouse.poolformat.PoolDocument.BackendEntry;
import dev.roundhouse.poolformat.PoolDocumentCodec;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class PoolDocumentsFromSpecTest {

    @Test
    void fixedBackendsWithDefaultWeightAndDefaultSections() throws Exception {
        PoolDocument doc = PoolDocuments.fromSpec(TestLoadBalancers.web().getSpec(), List.of());

        assertThat(doc.version()).as("the lowest version that says it all").isEqualTo(PoolDocument.VERSION_1);
        assertThat(doc.backends())
                .containsExactly(
                        new BackendEntry("http://10.0.0.1:8080", 1), new BackendEntry("http://10.0.0.2:8080", 3));
        assertThat(doc.healthCheck()).isEqualTo(PoolDocument.HealthCheck.DEFAULTS);
        assertThat(doc.circuitBreaker()).isEqualTo(PoolDocument.CircuitBreaker.DEFAULTS);
        assertThat(doc.timeouts()).isEqualTo(PoolDocument.Timeouts.DEFAULTS);
    }

    @Test
    void partlyFilledSectionsTakeDefaultsForTheRest() throws Exception {
        LoadBalancerSpec spec = TestLoadBalancers.web().getSpec();
        HealthCheckSpec health = new HealthCheckSpec();
        health.setPath("/healthz");
        health.setTimeout("1.5s");
        spec.setHealthCheck(health);
        CircuitBreakerSpec breaker = new CircuitBreakerSpec();
        breaker.setFailureRateThreshold(37);
        breaker.setWaitDurationInOpenState("1m30s");
        spec.setCircuitBreaker(breaker);
        TimeoutsSpec timeouts = new TimeoutsSpec();
        timeouts.setRequest("2m");
        spec.setTimeouts(timeouts);

        PoolDocument doc = PoolDocuments.fromSpec(spec, List.of());

        assertThat(doc.healthCheck())
                .isEqualTo(new PoolDocument.HealthCheck(
                        "/healthz", Duration.ofSeconds(30), Duration.ofMillis(1500), 2, 3));
        assertThat(doc.circuitBreaker())
                .isEqualTo(new PoolDocument.CircuitBreaker(37f, 20, 10, Duration.ofSeconds(90), 3));
        assertThat(doc.timeouts()).isEqualTo(new PoolDocument.Timeouts(Duration.ofSeconds(3), Duration.ofMinutes(2)));
    }

    @Test
    void consecutiveConnectFailuresOtherThanTheDefaultNeedVersion2() throws Exception {
        LoadBalancerSpec spec = TestLoadBalancers.web().getSpec();
        CircuitBreakerSpec breaker = new CircuitBreakerSpec();
        breaker.setConsecutiveConnectFailures(3);
        spec.setCircuitBreaker(breaker);
        assertThat(PoolDocuments.fromSpec(spec, List.of()).version()).isEqualTo(PoolDocument.VERSION_1);

        breaker.setConsecutiveConnectFailures(0);
        PoolDocument doc = PoolDocuments.fromSpec(spec, List.of());

        assertThat(doc.version()).isEqualTo(PoolDocument.VERSION_2);
        assertThat(doc.circuitBreaker().consecutiveConnectFailures()).isZero();
        assertThat(PoolDocumentCodec.parse(PoolDocumentCodec.write(doc))).isEqualTo(doc);
    }

    @Test
    void serviceRefTakesTheDiscoveredBackends() throws Exception {
        LoadBalancerSpec spec = new LoadBalancerSpec();
        ServiceRefSpec ref = new ServiceRefSpec();
        ref.setName("api");
        ref.setPort(80);
        spec.setServiceRef(ref);
        List<BackendEntry> discovered = List.of(new BackendEntry("http://10.1.0.7:8080", 1));

        assertThat(PoolDocuments.fromSpec(spec, discovered).backends()).isEqualTo(discovered);
        // No ready endpoint yet: an empty pool is valid (the proxies answer 503).
        assertThat(PoolDocuments.fromSpec(spec, List.of()).backends()).isEmpty();
        assertThat(PoolDocuments.fromSpec(spec, null).backends()).isEmpty();
    }

    @Test
    void durationsTheSchemaCannotCatchAreRejected() {
        LoadBalancerSpec spec = TestLoadBalancers.web().getSpec();
        HealthCheckSpec health = new HealthCheckSpec();
        health.setInterval("0s");
        spec.setHealthCheck(health);
        TimeoutsSpec timeouts = new TimeoutsSpec();
        timeouts.setRequest("2h");
        spec.setTimeouts(timeouts);

        assertThatThrownBy(() -> PoolDocuments.fromSpec(spec, List.of()))
                .isInstanceOfSatisfying(
                        InvalidPoolDocumentException.class,
                        e -> assertThat(e.problems())
                                .containsExactly(
                                        "healthCheck.interval: must be between 10ms and 1h, got 0s",
                                        "timeouts.request: must be between 10ms and 1h, got 2h"));
    }

    @Test
    void unparseableDurationsAreReportedTogetherWithOtherProblems() {
        LoadBalancerSpec spec = TestLoadBalancers.web().getSpec();
        spec.getBackends().add(backend("http://10.0.0.1:8080/", 1)); // same backend as the first
        CircuitBreakerSpec breaker = new CircuitBreakerSpec();
        breaker.setWaitDurationInOpenState("0.0000000001s"); // matches the CRD pattern
        spec.setCircuitBreaker(breaker);

        assertThatThrownBy(() -> PoolDocuments.fromSpec(spec, List.of()))
                .isInstanceOfSatisfying(
                        InvalidPoolDocumentException.class,
                        e -> assertThat(e.problems())
                                .hasSize(2)
                                .anySatisfy(p -> assertThat(p)
                                        .startsWith("circuitBreaker.waitDurationInOpenState: ")
                                        .contains("finer than a nanosecond"))
                                .anySatisfy(
                                        p -> assertThat(p).startsWith("backends[2].url: duplicate of backends[0]")));
    }

    @Test
    void renderIsTheCanonicalText() throws Exception {
        PoolDocument doc = PoolDocuments.fromSpec(TestLoadBalancers.web().getSpec(), List.of());
        String text = PoolDocuments.render(doc);

        assertThat(text).isEqualTo(PoolDocumentCodec.write(doc));
        assertThat(PoolDocumentCodec.parse(text)).isEqualTo(doc);
    }
}
