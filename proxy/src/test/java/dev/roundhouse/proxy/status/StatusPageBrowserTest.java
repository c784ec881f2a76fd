package dev.roundhouse.proxy.status;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.roundhouse.proxy.RoundhouseProxy;
import dev.roundhouse.proxy.testing.Closeables;
import dev.roundhouse.proxy.testing.ProxyFixture;
import dev.roundhouse.testing.HeadlessChromium;
import dev.roundhouse.testing.TestBackend;
import dev.roundhouse.testing.Traffic;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The status page on the admin port as a browser shows it: a real proxy in front of real backends, the page opened
 * once in headless Chromium under the page's own Content-Security-Policy, and read from the rendered DOM while the
 * backends go down and come back.
 */
class StatusPageBrowserTest {

    private static final Duration DEADLINE = Duration.ofSeconds(20);
    private static final String ROWS = "[...document.querySelectorAll('#backends tbody tr[data-url]')]";

    @RegisterExtension
    final Closeables closeables = new Closeables();

    @BeforeEach
    void needsChromium() {
        assumeTrue(
                HeadlessChromium.executable().isPresent(),
                "chromium not installed: the status page is checked in a real browser (apt-get install chromium)");
    }

    private RoundhouseProxy proxy(TestBackend... backends) {
        return closeables.add(ProxyFixture.start(ProxyFixture.env(
                "BACKENDS", Arrays.stream(backends).map(TestBackend::url).collect(Collectors.joining(",")),
                "HEALTH_CHECK_PATH", "/health",
                "HEALTH_CHECK_INTERVAL", "100ms",
                "HEALTH_CHECK_TIMEOUT", "1s",
                "UNHEALTHY_THRESHOLD", "2",
                "HEALTHY_THRESHOLD", "2")));
    }

    private HeadlessChromium open(RoundhouseProxy proxy) {
        HeadlessChromium chromium = closeables.add(HeadlessChromium.start());
        chromium.navigate("http://127.0.0.1:" + proxy.metricsPort() + "/");
        return chromium;
    }

    private static String js(String text) {
        return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'";
    }

    /** The row's data-state, or "absent". */
    private static String state(HeadlessChromium chromium, TestBackend backend) {
        return chromium.evaluate("(" + ROWS + ".find(r => r.dataset.url === " + js(backend.url())
                + ") || {dataset: {state: 'absent'}}).dataset.state");
    }

    /** The text of the row's state cell, as a person reads it. */
    private static String stateWords(HeadlessChromium chromium, TestBackend backend) {
        return chromium.evaluate(
                ROWS + ".find(r => r.dataset.url === " + js(backend.url()) + ").querySelector('td.state').textContent");
    }

    private static List<String> rowUrls(HeadlessChromium chromium) {
        String urls = chromium.evaluate(ROWS + ".map(r => r.dataset.url).join(' ')");
        return urls.isEmpty() ? List.of() : List.of(urls.split(" "));
    }

    /** Types {@code text} into the filter box as a person would, and returns the URLs of the rows left. */
    private static List<String> filter(HeadlessChromium chromium, String text) {
        chromium.evaluate("(() => { const f = document.getElementById('filter'); f.value = " + js(text)
                + "; f.dispatchEvent(new Event('input', {bubbles: true})); })()");
        return rowUrls(chromium);
    }

    private static String text(HeadlessChromium chromium, String id) {
        return chromium.evaluate("document.getElementById(" + js(id) + ").textContent");
    }

    /** The newest row of the changes table that is a health change of {@code backend}, its cells joined by " | ". */
    private static String healthChange(HeadlessChromium chromium, TestBackend backend) {
        return chromium.evaluate("(() => { const row = [...document.querySelectorAll('#changes tbody tr')]"
                + ".map(r => [...r.cells].map(c => c.textContent))"
                + ".find(c => c[1] === 'health' && c[2] === " + js(backend.url()) + ");"
                + " return row ? row.join(' | ') : ''; })()");
    }

    private static void awaitState(HeadlessChromium chromium, TestBackend backend, String state) {
        await().atMost(DEADLINE)
                .pollInterval(Duration.ofMillis(100))
                .until(() -> state(chromium, backend).equals(state));
    }

