package dev.roundhouse.bench.load;

import static org.assertj.core.api.Assertions.assertThat;

import dev.roundhouse.e2e.demo.DemoBackends;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code --events}: a real one-second run against a local server, every request written as one line. */
class FixedRateEventsTest {

    @Test
    void writesEveryScheduledRequestWithItsTimesAndOutcome(@TempDir Path dir) throws Exception {
        Path events = dir.resolve("events.txt");
        DemoBackends backend = DemoBackends.start(List.of(0));
        try {
            FixedRate.main(new String[] {
                "--url",
                "http://127.0.0.1:" + backend.backends().get(0).port() + "/",
                "--connections",
                "2",
                "--rate",
                "20",
                "--duration",
                "1s",
                "--warmup",
                "200ms",
                "--events",
                events.toString()
            });
        } finally {
            backend.close();
        }

        List<String> lines = Files.readAllLines(events);
        assertThat(lines.get(0))
                .startsWith("# time 0: nanoTime ")
                .contains(", wall clock ")
                .endsWith("requests due in the first 200 ms are the warm-up");
        assertThat(lines.get(1)).isEqualTo("# connection due_ns sent_ns done_ns latency_us outcome");
        List<String[]> rows = lines.stream().skip(2).map(l -> l.split(" ")).toList();
        // 20 req/s for 1 s, the warm-up's included: one request per connection every 100 ms, so on a slow machine
        // too each is answered before the next is due and none is left unsent at the run's end
        assertThat(rows).hasSize(20);
        long previousDue = -1;
        for (String[] row : rows) {
            assertThat(row).hasSize(6);
            assertThat(Integer.parseInt(row[0])).isBetween(0, 1);
            long due = Long.parseLong(row[1]);
            long sent = Long.parseLong(row[2]);
            long done = Long.parseLong(row[3]);
            assertThat(due).isGreaterThanOrEqualTo(previousDue).isLessThan(1_000_000_000L);
            assertThat(sent).isGreaterThanOrEqualTo(due);
            assertThat(done).isGreaterThan(sent);
            assertThat(Long.parseLong(row[4])).isEqualTo((done - due) / 1000);
            assertThat(row[5]).isEqualTo("ok");
            previousDue = due;
        }
    }
}
