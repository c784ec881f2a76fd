package dev.roundhouse.e2e.observability;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The proxy's alert rules (charts/roundhouse/files/rules/roundhouse-proxy.rules.yaml): Prometheus accepts them
 * ({@code promtool check rules}), each carries what an on-call needs, and each fires, or stays quiet, on given
 * series ({@code promtool test rules}).
 */
class AlertRulesTest {

    private static final Duration PROMTOOL_TIMEOUT = Duration.ofSeconds(60);

    @Test
    void promtoolAcceptsTheRules() throws Exception {
        Path promtool = promtool();
        ObservabilityKit.Result check = ObservabilityKit.run(
                PROMTOOL_TIMEOUT, promtool.toString(), "check", "rules", ObservabilityKit.RULES.toString());
        assertThat(check.exitCode())
                .as("promtool check rules said:\n%s", check.output())
                .isZero();
        assertThat(check.output()).contains("SUCCESS: 5 rules found");
    }

    @Test
    void everyAlertHasASeverityASummaryADescriptionAndAForDuration() {
        Map<String, JsonNode> alerts = alerts();
        assertThat(alerts)
                .containsOnlyKeys(
                        "RoundhouseNoHealthyBackend",
                        "RoundhouseCircuitBreakerOpen",
                        "RoundhouseHigh5xxRatio",
                        "RoundhouseConfigReloadsFailing",
                        "RoundhouseCertificateExpiresSoon");
        List<String> problems = new ArrayList<>();
        alerts.forEach((name, rule) -> {
            String severity = rule.path("labels").path("severity").asText();
            if (!List.of("critical", "warning", "info").contains(severity)) {
                problems.add(name + ": severity label is '" + severity + "', not critical, warning or info");
            }
            for (String annotation : List.of("summary", "description")) {
                if (rule.path("annotations").path(annotation).asText().isBlank()) {
                    problems.add(name + ": no " + annotation + " annotation");
                }
            }
            if (!rule.path("for").asText().matches("\\d+[smh]")) {
                problems.add(name + ": no 'for:' duration");
            }
        });
        assertThat(problems).isEmpty();
        // The state alerts wait before firing (a flapping breaker, a blip in the checks); the breaker one as
        // long as the issue asks (open for 5 minutes).
        assertThat(alerts.get("RoundhouseCircuitBreakerOpen").path("for").asText())
                .isEqualTo("5m");
        assertThat(alerts.get("RoundhouseNoHealthyBackend").path("for").asText())
                .isNotEqualTo("0m");
        assertThat(alerts.get("RoundhouseHigh5xxRatio").path("for").asText()).isNotEqualTo("0m");
        assertThat(alerts.get("RoundhouseNoHealthyBackend")
                        .path("labels")
                        .path("severity")
                        .asText())
                .isEqualTo("critical");
    }

    /**
     * Input series in, alerts out: each alert fires when it should, not before its {@code for:} has passed, and
     * not in the look-alike situation it must ignore. Times are minutes from the first sample, one sample a minute.
     */
    @Test
    void promtoolUnitTestsOfEveryAlert(@TempDir Path dir) throws Exception {
        Path promtool = promtool();
        Path tests = Files.writeString(
                dir.resolve("roundhouse-proxy.rules.test.yaml"),
                UNIT_TESTS.replace(
                        "RULES_FILE",
                        ObservabilityKit.RULES.toAbsolutePath().normalize().toString()));
        ObservabilityKit.Result result =
                ObservabilityKit.run(PROMTOOL_TIMEOUT, promtool.toString(), "test", "rules", tests.toString());
        assertThat(result.exitCode())
                .as("promtool test rules said:\n%s", result.output())
                .isZero();
        assertThat(result.output()).contains("SUCCESS");
        // Every alert of the rules file has a test here.
        for (String alert : alerts().keySet()) {
            assertThat(UNIT_TESTS).contains("alertname: " + alert);
        }
    }

    private static Map<String, JsonNode> alerts() {
        Map<String, JsonNode> alerts = new TreeMap<>();
        for (JsonNode group : ObservabilityKit.rules().path("groups")) {
            for (JsonNode rule : group.path("rules")) {
                if (rule.has("alert")) {
                    alerts.put(rule.path("alert").asText(), rule);
                }
            }
        }
        return alerts;
    }

    static Path promtool() {
        Path promtool = ObservabilityKit.onPath("promtool").orElse(null);
        assumeTrue(
                promtool != null,
                "promtool is not installed (Debian package prometheus; .ci/run installs it): "
                        + "skipping the promtool checks of the Prometheus rules");
        return promtool;
    }

    private static final String SHOP = "namespace=\"shop\",job=\"web\"";