    @Test
    void aStoppedBackendTurnsOutOfRotationFirstInTheTableAndBackWhenItReturnsWithoutAReload() {
        TestBackend a = closeables.add(TestBackend.start("a"));
        TestBackend b = closeables.add(TestBackend.start("b"));
        TestBackend c = closeables.add(TestBackend.start("c"));
        RoundhouseProxy proxy = proxy(a, b, c);
        HeadlessChromium chromium = open(proxy);
        chromium.evaluate("window.sameDocument = 'yes'"); // gone if the page reloaded
        for (TestBackend backend : List.of(a, b, c)) {
            awaitState(chromium, backend, "in-rotation");
        }
        assertThat(stateWords(chromium, a)).isEqualTo("in rotation");
        assertThat(text(chromium, "summary")).isEqualTo("3 backends, 3 in rotation");
        assertThat(text(chromium, "live")).startsWith("updated ");

        // The backend whose URL sorts last: only trouble-first ordering puts it first.
        TestBackend down = List.of(a, b, c).stream()
                .max(Comparator.comparing(TestBackend::url))
                .orElseThrow();
        down.stop();
        awaitState(chromium, down, "out-of-rotation");
        assertThat(stateWords(chromium, down)).isEqualTo("out of rotation");
        assertThat(rowUrls(chromium)).hasSize(3).first().isEqualTo(down.url());
        await().atMost(DEADLINE).until(() -> text(chromium, "summary").equals("3 backends, 2 in rotation"));
        await().atMost(DEADLINE).until(() -> healthChange(chromium, down).contains("health checks failed"));

        down.restart();
        awaitState(chromium, down, "in-rotation");
        assertThat(stateWords(chromium, down)).isEqualTo("in rotation");
        assertThat(chromium.evaluate("window.sameDocument")).isEqualTo("yes");
        assertThat(chromium.errors()).as("console errors and CSP violations").isEmpty();
    }

    @Test
    void theFilterKeepsTheRowsWhoseUrlOrStateContainsTheText() {
        TestBackend a = closeables.add(TestBackend.start("a"));
        TestBackend b = closeables.add(TestBackend.start("b"));
        TestBackend c = closeables.add(TestBackend.start("c"));
        RoundhouseProxy proxy = proxy(a, b, c);
        HeadlessChromium chromium = open(proxy);
        b.stop();
        awaitState(chromium, b, "out-of-rotation");
        awaitState(chromium, a, "in-rotation");
        awaitState(chromium, c, "in-rotation");

        assertThat(filter(chromium, a.url().toUpperCase())).containsExactly(a.url());
        assertThat(filter(chromium, "Out of ROTATION")).containsExactly(b.url());
        assertThat(text(chromium, "summary")).isEqualTo("3 backends, 2 in rotation, 1 shown");
        // The next refresh keeps the filter.
        String updated = text(chromium, "live");
        await().atMost(DEADLINE).until(() -> !text(chromium, "live").equals(updated));
        assertThat(rowUrls(chromium)).containsExactly(b.url());

        assertThat(filter(chromium, "no such backend")).isEmpty();
        assertThat(chromium.evaluate("document.querySelector('#backends tbody').textContent"))
                .isEqualTo("no backend matches the filter");
        assertThat(filter(chromium, "")).containsExactlyInAnyOrder(a.url(), b.url(), c.url());
        assertThat(chromium.errors()).as("console errors and CSP violations").isEmpty();
    }

