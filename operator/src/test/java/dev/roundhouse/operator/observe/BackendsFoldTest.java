package dev.roundhouse.operator.observe;

import static org.assertj.core.api.Assertions.assertThat;

import dev.roundhouse.operator.api.v1alpha1.BackendHealthStatus;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class BackendsFoldTest {

    private static ProxyReport report(Map<String, ProxyReport.Backend> backends) {
        return new ProxyReport(1, backends);
    }

    private static ProxyReport.Backend in(String since) {
        return new ProxyReport.Backend("in-rotation", true, "closed", since);
    }

    private static ProxyReport.Backend out(String state, String since) {
        return new ProxyReport.Backend(state, false, state.equals("breaker-open") ? "open" : "closed", since);
    }

    @Test
    void aBackendIsHealthyWhenEveryReportingProxyHasItInRotation() {
        BackendsFold.Folded folded = BackendsFold.fold(
                List.of("http://a:80", "http://b:80", "http://c:80", "http://d:80"),
                List.of(
                        report(Map.of(
                                "http://a:80", in("2026-12-07T10:00:00Z"),
                                "http://b:80", out("out-of-rotation", "2026-12-07T10:01:00Z"),
                                "http://c:80", out("breaker-open", "2026-12-07T10:02:00Z"))),
                        report(Map.of(
                                "http://a:80", in("2026-12-07T10:00:05Z"),
                                "http://b:80", out("ejected", "2026-12-07T10:01:30Z"),
                                "http://c:80", in("2026-12-07T10:00:00Z")))));
        assertThat(folded.healthyColumn()).isEqualTo("1/4");
        assertThat(folded.entries())
                .extracting(BackendHealthStatus::getUrl)
                .containsExactly("http://b:80", "http://c:80", "http://d:80", "http://a:80");
        BackendHealthStatus b = folded.entries().get(0);
        assertThat(b.getState()).isEqualTo("out-of-rotation"); // worse than ejected
        assertThat(b.getSince()).isEqualTo("2026-12-07T10:01:30Z");
        assertThat(b.outEverywhere()).isTrue();
        BackendHealthStatus c = folded.entries().get(1);
        assertThat(c.getInRotation()).isEqualTo(1);
        assertThat(c.getBreaker()).isEqualTo("open");
        assertThat(c.outEverywhere()).isFalse();
        BackendHealthStatus d = folded.entries().get(2); // in no proxy's pool yet
        assertThat(d.getState()).isEqualTo(BackendsFold.UNKNOWN);
        assertThat(d.getProxies()).isZero();
        assertThat(d.outEverywhere()).isFalse();
    }

    @Test
    void withoutReportsTheHealthyCountIsUnknown() {
        BackendsFold.Folded folded = BackendsFold.fold(List.of("http://a:80"), List.of());
        assertThat(folded.healthyColumn()).isEqualTo("?/1");
        assertThat(folded.entries().get(0).getState()).isEqualTo("unknown");
    }

    @Test
    void atMostAHundredEntriesTroubleFirstAndTheRestCounted() {
        List<String> pool = new ArrayList<>();
        Map<String, ProxyReport.Backend> states = new HashMap<>();
        for (int i = 0; i < 250; i++) {
            String url = String.format("http://10.0.%d.%d:80", i / 200, i % 200);
            pool.add(url);
            states.put(url, i % 50 == 7 ? out("out-of-rotation", null) : in(null));
        }
        BackendsFold.Folded folded = BackendsFold.fold(pool, List.of(report(states)));
        assertThat(folded.entries()).hasSize(BackendsFold.MAX_ENTRIES);
        assertThat(folded.notShown()).isEqualTo(150);
        assertThat(folded.entries().subList(0, 5)).allMatch(BackendHealthStatus::outEverywhere);
        assertThat(folded.entries().get(5).outEverywhere()).isFalse();
        assertThat(folded.healthyColumn()).isEqualTo("245/250");
    }

    @Test
    void onlyAChangeOfStateIsAChange() {
        List<String> pool = List.of("http://a:80");
        BackendsFold.Folded first =
                BackendsFold.fold(pool, List.of(report(Map.of("http://a:80", in("2026-12-07T10:00:00Z")))));
        BackendsFold.Folded later =
                BackendsFold.fold(pool, List.of(report(Map.of("http://a:80", in("2026-12-07T10:05:00Z")))));
        BackendsFold.Folded out = BackendsFold.fold(
                pool, List.of(report(Map.of("http://a:80", out("out-of-rotation", "2026-12-07T10:05:00Z")))));
        assertThat(first.sameStates(later)).isTrue();
        assertThat(first.sameStates(out)).isFalse();
    }

    @Test
    void readsWhatTheDocumentSays() throws Exception {
        ProxyReport report = ProxyReport.parse(
                ("{\"version\":1,\"lastChange\":7,\"backends\":[{\"url\":\"http://a:80\",\"state\":\"breaker-open\","
                                + "\"inRotation\":false,\"since\":\"2026-12-07T10:00:00Z\","
                                + "\"breaker\":{\"state\":\"open\"}}],\"changes\":[]}")
                        .getBytes(StandardCharsets.UTF_8));
        assertThat(report.lastChange()).isEqualTo(7);
        assertThat(report.backends())
                .containsEntry(
                        "http://a:80", new ProxyReport.Backend("breaker-open", false, "open", "2026-12-07T10:00:00Z"));
    }

    @Test
    void refusesWhatIsNotAStatusDocument() {
        org.assertj.core.api.Assertions.assertThatThrownBy(
                        () -> ProxyReport.parse("{\"version\":2}".getBytes(StandardCharsets.UTF_8)))
                .isInstanceOf(java.io.IOException.class);
        org.assertj.core.api.Assertions.assertThatThrownBy(
                        () -> ProxyReport.parse("<html>".getBytes(StandardCharsets.UTF_8)))
                .isInstanceOf(java.io.IOException.class);
    }
}
