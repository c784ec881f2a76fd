package dev.roundhouse.e2e.docs;

import static org.assertj.core.api.Assertions.assertThat;

import dev.roundhouse.e2e.local.LocalCluster;
import dev.roundhouse.e2e.testing.Cluster;
import dev.roundhouse.e2e.testing.SharedCluster;
import dev.roundhouse.operator.api.v1alpha1.LoadBalancer;
import dev.roundhouse.proxy.RoundhouseProxy;
import dev.roundhouse.proxy.breaker.UpstreamFailure;
import dev.roundhouse.proxy.config.ProxySettings;
import dev.roundhouse.proxy.metrics.MetricNames;
import io.micrometer.core.instrument.Meter;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * docs/metrics.md against what the code publishes: every meter named in {@link MetricNames}, under the
 * Prometheus name the proxy's registry gives it, with its type and labels; every metric family a running proxy
 * and a running operator expose; and the label values the proxy uses.
 */
@ExtendWith(SharedCluster.class)
class MetricsReferenceTest {

    static final String DOC = "docs/metrics.md";
    /** A backend nobody listens on: the proxy starts with it and publishes its breaker's meters. */
    private static final String BACKEND = "http://127.0.0.1:1";

    private static RoundhouseProxy proxy;

    @BeforeAll
    static void startProxy() throws Exception {
        proxy = RoundhouseProxy.start(ProxySettings.fromEnvironment(
                Map.of("PORT", "0", "METRICS_PORT", "0", "BIND_ADDRESS", "127.0.0.1", "BACKENDS", BACKEND)));
        // One of everything that only appears once it happens.
        proxy.metrics().request("GET", 200, BACKEND, 1_000_000);
        proxy.metrics().error(UpstreamFailure.CONNECT.label(), BACKEND);
        proxy.metrics().grpcCall(BACKEND, 14); // GrpcTest makes real calls

        // What a proxy with HTTPS on publishes (HttpsTest serves real certificates).
        proxy.metrics().tlsEnabled();
        proxy.metrics().tlsCertificates(Map.of("shop.example", java.time.Instant.parse("2027-01-01T00:00:00Z")));
    }

    @AfterAll
    static void stopProxy() {
        if (proxy != null) {
            proxy.close();
        }
    }

    /** Prometheus metric families of an exposition, by name, with their type ({@code # TYPE name type}). */
    static Map<String, String> families(String exposition) {
        Map<String, String> families = new TreeMap<>();
        exposition.lines().filter(l -> l.startsWith("# TYPE ")).forEach(l -> {
            String[] parts = l.split(" ");
            families.put(parts[2], parts[3]);
        });
        return families;
    }

    /** The meter names of MetricNames: its String constants whose value is a dotted roundhouse name. */
    static Map<String, String> meterNameConstants() throws IllegalAccessException {
        Map<String, String> names = new TreeMap<>();
        for (Field field : MetricNames.class.getDeclaredFields()) {
            if (Modifier.isStatic(field.getModifiers())
                    && field.getType() == String.class
                    && ((String) field.get(null)).startsWith("roundhouse.")) {
                names.put(field.getName(), (String) field.get(null));
            }
        }
        return names;
    }

