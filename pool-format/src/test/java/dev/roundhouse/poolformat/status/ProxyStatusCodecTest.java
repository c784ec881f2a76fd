package dev.roundhouse.poolformat.status;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class ProxyStatusCodecTest {

    private static ProxyStatusDocument document(
            ProxyStatusDocument.Rejected rejected, ProxyStatusDocument.Check check) {
        return new ProxyStatusDocument(
                ProxyStatusDocument.VERSION,
                new ProxyStatusDocument.Pool(4, "ab12", "BACKENDS", "2026-12-07T10:00:00Z", false, rejected),
                2,
                List.of(new ProxyStatusDocument.Backend(
                        "http://10.0.0.1:80",
                        1,
                        "http/1.1",
                        "out-of-rotation",
                        false,
                        "2026-12-07T10:01:00Z",
                        new ProxyStatusDocument.Health(false, "2026-12-07T10:01:00Z", 0, 3, 2, 3, check),
                        new ProxyStatusDocument.Breaker("closed", "2026-12-07T10:00:00Z", null),
                        0,
                        new ProxyStatusDocument.LastMinute(0, null, null, null, List.of(0.0, 1.5)))),
                List.of(
                        new ProxyStatusDocument.Change(
                                2, "2026-12-07T10:01:00Z", "health", "http://10.0.0.1:80", "healthy", "unhealthy", "x"),
                        new ProxyStatusDocument.Change(
                                1, "2026-12-07T10:00:00Z", "reload", null, null, "applied", "BACKENDS: 1 backends")));
    }

    @Test
    void whatTheProxyWritesTheOperatorReadsBack() throws IOException {
        ProxyStatusDocument written = document(
                new ProxyStatusDocument.Rejected("2026-12-07T10:02:00Z", "a file", "bad"),
                new ProxyStatusDocument.Check("2026-12-07T10:01:00Z", false, 0.4, "ConnectException"));
        assertThat(ProxyStatusCodec.read(ProxyStatusCodec.write(written))).isEqualTo(written);
        assertThat(written.backends().get(0).knownState()).isEqualTo(BackendState.OUT_OF_ROTATION);
    }

    @Test
    void absentFieldsAreLeftOutAndUnsetOnesWrittenAsNull() {
        String json = new String(ProxyStatusCodec.write(document(null, null)), StandardCharsets.UTF_8);
        assertThat(json)
                .doesNotContain("lastRejected")
                .contains("\"lastCheck\":null", "\"failureRate\":null", "\"errorRatio\":null")
                .contains("{\"seq\":1,\"at\":\"2026-12-07T10:00:00Z\",\"kind\":\"reload\",\"to\":\"applied\"");
    }

    @Test
    void aNewerProxysFieldsAreSkippedAndAnotherVersionRefused() throws IOException {
        ProxyStatusDocument read =
                ProxyStatusCodec.read("{\"version\":1,\"lastChange\":3,\"backends\":[],\"changes\":[],\"uptime\":5}"
                        .getBytes(StandardCharsets.UTF_8));
        assertThat(read.lastChange()).isEqualTo(3);
        assertThatThrownBy(() -> ProxyStatusCodec.read("{\"version\":2}".getBytes(StandardCharsets.UTF_8)))
                .isInstanceOf(IOException.class)
                .hasMessage("status document version 2, this build reads 1");
        assertThatThrownBy(() -> ProxyStatusCodec.read("<html>".getBytes(StandardCharsets.UTF_8)))
                .isInstanceOf(IOException.class);
    }

    @Test
    void statesRunFromBestToWorstAndOnlyTheFirstTwoTakeRequests() {
        assertThat(BackendState.values())
                .extracting(BackendState::wireName)
                .containsExactly("in-rotation", "breaker-half-open", "breaker-open", "ejected", "out-of-rotation");
        assertThat(BackendState.values())
                .filteredOn(BackendState::inRotation)
                .containsExactly(BackendState.IN_ROTATION, BackendState.BREAKER_HALF_OPEN);
        assertThat(BackendState.of("teleported")).isNull();
    }
}
