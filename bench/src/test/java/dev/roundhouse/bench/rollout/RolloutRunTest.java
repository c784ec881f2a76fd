package dev.roundhouse.bench.rollout;

import static org.assertj.core.api.Assertions.assertThat;

import dev.roundhouse.bench.load.Args;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A small run of the rollout benchmark, so that the tool keeps working: one rollout of a LoadBalancer's proxies in
 * the local mode under light load, with the proxies as the operator runs them, counted clean.
 */
class RolloutRunTest {

    @Test
    void oneRolloutUnderLoadFailsNothing(@TempDir Path dir) throws Exception {
        ByteArrayOutputStream buffer = new ByteArrayOutputStream();
        PrintStream original = System.out;
        int exit;
        System.setOut(new PrintStream(buffer, true, StandardCharsets.UTF_8));
        try {
            exit = RolloutUnderLoad.run(new Args(new String[] {
                "--modes",
                "shutdown-delay",
                "--rounds",
                "1",
                "--rollouts",
                "1",
                "--every",
                "9s",
                "--rate",
                "100",
                "--connections",
                "4",
                "--work-dir",
                dir.toString()
            }));
        } finally {
            System.setOut(original);
        }
        String printed = buffer.toString(StandardCharsets.UTF_8);
        assertThat(printed)
                .as(printed)
                .contains("rollout 1: pid ")
                .containsPattern("RESULT mode=shutdown-delay round=1 rollouts=1 requests=\\d+ failed=0 refused=0");
        assertThat(exit).as(printed).isZero();
    }

    @Test
    void mediansAreOfTheRounds() {
        assertThat(RolloutUnderLoad.median(List.of(3.0, 1.0, 2.0))).isEqualTo(2.0);
        assertThat(RolloutUnderLoad.median(List.of(4.0, 1.0))).isEqualTo(2.5);
    }
}