    /** The Prometheus name of a meter: dots to underscores, the unit of a timer, _total for a counter. */
    /** The label names on the samples of {@code family} in an exposition. */
    static Set<String> sampleLabels(String exposition, String family) {
        Set<String> labels = new TreeSet<>();
        Pattern label = Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)=\"");
        exposition.lines().filter(l -> l.startsWith(family + "{")).forEach(l -> {
            Matcher m = label.matcher(l.substring(family.length() + 1, l.indexOf('}')));
            while (m.find()) {
                labels.add(m.group(1));
            }
        });
        return labels;
    }

    static String prometheusName(Meter meter) {
        String base = meter.getId().getName().replace('.', '_');
        return switch (meter.getId().getType()) {
            case COUNTER -> base + "_total";
            case TIMER, LONG_TASK_TIMER -> base + "_seconds";
            default ->
                meter.getId().getBaseUnit() == null
                        ? base
                        : base + "_" + meter.getId().getBaseUnit();
        };
    }

    @Test
    void everyMeterOfMetricNamesIsDocumentedWithItsTypeAndLabels() throws Exception {
        String doc = Docs.read(DOC);
        String scrape = proxy.metrics().scrape();
        Map<String, String> families = families(scrape);
        Map<String, String> constants = meterNameConstants();
        assertThat(constants)
                .as("meter names in MetricNames")
                .containsKeys("REQUESTS", "REQUEST_DURATION", "CONFIG_INFO");
        List<String> problems = new ArrayList<>();
        for (Map.Entry<String, String> constant : constants.entrySet()) {
            Collection<Meter> meters =
                    proxy.metrics().registry().find(constant.getValue()).meters();
            String name;
            TreeSet<String> labels = new TreeSet<>();
            if (!meters.isEmpty()) {
                name = prometheusName(meters.iterator().next());
                meters.forEach(m -> m.getId().getTags().forEach(t -> labels.add(t.getKey())));
            } else if (families.containsKey(constant.getValue().replace('.', '_'))) {
                // published by a Prometheus collector of ours, not a Micrometer meter (roundhouse_config_info)
                name = constant.getValue().replace('.', '_');
                labels.addAll(sampleLabels(scrape, name));
            } else {
                problems.add("MetricNames." + constant.getKey() + " (" + constant.getValue()
                        + ") has no meter or family " + "in a running proxy: make this test produce one");
                continue;
            }
            String type = families.get(name);
            if (type == null) {
                problems.add(constant.getValue() + ": expected family " + name + " in the scrape, have "
                        + families.keySet());
                continue;
            }
            Optional<String> row = Docs.tableRow(doc, name);
            if (row.isEmpty()) {
                problems.add(constant.getValue() + ": no row | `" + name + "` | in " + DOC);
                continue;
            }
            if (!row.get().contains("| " + type + " |")) {
                problems.add(name + ": its row does not give its type " + type + ": " + row.get());
            }
            for (String label : labels) {
                if (!row.get().contains("`" + label + "`")) {
                    problems.add(name + ": its row does not name its label " + label + ": " + row.get());
                }
            }
        }
        assertThat(problems).isEmpty();
    }

    @Test
    void everyFamilyTheProxyExposesIsDocumented() {
        assertThat(undocumented(proxy.metrics().scrape()))
                .as("proxy metric families missing from %s", DOC)
                .isEmpty();
    }

    @Test
    void everyLabelNameAndValueOfTheProxyIsDocumented() throws Exception {
        String doc = Docs.read(DOC);
        List<String> values = new ArrayList<>();
        for (Field field : MetricNames.class.getDeclaredFields()) {
            if (Modifier.isStatic(field.getModifiers())
                    && field.getType() == String.class
                    && !((String) field.get(null)).startsWith("roundhouse.")) {
                values.add((String) field.get(null));
            }
        }
        for (UpstreamFailure failure : UpstreamFailure.values()) {
            values.add(failure.label());
        }
        assertThat(values).contains("method", "none", "circuit_open", "invalid");
        assertThat(values)
                .allSatisfy(v -> assertThat(doc).as("%s names `%s`", DOC, v).contains("`" + v + "`"));
    }

    @Test
    void everyFamilyTheOperatorExposesIsDocumented(LocalCluster local) throws Exception {
        Cluster cluster = new Cluster(local, "docs-metrics");
        // Replicas 0: the operator reconciles and writes a status, no proxy needs to start.
        cluster.applyOrFail("""
                apiVersion: roundhouse.dev/v1alpha1
                kind: LoadBalancer
                metadata:
                  name: counted
                spec:
                  replicas: 0
                  backends:
                    - url: %s
                """.formatted(BACKEND));
        try {
            Awaitility.await("a status on docs-metrics/counted")
                    .atMost(Duration.ofSeconds(60))
                    .pollInterval(Duration.ofMillis(100))
                    .until(
                            () -> cluster.loadBalancer("counted"),
                            lb -> lb != null
                                    && lb.getStatus() != null
                                    && lb.getStatus().getObservedGeneration() != null);
            String scrape = Cluster.get(URI.create("http://127.0.0.1:" + local.operatorHttpPort() + "/metrics"))
                    .body();
            assertThat(families(scrape))
                    .as("the operator's families")
                    .containsKeys("roundhouse_operator_reconciles_total", "operator_sdk_reconciliations_started_total");
            assertThat(undocumented(scrape))
                    .as("operator metric families missing from %s", DOC)
                    .isEmpty();
            // bounded cardinality: no series names a LoadBalancer, and no family breaks Prometheus naming rules
            assertThat(scrape)
                    .as("series per LoadBalancer")
                    .doesNotContain("\"counted\"")
                    .doesNotContain("process_cpu_time_ns_total")
                    .doesNotContain("system_cpu_count");
            promtoolAccepts(scrape);
        } finally {
            local.client()
                    .resources(LoadBalancer.class)
                    .inNamespace("docs-metrics")
                    .withName("counted")
                    .delete();
        }
    }

    @Test
    void aDeletionIsCountedWithTheEventLabelTheDocNames(LocalCluster local) {
        Cluster cluster = new Cluster(local, "docs-metrics-delete");
        cluster.applyOrFail("""
                apiVersion: roundhouse.dev/v1alpha1
                kind: LoadBalancer
                metadata:
                  name: deleted
                spec:
                  replicas: 0
                  backends:
                    - url: %s
                """.formatted(BACKEND));
        Awaitility.await("a status on docs-metrics-delete/deleted")
                .atMost(Duration.ofSeconds(60))
                .pollInterval(Duration.ofMillis(100))
                .until(() -> cluster.loadBalancer("deleted"), lb -> lb != null && lb.getStatus() != null);
        local.client()
                .resources(LoadBalancer.class)
                .inNamespace("docs-metrics-delete")
                .withName("deleted")
                .delete();

        Pattern deleted =
                Pattern.compile("operator_sdk_events_received_total\\{[^}]*action=\"DELETED\"[^}]*event=\"(\\w+)\"");
        String event = Awaitility.await("the deletion counted")
                .atMost(Duration.ofSeconds(30))
                .pollInterval(Duration.ofMillis(100))
                .until(
                        () -> {
                            Matcher m = deleted.matcher(
                                    Cluster.get(URI.create("http://127.0.0.1:" + local.operatorHttpPort() + "/metrics"))
                                            .body());
                            return m.find() ? m.group(1) : null;
                        },
                        java.util.Objects::nonNull);
        assertThat(event).isEqualTo("ResourceDeleteEvent");
        assertThat(Docs.read(DOC)).contains("`ResourceDeleteEvent` with `action` `DELETED`");
    }

    /** {@code promtool check metrics} on an exposition, where promtool is installed (.ci/run installs it). */
    private static void promtoolAccepts(String scrape) throws Exception {
        Optional<Path> promtool = Docs.onPath("promtool");
        if (promtool.isEmpty()) {
            System.out.println(
                    "promtool is not installed (Debian package prometheus): operator metrics not checked by it");
            return;
        }
        Path file = Files.createTempFile("operator-metrics", ".txt");
        try {
            Files.writeString(file, scrape);
            Process check = new ProcessBuilder(promtool.get().toString(), "check", "metrics")
                    .redirectErrorStream(true)
                    .redirectInput(file.toFile())
                    .start();
            String output = new String(check.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
            assertThat(check.waitFor(30, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
            assertThat(check.exitValue())
                    .as("promtool check metrics on the operator's /metrics said:\n%s", output)
                    .isZero();
        } finally {
            Files.deleteIfExists(file);
        }
    }

    private static List<String> undocumented(String scrape) {
        String doc = Docs.read(DOC);
        return families(scrape).keySet().stream()
                .filter(f -> !doc.contains("`" + f + "`"))
                .toList();
    }
}
