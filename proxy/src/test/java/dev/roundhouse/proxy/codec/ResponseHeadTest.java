package dev.roundhouse.proxy.codec;

import static org.assertj.core.api.Assertions.assertThat;

import io.undertow.util.HeaderMap;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The direct path's response-head parser on its own: what it accepts, what it refuses (anything that could make
 * this proxy and the client disagree on where a response ends), which fields it copies, and how it frames the body.
 */
class ResponseHeadTest {

    private final ResponseHead head = new ResponseHead();
    private final HeaderMap out = new HeaderMap();

    private static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.ISO_8859_1);
    }

    /** Parses a whole head, after checking that {@link ResponseHead#end} finds its end where it is. */
    private boolean parse(String text) {
        byte[] b = bytes(text);
        assertThat(ResponseHead.end(b, 0, b.length)).as("end of %s", text).isEqualTo(b.length);
        return head.parse(b, b.length, out);
    }

    private void assertRefused(String text) {
        assertThat(parse(text)).as("refused: %s", text).isFalse();
        assertThat(head.problem).isNotBlank();
    }

    // ---- end() ----------------------------------------------------------------------------------

    @Test
    void endIsJustPastTheBlankLineWithCrlfOrBareLf() {
        byte[] crlf = bytes("HTTP/1.1 200 OK\r\nA: 1\r\n\r\nbody");
        byte[] lf = bytes("HTTP/1.1 200 OK\nA: 1\n\nbody");

        assertThat(ResponseHead.end(crlf, 0, crlf.length)).isEqualTo(crlf.length - 4);
        assertThat(ResponseHead.end(lf, 0, lf.length)).isEqualTo(lf.length - 4);
    }

    @Test
    void endIsMinusOneWhileTheHeadIsIncomplete() {
        byte[] partial = bytes("HTTP/1.1 200 OK\r\nA: 1\r\n\r");

        assertThat(ResponseHead.end(partial, 0, partial.length)).isEqualTo(-1);
    }

    @Test
    void endFindsABlankLineSplitAcrossTwoScans() {
        // readHead rescans from three bytes before where the last scan stopped
        byte[] b = bytes("HTTP/1.1 200 OK\r\nA: 1\r\n\r\n");
        int firstScan = b.length - 2; // stopped between the CRLF of the last header and the blank line

        assertThat(ResponseHead.end(b, 0, firstScan)).isEqualTo(-1);
        assertThat(ResponseHead.end(b, firstScan - 3, b.length)).isEqualTo(b.length);
    }

    // ---- status line ----------------------------------------------------------------------------

    @Test
    void aValidHeadWithCrlfIsParsedIntoTheHeaderMap() {
        assertThat(parse("HTTP/1.1 201 Created\r\nContent-Type: text/plain\r\nX-Two: a\r\nX-Two: b\r\n"
                        + "Content-Length: 5\r\n\r\n"))
                .isTrue();

        assertThat(head.status).isEqualTo(201);
        assertThat(head.http11).isTrue();
        assertThat(head.close).isFalse();
        assertThat(head.contentLength).isEqualTo(5);
        assertThat(head.chunked).isFalse();
        assertThat(head.problem).isNull();
        assertThat(out.getFirst("Content-Type")).isEqualTo("text/plain");
        assertThat(out.get("x-two")).containsExactly("a", "b");
        assertThat(out.getFirst("Content-Length")).isEqualTo("5");
    }

    @Test
    void aValidHeadWithBareLfLineEndsIsParsed() {
        assertThat(parse("HTTP/1.1 200 OK\nContent-Type: text/plain\nX-A:  spaced \t\n\n"))
                .isTrue();

        assertThat(head.status).isEqualTo(200);
        assertThat(out.getFirst("Content-Type")).isEqualTo("text/plain");
        assertThat(out.getFirst("X-A"))
                .as("optional whitespace around the value is dropped")
                .isEqualTo("spaced");
    }

    @Test
    void aStatusLineWithoutReasonPhraseIsAccepted() {
        assertThat(parse("HTTP/1.1 204\r\n\r\n")).isTrue();
        assertThat(head.status).isEqualTo(204);
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(
            strings = {
                "garbage\r\n\r\n",
                "HTTP/2.0 200 OK\r\n\r\n",
                "HTTP/1.2 200 OK\r\n\r\n",
                "HTTP/1.1 OK\r\n\r\n",
                "HTTP/1.1 \r\n\r\n",
                "HTTP/1.1 20 OK\r\n\r\n",
                "HTTP/1.1 2000 OK\r\n\r\n",
                "HTTP/1.1 099 Low\r\n\r\n",
                "HTTP/1.1 000 Zero\r\n\r\n",
                "http/1.1 200 OK\r\n\r\n",
                "HTTP/1.1  200 OK\r\n\r\n",
                "ICY 200 OK\r\n\r\n"
            })
    void aMalformedStatusLineIsRefused(String text) {
        assertRefused(text);
        assertThat(head.problem).contains("status line");
    }

    // ---- header fields --------------------------------------------------------------------------

    @ParameterizedTest(name = "{0}")
    @ValueSource(
            strings = {
                "HTTP/1.1 200 OK\r\nX Bad: 1\r\n\r\n",
                "HTTP/1.1 200 OK\r\nX-Bad : 1\r\n\r\n",
                "HTTP/1.1 200 OK\r\nX(Bad): 1\r\n\r\n",
                "HTTP/1.1 200 OK\r\n: no name\r\n\r\n",
                "HTTP/1.1 200 OK\r\nNoColon\r\n\r\n",
                "HTTP/1.1 200 OK\r\nX-\u00e9: 1\r\n\r\n"
            })
    void anInvalidHeaderNameOrLineIsRefused(String text) {
        assertRefused(text);
    }

    @Test
    void obsoleteLineFoldingIsRefused() {
        assertRefused("HTTP/1.1 200 OK\r\nX-A: one\r\n two\r\n\r\n");
        assertThat(head.problem).contains("folding");
        assertRefused("HTTP/1.1 200 OK\r\nX-A: one\r\n\ttwo\r\n\r\n");
    }

    @ParameterizedTest(name = "byte {0}")
    @ValueSource(ints = {0x00, 0x01, 0x0b, 0x0d, 0x1f, 0x7f})
    void aControlByteInAHeaderValueIsRefused(int control) {
        assertRefused("HTTP/1.1 200 OK\r\nX-A: a" + (char) control + "b\r\n\r\n");
        assertThat(head.problem).contains("invalid byte");
    }

    @Test
    void aTabAndObsTextInAHeaderValueAreAccepted() {
        assertThat(parse("HTTP/1.1 200 OK\r\nX-A: a\tb\u00e9\r\n\r\n")).isTrue();
        assertThat(out.getFirst("X-A")).isEqualTo("a\tb\u00e9");
    }

    // ---- Content-Length and Transfer-Encoding ---------------------------------------------------

    @Test
    void equalDuplicateContentLengthsAreAcceptedAsOne() {
        assertThat(parse("HTTP/1.1 200 OK\r\nContent-Length: 7\r\ncontent-length: 7\r\n\r\n"))
                .isTrue();

        assertThat(head.contentLength).isEqualTo(7);
        assertThat(out.get("Content-Length")).containsExactly("7");
    }

    @Test
    void aListOfEqualContentLengthsIsOneLength() {
        assertThat(parse("HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\nContent-Length: 5\r\n\r\n"))
                .isTrue();

        assertThat(head.contentLength).isEqualTo(5);
        assertThat(out.get("Content-Length")).as("forwarded once, canonical").containsExactly("5");
    }

    @Test
    void differentContentLengthsAreRefused() {
        assertRefused("HTTP/1.1 200 OK\r\nContent-Length: 7\r\nContent-Length: 8\r\n\r\n");
        assertThat(head.problem).contains("Content-Length");
    }

    @ParameterizedTest(name = "Content-Length: {0}")
    @ValueSource(strings = {"", "+5", "-1", "5, 6", "5,", ",5", "0x10", "1e3", "12a", "1 2", "9999999999999999999"})
    void aNonDigitOrOversizedContentLengthIsRefused(String value) {
        assertRefused("HTTP/1.1 200 OK\r\nContent-Length: " + value + "\r\n\r\n");
        assertThat(head.problem).contains("Content-Length");
    }

    @Test
    void aSingleChunkedTransferEncodingIsAcceptedAndNotCopied() {
        assertThat(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\nX-A: 1\r\n\r\n"))
                .isTrue();

        assertThat(head.chunked).isTrue();
        assertThat(head.contentLength).isEqualTo(-1);
        assertThat(out.contains("Transfer-Encoding"))
                .as("Undertow frames the client response itself")
                .isFalse();
        assertThat(out.getFirst("X-A")).isEqualTo("1");
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(
            strings = {
                "Transfer-Encoding: gzip, chunked\r\n",
                "Transfer-Encoding: chunked, identity\r\n",
                "Transfer-Encoding: identity\r\n",
                "Transfer-Encoding: xchunked\r\n",
                "Transfer-Encoding: gzip\r\n",
                "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
                "Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n"
            })
    void aTransferEncodingOtherThanOneChunkedIsRefused(String field) {
        assertRefused("HTTP/1.1 200 OK\r\n" + field + "\r\n");
        assertThat(head.problem).contains("Transfer-Encoding");
    }

    @Test
    void contentLengthWithTransferEncodingIsRefusedInEitherOrder() {
        assertRefused("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n");
        assertThat(head.problem).contains("both");
        assertRefused("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n");
        assertThat(head.problem).contains("both");
    }

    // ---- hop-by-hop fields and Connection -------------------------------------------------------

    @Test
    void hopByHopFieldsAreNotCopied() {
        assertThat(
                        parse(
                                "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n"
                                        + "Upgrade: h2c\r\nTrailer: X-Sum\r\nTE: trailers\r\nProxy-Connection: keep-alive\r\n"
                                        + "Proxy-Authorization: Basic eDp5\r\nTransfer-Encoding: chunked\r\nX-End-To-End: kept\r\n\r\n"))
                .isTrue();

        for (String name : new String[] {
            "Connection",
            "Keep-Alive",
            "Upgrade",
            "Trailer",
            "TE",
            "Proxy-Connection",
            "Proxy-Authorization",
            "Transfer-Encoding"
        }) {
            assertThat(out.contains(name)).as("%s copied", name).isFalse();
        }
        assertThat(out.getFirst("X-End-To-End")).isEqualTo("kept");
        assertThat(out.size()).isEqualTo(1);
        assertThat(head.close).as("keep-alive is not close").isFalse();
    }

    @Test
    void fieldsNamedByConnectionAreRemovedWhereverTheyStand() {
        assertThat(parse("HTTP/1.1 200 OK\r\nX-Before: 1\r\nConnection: X-Before, x-after\r\nConnection: X-Other\r\n"
                        + "X-After: 2\r\nX-Other: 3\r\nX-Kept: 4\r\n\r\n"))
                .isTrue();

        assertThat(out.contains("X-Before")).isFalse();
        assertThat(out.contains("X-After"))
                .as("named in lower case, sent capitalised")
                .isFalse();
        assertThat(out.contains("X-Other"))
                .as("named by a second Connection field")
                .isFalse();
        assertThat(out.contains("Connection")).isFalse();
        assertThat(out.getFirst("X-Kept")).isEqualTo("4");
        assertThat(head.close).isFalse();
    }

    @Test
    void connectionCannotStripTheContentLengthThatFramesTheBody() {
        assertThat(parse("HTTP/1.1 200 OK\r\nConnection: Content-Length\r\nContent-Length: 3\r\n\r\n"))
                .isTrue();

        assertThat(head.contentLength).isEqualTo(3);
        assertThat(out.getFirst("Content-Length")).isEqualTo("3");
    }

    @ParameterizedTest(name = "Connection: {0}")
    @ValueSource(strings = {"close", "Close", "keep-alive, close", " close ,X-A"})
    void connectionCloseSetsClose(String value) {
        assertThat(parse("HTTP/1.1 200 OK\r\nConnection: " + value + "\r\nX-A: 1\r\nContent-Length: 0\r\n\r\n"))
                .isTrue();

        assertThat(head.close).isTrue();
        assertThat(out.contains("Connection")).isFalse();
    }

    @Test
    void http10SetsCloseEvenWithKeepAlive() {
        assertThat(parse("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\n"))
                .isTrue();

        assertThat(head.http11).isFalse();
        assertThat(head.close).isTrue();
    }

    @Test
    void aParseStartsFromAFreshStateEveryTime() {
        assertThat(parse("HTTP/1.0 200 OK\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n"))
                .isTrue();
        out.clear();

        assertThat(parse("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n")).isTrue();

        assertThat(head.close).isFalse();
        assertThat(head.chunked).isFalse();
        assertThat(head.contentLength).isEqualTo(4);
        assertRefused("junk\r\n\r\n");
        assertThat(parse("HTTP/1.1 200 OK\r\n\r\n")).isTrue();
        assertThat(head.problem).isNull();
        assertThat(head.contentLength).isEqualTo(-1);
    }

    @Test
    void manyDifferentHeaderNamesAreNeverConfusedByTheNameCache() {
        // The name cache is keyed by a hash: many distinct names, over many heads, must never be confused.
        for (int head = 0; head < 20; head++) {
            StringBuilder text = new StringBuilder("HTTP/1.1 200 OK\r\n");
            for (int i = head * 100; i < head * 100 + 100; i++) {
                text.append("X-N").append(i).append(": ").append(i).append("\r\n");
            }
            text.append("\r\n");
            out.clear();
            assertThat(parse(text.toString())).as(this.head.problem + "").isTrue();

            assertThat(out.size()).isEqualTo(100);
            for (int i = head * 100; i < head * 100 + 100; i++) {
                assertThat(out.get("x-n" + i)).as("X-N%d", i).containsExactly(Integer.toString(i));
            }
        }
    }

    @Test
    void moreThanAHundredFieldsAreRefused() {
        StringBuilder text = new StringBuilder("HTTP/1.1 200 OK\r\n");
        for (int i = 0; i < 101; i++) {
            text.append("X-F: v\r\n");
        }
        assertRefused(text.append("\r\n").toString());
        assertThat(this.head.problem).isEqualTo("more than 100 header fields");
    }

    // ---- framing --------------------------------------------------------------------------------

    private ResponseHead.Framing framing(String text, boolean headRequest) {
        assertThat(parse(text)).isTrue();
        return head.framing(headRequest);
    }

    @Test
    void aResponseToHeadHasNoBodyWhateverItsHeadersSay() {
        assertThat(framing("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", true))
                .isEqualTo(ResponseHead.Framing.NONE);
        assertThat(framing("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", true))
                .isEqualTo(ResponseHead.Framing.NONE);
        assertThat(framing("HTTP/1.1 200 OK\r\n\r\n", true)).isEqualTo(ResponseHead.Framing.NONE);
    }

    @ParameterizedTest(name = "status {0}")
    @ValueSource(ints = {100, 103, 204, 304})
    void statuses1xx204And304HaveNoBodyEvenWithFraming(int status) {
        assertThat(framing("HTTP/1.1 " + status + " X\r\nContent-Length: 10\r\n\r\n", false))
                .isEqualTo(ResponseHead.Framing.NONE);
        out.clear();
        assertThat(framing("HTTP/1.1 " + status + " X\r\nTransfer-Encoding: chunked\r\n\r\n", false))
                .isEqualTo(ResponseHead.Framing.NONE);
    }

    @Test
    void chunkedIsFramedAsChunked() {
        assertThat(framing("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", false))
                .isEqualTo(ResponseHead.Framing.CHUNKED);
    }

    @Test
    void contentLengthZeroHasNoBodyAndAPositiveOneIsFramedByLength() {
        assertThat(framing("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", false))
                .isEqualTo(ResponseHead.Framing.NONE);
        out.clear();
        assertThat(framing("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n", false))
                .isEqualTo(ResponseHead.Framing.LENGTH);
        assertThat(head.contentLength).isEqualTo(1);
    }

    @Test
    void neitherLengthNorChunkedReadsUntilClose() {
        assertThat(framing("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n", false))
                .isEqualTo(ResponseHead.Framing.UNTIL_CLOSE);
        out.clear();
        assertThat(framing("HTTP/1.0 500 Oops\r\n\r\n", false)).isEqualTo(ResponseHead.Framing.UNTIL_CLOSE);
    }
}
