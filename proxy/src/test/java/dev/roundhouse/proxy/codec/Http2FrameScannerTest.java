package dev.roundhouse.proxy.codec;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class Http2FrameScannerTest {

    private static final byte[] PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII);

    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();

    private void frame(int type, int flags, int stream, int length) {
        bytes.writeBytes(new byte[] {
            (byte) (length >>> 16),
            (byte) (length >>> 8),
            (byte) length,
            (byte) type,
            (byte) flags,
            0,
            0,
            0,
            (byte) stream
        });
        bytes.writeBytes(new byte[length]);
    }

    /** Fed in pieces of {@code piece} bytes, as reads would hand them. */
    private static boolean scan(Http2FrameScanner scanner, byte[] all, int piece, long now) {
        for (int at = 0; at < all.length; at += piece) {
            int to = Math.min(all.length, at + piece);
            if (!scanner.scan(ByteBuffer.wrap(all), at, to, now)) {
                return false;
            }
        }
        return true;
    }

    @Test
    void ordinaryTrafficPasses() {
        bytes.writeBytes(PREFACE);
        frame(0x4, 0, 0, 18); // SETTINGS
        frame(0x1, 0x4, 1, 300); // HEADERS, END_HEADERS
        frame(0x0, 0x1, 1, 16384); // DATA
        frame(0x1, 0x0, 3, 16384); // HEADERS, block goes on
        frame(0x9, 0x4, 3, 10000); // CONTINUATION, END_HEADERS
        frame(0x6, 0, 0, 8); // PING
        frame(0x4, 0x1, 0, 0); // SETTINGS ACK
        Http2FrameScanner scanner = new Http2FrameScanner();
        assertThat(scan(scanner, bytes.toByteArray(), 7, 0)).isTrue();
        assertThat(scanner.violation()).isNull();
    }

    @Test
    void aHeaderBlockWithoutEndIsCutAtItsLimit() {
        bytes.writeBytes(PREFACE);
        frame(0x1, 0x1, 1, 16384); // HEADERS without END_HEADERS
        frame(0x9, 0, 1, 16384);
        frame(0x9, 0, 1, 16384);
        Http2FrameScanner scanner = new Http2FrameScanner();
        assertThat(scan(scanner, bytes.toByteArray(), 4096, 0)).isFalse();
        assertThat(scanner.violation()).contains("CONTINUATION flood");
    }

    @Test
    void manyEmptyContinuationsAreCutToo() {
        bytes.writeBytes(PREFACE);
        frame(0x1, 0, 1, 10);
        for (int i = 0; i < Http2FrameScanner.MAX_HEADER_BLOCK_FRAMES; i++) {
            frame(0x9, 0, 1, 0);
        }
        Http2FrameScanner scanner = new Http2FrameScanner();
        assertThat(scan(scanner, bytes.toByteArray(), 100, 0)).isFalse();
    }

    @Test
    void controlFramesAreLimitedPerWindowAndAcknowledgementsNotCounted() {
        bytes.writeBytes(PREFACE);
        for (int i = 0; i < Http2FrameScanner.MAX_CONTROL_FRAMES; i++) {
            frame(i % 2 == 0 ? 0x4 : 0x6, 0, 0, i % 2 == 0 ? 0 : 8);
            frame(0x6, 0x1, 0, 8); // PING ACK: an answer, not a demand
        }
        Http2FrameScanner scanner = new Http2FrameScanner();
        assertThat(scan(scanner, bytes.toByteArray(), 1000, 0)).isTrue();
        // In the next window the count starts again; one more in this one is over.
        ByteArrayOutputStream more = bytes;
        more.reset();
        frame(0x4, 0, 0, 0);
        assertThat(scan(scanner, more.toByteArray(), 9, Http2FrameScanner.CONTROL_WINDOW_NANOS + 1))
                .isTrue();
        Http2FrameScanner flooded = new Http2FrameScanner();
        bytes.reset();
        bytes.writeBytes(PREFACE);
        for (int i = 0; i <= Http2FrameScanner.MAX_CONTROL_FRAMES; i++) {
            frame(0x4, 0, 0, 0);
        }
        assertThat(scan(flooded, bytes.toByteArray(), 512, 5)).isFalse();
        assertThat(flooded.violation()).contains("control frame flood");
    }

    /** A header block is released whole, once its END_HEADERS frame is in: not a byte of its payload before. */
    @Test
    void aHeaderBlockIsReleasedOnlyWhenItsEndIsIn() {
        bytes.writeBytes(PREFACE);
        frame(0x4, 0, 0, 0); // SETTINGS
        int beforeBlock = bytes.size();
        frame(0x1, 0x1, 1, 100); // HEADERS, END_STREAM, no END_HEADERS
        frame(0x9, 0, 1, 50); // CONTINUATION
        int lastContinuation = bytes.size();
        frame(0x9, 0x4, 1, 20); // CONTINUATION, END_HEADERS
        byte[] all = bytes.toByteArray();
        Http2FrameScanner scanner = new Http2FrameScanner();
        ByteBuffer b = ByteBuffer.wrap(all);

        scanner.scan(b, 0, beforeBlock + 9, 0);
        assertThat(scanner.releasable()).as("up to the HEADERS frame's header").isEqualTo(beforeBlock + 9);
        scanner.scan(b, beforeBlock + 9, all.length - 1, 0);
        assertThat(scanner.releasable()).as("the block is not whole yet").isEqualTo(beforeBlock + 9);
        scanner.scan(b, all.length - 1, all.length, 0);
        assertThat(scanner.releasable()).as("the last payload byte is in").isEqualTo(all.length);
        assertThat(lastContinuation).isLessThan(all.length);
    }
}