    @Test
    void aThousandBackendsAreShownTroubleFirstAndFilteredToOne() {
        TestBackend live = closeables.add(TestBackend.start("live"));
        // 999 backends nothing listens on (ports below 1024 refuse at once), one that answers: the pool's limit.
        String backends = java.util.stream.IntStream.rangeClosed(1, 999)
                        .mapToObj(port -> "http://127.0.0.1:" + port)
                        .collect(Collectors.joining(","))
                + "," + live.url();
        RoundhouseProxy proxy = closeables.add(ProxyFixture.start(ProxyFixture.env(
                "BACKENDS", backends,
                "HEALTH_CHECK_PATH", "/health",
                "HEALTH_CHECK_INTERVAL", "1h", // one round of checks, at start
                // The refused ports fail at once whatever the timeout; the live backend's answer shares one client
                // with 999 failures, and on a busy host can take more than a second to be read.
                "HEALTH_CHECK_TIMEOUT", "10s",
                "UNHEALTHY_THRESHOLD", "1")));
        HeadlessChromium chromium = open(proxy);
        await().atMost(DEADLINE)
                .pollInterval(Duration.ofMillis(200))
                .untilAsserted(() -> assertThat(text(chromium, "summary")).isEqualTo("1000 backends, 1 in rotation"));
        List<String> rows = rowUrls(chromium);
        assertThat(rows).hasSize(1000).last().isEqualTo(live.url()); // the one in rotation comes last
        assertThat(rows.get(0)).isEqualTo("http://127.0.0.1:1"); // then by URL
        assertThat(filter(chromium, live.url())).containsExactly(live.url());
        assertThat(filter(chromium, "")).hasSize(1000);
        long started = System.nanoTime();
        // One redraw of all rows (the filter's input event redraws at once), layout included: printed, not asserted.
        String renderMs = chromium.evaluate("(() => { const t = performance.now(); const f = document.getElementById("
                + "'filter'); f.value = ''; f.dispatchEvent(new Event('input', {bubbles: true}));"
                + " document.body.offsetHeight; return String(Math.round(performance.now() - t)); })()");
        System.out.printf(
                "status page, 1000 backends: one redraw %s ms in the page (%d ms round trip)%n",
                renderMs, (System.nanoTime() - started) / 1_000_000);
        assertThat(chromium.errors()).as("console errors and CSP violations").isEmpty();
    }

    /**
     * Writes the picture of docs/status.md: {@code mvn -pl proxy -am test -Dtest='StatusPageBrowserTest#screenshot'
     * -Dsurefire.failIfNoSpecifiedTests=false -Droundhouse.screenshot=$PWD/docs/status-page.png} (a relative path is
     * taken from proxy/).
     */
    @Test
    @EnabledIfSystemProperty(named = "roundhouse.screenshot", matches = ".+")
    void screenshot() throws Exception {
        TestBackend a = closeables.add(TestBackend.start("a"));
        TestBackend b = closeables.add(TestBackend.start("b"));
        TestBackend c = closeables.add(TestBackend.start("c"));
        RoundhouseProxy proxy = proxy(a, b, c);
        // Traffic for the last-minute columns and sparklines: two clients, bounded by time.
        Traffic traffic = closeables.add(Traffic.start(ProxyFixture.url(proxy, "/"), 2, Duration.ofSeconds(90)));
        HeadlessChromium chromium = open(proxy);
        awaitState(chromium, a, "in-rotation");
        // Rates are sampled every 5 seconds: wait for eight non-zero samples, then take a backend away.
        String samples = "document.querySelector('#backends tbody tr[data-url] .spark polyline').getAttribute('points')"
                + ".split(' ').filter(p => Number(p.split(',')[1]) < 15).length";
        await().atMost(Duration.ofSeconds(60))
                .pollInterval(Duration.ofMillis(500))
                .ignoreExceptions()
                .until(() -> Integer.parseInt(chromium.evaluate(samples)) >= 8);
        b.stop();
        // Under traffic its failed connects may eject it before its health checks fail: either is "down".
        await().atMost(DEADLINE)
                .until(() -> List.of("ejected", "out-of-rotation").contains(state(chromium, b)));
        await().atMost(DEADLINE).until(() -> healthChange(chromium, b).contains("health checks failed"));
        // Its sparkline drops once a 5-second sample without it was taken.
        String lastSample = "(" + ROWS + ".find(r => r.dataset.url === " + js(b.url())
                + ").querySelector('.spark polyline').getAttribute('points').split(' ').pop().split(',')[1])";
        await().atMost(DEADLINE).until(() -> chromium.evaluate(lastSample).equals("15.0"));
        traffic.close();
        Path png = Path.of(System.getProperty("roundhouse.screenshot"));
        chromium.screenshot(png, 1200, 700);
        assertThat(Files.size(png)).isPositive();
        assertThat(chromium.errors()).isEmpty();
    }
}