    /** promtool's unit-test format; annotations are compared in full, so they are the rendered texts. */
    private static final String UNIT_TESTS = """
            rule_files:
              - RULES_FILE
            evaluation_interval: 1m
            tests:
              # Both proxies see no healthy backend from minute 2: pending at 3, firing at 4 (for: 2m).
              - name: no healthy backend on any proxy
                interval: 1m
                input_series:
                  - series: 'roundhouse_backends{SHOP,instance="10.0.0.1:9090"}'
                    values: '3x10'
                  - series: 'roundhouse_backends_healthy{SHOP,instance="10.0.0.1:9090"}'
                    values: '3 3 0x8'
                  - series: 'roundhouse_backends{SHOP,instance="10.0.0.2:9090"}'
                    values: '3x10'
                  - series: 'roundhouse_backends_healthy{SHOP,instance="10.0.0.2:9090"}'
                    values: '3 2 0x8'
                alert_rule_test:
                  - eval_time: 3m
                    alertname: RoundhouseNoHealthyBackend
                    exp_alerts: []
                  - eval_time: 4m
                    alertname: RoundhouseNoHealthyBackend
                    exp_alerts:
                      - exp_labels: {severity: critical, namespace: shop, job: web}
                        exp_annotations:
                          summary: Load balancer shop/web has no healthy backend
                          description: >-
                            Every proxy of shop/web has seen all of its backends fail their active health checks
                            for 2 minutes. The proxies are in panic mode: they send requests to every backend and
                            only the circuit breakers stop them. Check the backends and the health check path
                            (spec.healthCheck.path of the LoadBalancer).

              # One proxy still sees a healthy backend: its health checks vouch for it, no alert.
              - name: one proxy still sees a healthy backend
                interval: 1m
                input_series:
                  - series: 'roundhouse_backends{SHOP,instance="10.0.0.1:9090"}'
                    values: '3x10'
                  - series: 'roundhouse_backends_healthy{SHOP,instance="10.0.0.1:9090"}'
                    values: '0x10'
                  - series: 'roundhouse_backends{SHOP,instance="10.0.0.2:9090"}'
                    values: '3x10'
                  - series: 'roundhouse_backends_healthy{SHOP,instance="10.0.0.2:9090"}'
                    values: '1x10'
                alert_rule_test:
                  - eval_time: 10m
                    alertname: RoundhouseNoHealthyBackend
                    exp_alerts: []

              # Open from minute 2, one half_open sample at minute 4 (a failed probe) must not restart the clock:
              # pending through 6, firing at 7 (for: 5m), under steady traffic.
              - name: breaker open for five minutes under traffic
                interval: 1m
                input_series:
                  - series: 'roundhouse_requests_total{SHOP,instance="10.0.0.1:9090",backend="http://10.1.0.7:8080",method="GET",status="200"}'
                    values: '0+60x12'
                  - series: 'resilience4j_circuitbreaker_state{SHOP,instance="10.0.0.1:9090",name="http://10.1.0.7:8080",state="closed"}'
                    values: '1 1 0x11'
                  - series: 'resilience4j_circuitbreaker_state{SHOP,instance="10.0.0.1:9090",name="http://10.1.0.7:8080",state="open"}'
                    values: '0 0 1 1 0 1x8'
                  - series: 'resilience4j_circuitbreaker_state{SHOP,instance="10.0.0.1:9090",name="http://10.1.0.7:8080",state="half_open"}'
                    values: '0 0 0 0 1 0x8'
                alert_rule_test:
                  - eval_time: 6m
                    alertname: RoundhouseCircuitBreakerOpen
                    exp_alerts: []
                  - eval_time: 7m
                    alertname: RoundhouseCircuitBreakerOpen
                    exp_alerts:
                      - exp_labels: {severity: warning, namespace: shop, job: web, name: "http://10.1.0.7:8080"}
                        exp_annotations:
                          summary: Circuit breaker of http://10.1.0.7:8080 open for 5 minutes (shop/web)
                          description: >-
                            The circuit breaker of backend http://10.1.0.7:8080 in load balancer shop/web has been
                            open or half-open for 5 minutes on at least one proxy: its requests fail (connect errors,
                            timeouts, resets or 5xx answers) and it gets no traffic beyond probes. See
                            roundhouse_errors_total{backend="http://10.1.0.7:8080"} by type.

              # The same breaker with no traffic at all: it cannot leave "open" (that happens on a request), no alert.
              - name: breaker open without traffic
                interval: 1m
                input_series:
                  - series: 'roundhouse_requests_total{SHOP,instance="10.0.0.1:9090",backend="http://10.1.0.7:8080",method="GET",status="200"}'
                    values: '60x12'
                  - series: 'resilience4j_circuitbreaker_state{SHOP,instance="10.0.0.1:9090",name="http://10.1.0.7:8080",state="open"}'
                    values: '1x12'
                alert_rule_test:
                  - eval_time: 12m
                    alertname: RoundhouseCircuitBreakerOpen
                    exp_alerts: []

              # 10 of every 110 answers are 503 (9.1%) from minute 1: firing at 6 (for: 5m); 1% never fires.
              - name: five percent of 5xx
                interval: 1m
                input_series:
                  - series: 'roundhouse_requests_total{SHOP,instance="10.0.0.1:9090",backend="http://10.1.0.7:8080",method="GET",status="200"}'
                    values: '0+100x12'
                  - series: 'roundhouse_requests_total{SHOP,instance="10.0.0.1:9090",backend="none",method="GET",status="503"}'
                    values: '0+10x12'
                  - series: 'roundhouse_requests_total{namespace="shop",job="api",instance="10.0.0.3:9090",backend="http://10.1.0.8:8080",method="GET",status="200"}'
                    values: '0+99x12'
                  - series: 'roundhouse_requests_total{namespace="shop",job="api",instance="10.0.0.3:9090",backend="http://10.1.0.8:8080",method="GET",status="502"}'
                    values: '0+1x12'
                alert_rule_test:
                  - eval_time: 5m
                    alertname: RoundhouseHigh5xxRatio
                    exp_alerts: []
                  - eval_time: 6m
                    alertname: RoundhouseHigh5xxRatio
                    exp_alerts:
                      - exp_labels: {severity: warning, namespace: shop, job: web}
                        exp_annotations:
                          summary: 9.091% of the answers of shop/web are 5xx
                          description: >-
                            For 5 minutes more than 5% of the requests through load balancer shop/web were answered
                            with a 5xx status (9.091% over the last 5 minutes). roundhouse_errors_total by type tells
                            the proxy's own refusals (no_backend, circuit_open, connect, timeout, upstream_reset) from
                            the backends' own 5xx answers (upstream_5xx).

              # A document rejected at minute 3: the alert holds for the 15 minutes window, then clears.
              - name: rejected pool document
                interval: 1m
                input_series:
                  - series: 'roundhouse_config_reloads_total{SHOP,instance="10.0.0.1:9090",result="invalid"}'
                    values: '0 0 0 1x20'
                  - series: 'roundhouse_config_reloads_total{SHOP,instance="10.0.0.1:9090",result="applied"}'
                    values: '1x23'
                alert_rule_test:
                  - eval_time: 2m
                    alertname: RoundhouseConfigReloadsFailing
                    exp_alerts: []
                  - eval_time: 3m
                    alertname: RoundhouseConfigReloadsFailing
                    exp_alerts: &rejected
                      - exp_labels: {severity: warning, namespace: shop, job: web}
                        exp_annotations:
                          summary: Load balancer shop/web rejected its new pool document
                          description: >-
                            Proxies of shop/web rejected a pool document in the last 15 minutes and keep serving
                            the last good pool. The proxy log says why ("Pool document from ... rejected"); fix the
                            pool ConfigMap or POOL_FILE. roundhouse_config_info{hash} shows the document in service.
                  - eval_time: 17m
                    alertname: RoundhouseConfigReloadsFailing
                    exp_alerts: *rejected
                  - eval_time: 18m
                    alertname: RoundhouseConfigReloadsFailing
                    exp_alerts: []

              # Expiring 13 days and 22 hours after the start (1,202,400 s): firing once for: 10m has passed.
              # Another certificate 30 days out stays quiet.
              - name: a certificate close to its expiry
                interval: 1m
                input_series:
                  - series: 'roundhouse_tls_certificate_expiry_seconds{SHOP,instance="10.0.0.1:9090",certificate="shop.example"}'
                    values: '1202400x20'
                  - series: 'roundhouse_tls_certificate_expiry_seconds{SHOP,instance="10.0.0.1:9090",certificate="api.example"}'
                    values: '2592000x20'
                alert_rule_test:
                  - eval_time: 9m
                    alertname: RoundhouseCertificateExpiresSoon
                    exp_alerts: []
                  - eval_time: 10m
                    alertname: RoundhouseCertificateExpiresSoon
                    exp_alerts:
                      - exp_labels: {severity: warning, namespace: shop, job: web, certificate: shop.example}
                        exp_annotations:
                          summary: Certificate shop.example of shop/web expires within 14 days
                          description: >-
                            The certificate for shop.example that proxies of shop/web serve over HTTPS expires in
                            13d 21h 50m 0s. Renew it (cert-manager renews 30 days before by default, so it is
                            stuck: see its Certificate's status); if the files were renewed, the proxy log says
                            why it kept the old one.
            """.replace("SHOP", SHOP);
}
