package dev.roundhouse.proxy.config;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The start-up warm-up of the document path ({@link PoolReloader#warmUp}). */
class PoolReloaderWarmUpTest {

    @Test
    void runsTheDocumentPathOnItsSampleTheGivenNumberOfTimes() {
        // The sample must stay a valid document as the rules change: warmUp throws otherwise.
        assertThat(PoolReloader.warmUp(3)).isEqualTo(3);
        assertThat(PoolReloader.warmUp(0)).isZero();
    }
}
