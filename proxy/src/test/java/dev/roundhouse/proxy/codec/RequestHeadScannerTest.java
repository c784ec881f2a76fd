package dev.roundhouse.proxy.codec;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class RequestHeadScannerTest {

    /** What a scan of the whole head gave, fed in one piece and byte by byte: the head's length, or the status and why. */
    private record Outcome(int length, int status, String problem) {}

    private static Outcome scan(String head) {
        Outcome whole = scanIn(head, Integer.MAX_VALUE);
        Outcome byByte = scanIn(head, 1);
        assertThat(byByte).as("byte by byte reads the same as all at once").isEqualTo(whole);
        return whole;
    }

    private static Outcome scanIn(String head, int step) {
        byte[] bytes = head.getBytes(StandardCharsets.ISO_8859_1);
        // the head sits at an offset in a direct buffer, as in a connection's read buffer
        ByteBuffer buffer = ByteBuffer.allocateDirect(bytes.length + 7);
        buffer.position(7);
        buffer.put(bytes);
        RequestHeadScanner scanner = new RequestHeadScanner(HttpLimits.MAX_HEADER_BYTES, HttpLimits.MAX_HEADERS);
        for (int end = 7 + Math.min(step, bytes.length); ; end = Math.min(end + step, 7 + bytes.length)) {
            int r = scanner.scan(buffer, 7, end);
            if (r == RequestHeadScanner.REFUSED) {
                return new Outcome(-1, scanner.status(), scanner.problem());
            }
            if (r >= 0) {
                return new Outcome(r, 0, null);
            }
            if (end == 7 + bytes.length) {
                return new Outcome(-1, 0, "need more");
            }
        }
    }

    @Test
    void aValidHeadIsReadToItsBlankLineAndNoFurther() {
        String head =
                "POST /upload?x=1 HTTP/1.1\r\nHost: shop.example\r\nContent-Length: 5\r\nX-Obs: caf\u00e9\r\n\r\n";

        assertThat(scan(head + "hello")).isEqualTo(new Outcome(head.length(), 0, null));
    }

    @Test
    void framingIsReported() {
        RequestHeadScanner scanner = scanned("POST / HTTP/1.1\r\nHost: x\r\ncontent-length:  007 \r\n\r\n");
        assertThat(scanner.contentLength()).isEqualTo(7);
        assertThat(scanner.chunked()).isFalse();

        scanner = scanned("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\n\r\n");
        assertThat(scanner.chunked()).isTrue();
        assertThat(scanner.contentLength()).isEqualTo(-1);
    }

    @Test
    void upgradesAndTunnelsMayLeaveHttp() {
        assertThat(scanned("GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n")
                        .mayLeaveHttp())
                .isTrue();
        assertThat(scanned("CONNECT x:443 HTTP/1.1\r\nHost: x\r\n\r\n").mayLeaveHttp())
                .isTrue();
        assertThat(scan("connect x:443 HTTP/1.1\r\nHost: x\r\n\r\n").status())
                .as("methods are case-sensitive: not CONNECT, so no authority-form target")
                .isEqualTo(400);
        assertThat(scanned("GET / HTTP/1.1\r\nHost: x\r\n\r\n").mayLeaveHttp()).isFalse();
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                "OPTIONS * HTTP/1.1",
                "OPTIONS http://a/ HTTP/1.1",
                "CONNECT a:443 HTTP/1.1",
                "CONNECT [::1]:443 HTTP/1.1",
                "GET http://a HTTP/1.1",
                "GET HTTPS://a.example:8443/p?q HTTP/1.1",
                "GET h2+x.y-z://a/ HTTP/1.1",
                "GET http://[::1]:80/ HTTP/1.1",
                "GET //a HTTP/1.1",
                "GET /a;b=c/./d/../e?f=g&h=%41%2f&i=j?k HTTP/1.1",
                "GET /[x]/~!$&'()*+,;=:@ HTTP/1.1",
            })
    void everyFormOfTargetItsMethodMayUse(String requestLine) {
        assertThat(scan(requestLine + "\r\nHost: a\r\n\r\n").status()).isZero();
    }

    @Test
    void http10NeedsNoHost() {
        assertThat(scan("GET / HTTP/1.0\r\n\r\n").status()).isZero();
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(
            delimiter = '|',
            value = {
                "two spaces after the method      | GET  / HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n                       | 400 | malformed request target",
                "no target                        | GET HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n                          | 400 | malformed request target",
                "a control byte in the target     | GET /a\\u0001 HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n                 | 400 | malformed request target",
                "a non-ASCII byte in the target   | GET /caf\\u00e9 HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n              | 400 | malformed request target",
                "a bare LF after the request line | GET / HTTP/1.1\\nHost: x\\r\\n\\r\\n                         | 400 | a line of the request head ends with a bare LF",
                "a bare CR after the request line | GET / HTTP/1.1\\rHost: x\\r\\n\\r\\n                         | 400 | a bare CR in the request line",
                "HTTP/2.0                         | GET / HTTP/2.0\\r\\nHost: x\\r\\n\\r\\n                       | 505 | only HTTP/1.0 and HTTP/1.1 are served here",
                "HTTP/1.2                         | GET / HTTP/1.2\\r\\nHost: x\\r\\n\\r\\n                       | 505 | only HTTP/1.0 and HTTP/1.1 are served here",
                "a lower-case version             | GET / http/1.1\\r\\nHost: x\\r\\n\\r\\n                       | 400 | malformed HTTP version",
                "userinfo in absolute form        | GET http://a@b/ HTTP/1.1\\r\\nHost: b\\r\\n\\r\\n              | 400 | userinfo in the request target",
                "a scheme without //              | GET http:b/ HTTP/1.1\\r\\nHost: b\\r\\n\\r\\n                  | 400 | malformed request target",
                "a 33-byte method                 | ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFG / HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n | 400 | a request method longer than 32 bytes",
                "an asterisk for another method    | GET * HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n                       | 400 | the request target '*' is for OPTIONS alone",
                "more after the asterisk          | OPTIONS *x HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n                  | 400 | the request target '*' is for OPTIONS alone",
                "CONNECT without a port           | CONNECT x HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n                   | 400 | a CONNECT request's target must be host:port",
                "CONNECT without a host           | CONNECT :443 HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n                | 400 | a CONNECT request's target must be host:port",
                "CONNECT to a port and more       | CONNECT x:443x HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n              | 400 | a CONNECT request's target must be host:port",
                "authority-form for GET           | GET x:443 HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n                   | 400 | malformed request target",
                "a scheme starting with a digit   | GET 1http://a/ HTTP/1.1\\r\\nHost: a\\r\\n\\r\\n              | 400 | malformed request target",
                "no host in absolute form         | GET http:///x HTTP/1.1\\r\\nHost: a\\r\\n\\r\\n               | 400 | malformed host in the request target",
                "an empty port in absolute form   | GET http://a:/x HTTP/1.1\\r\\nHost: a\\r\\n\\r\\n              | 400 | malformed host in the request target",
                "a fragment in the target         | GET /a#b HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n                    | 400 | malformed request target",
                "a quote in the target            | GET /a\"b HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n                   | 400 | malformed request target",
                "a brace in the query             | GET /a?{} HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n                   | 400 | malformed request target",
                "a percent not before two hex     | GET /%zz HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n                    | 400 | malformed percent-encoding in the request target",
                "a percent at the end             | GET /a?b=% HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n                  | 400 | malformed percent-encoding in the request target",
                "obs-fold                         | GET / HTTP/1.1\\r\\nHost: x\\r\\nA: b\\r\\n c\\r\\n\\r\\n         | 400 | obsolete line folding in the request head",
                "space before the colon           | GET / HTTP/1.1\\r\\nHost : x\\r\\n\\r\\n                      | 400 | whitespace between a header field name and its colon",
                "a NUL in a value                 | GET / HTTP/1.1\\r\\nHost: x\\r\\nA: \\u0000\\r\\n\\r\\n        | 400 | a control character in a header field value",
                "a bare CR in a value             | GET / HTTP/1.1\\r\\nHost: x\\r\\nA: b\\rc\\r\\n\\r\\n          | 400 | a bare CR in a header field value",
                "a bare LF ending a field line    | GET / HTTP/1.1\\r\\nHost: x\\nA: b\\r\\n\\r\\n                | 400 | a line of the request head ends with a bare LF",
                "CL with TE                       | POST / HTTP/1.1\\r\\nHost: x\\r\\nContent-Length: 1\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\n | 400 | both Content-Length and Transfer-Encoding",
                "two Content-Lengths              | POST / HTTP/1.1\\r\\nHost: x\\r\\nContent-Length: 1\\r\\nContent-Length: 1\\r\\n\\r\\n | 400 | more than one Content-Length",
                "a Content-Length list            | POST / HTTP/1.1\\r\\nHost: x\\r\\nContent-Length: 1, 1\\r\\n\\r\\n | 400 | invalid Content-Length",
                "a signed Content-Length          | POST / HTTP/1.1\\r\\nHost: x\\r\\nContent-Length: +1\\r\\n\\r\\n | 400 | invalid Content-Length",
                "19 digits of Content-Length      | POST / HTTP/1.1\\r\\nHost: x\\r\\nContent-Length: 1234567890123456789\\r\\n\\r\\n | 400 | invalid Content-Length",
                "gzip, chunked                    | POST / HTTP/1.1\\r\\nHost: x\\r\\nTransfer-Encoding: gzip, chunked\\r\\n\\r\\n | 400 | unsupported Transfer-Encoding (only a single 'chunked' is accepted)",
                "two Transfer-Encodings           | POST / HTTP/1.1\\r\\nHost: x\\r\\nTransfer-Encoding: chunked\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\n | 400 | unsupported Transfer-Encoding (only a single 'chunked' is accepted)",
                "TE in HTTP/1.0                   | POST / HTTP/1.0\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\n | 400 | Transfer-Encoding in an HTTP/1.0 request",
                "no Host in HTTP/1.1              | GET / HTTP/1.1\\r\\nA: b\\r\\n\\r\\n                         | 400 | no Host header in an HTTP/1.1 request",
                "two Hosts                        | GET / HTTP/1.1\\r\\nHost: a\\r\\nHost: b\\r\\n\\r\\n           | 400 | more than one Host header",
            })
    void refusedHeadsGetAStatusAndAReason(String description, String head, int status, String problem) {
        assertThat(scan(unescape(head.trim()))).isEqualTo(new Outcome(-1, status, problem));
    }

    @Test
    void limitsTellALongRequestLineFromALargeHead() {
        assertThat(scan("GET /" + "a".repeat(40_000) + " HTTP/1.1\r\nHost: x\r\n\r\n")
                        .status())
                .isEqualTo(414);
        assertThat(scan("GET / HTTP/1.1\r\nHost: x\r\nX: " + "b".repeat(40_000) + "\r\n\r\n")
                        .status())
                .isEqualTo(431);
        assertThat(scan("GET / HTTP/1.1\r\nHost: x\r\n" + "X-H: v\r\n".repeat(150) + "\r\n")
                        .status())
                .isEqualTo(431);
        assertThat(scan("GET / HTTP/1.1\r\nHost: x\r\n" + "X-H: v\r\n".repeat(99) + "\r\n")
                        .status())
                .isZero();
    }

    private static RequestHeadScanner scanned(String head) {
        byte[] bytes = head.getBytes(StandardCharsets.ISO_8859_1);
        RequestHeadScanner scanner = new RequestHeadScanner(HttpLimits.MAX_HEADER_BYTES, HttpLimits.MAX_HEADERS);
        assertThat(scanner.scan(ByteBuffer.wrap(bytes), 0, bytes.length))
                .as(scanner.problem() + "")
                .isEqualTo(bytes.length);
        return scanner;
    }

    private static String unescape(String s) {
        return s.replace("\\r", "\r")
                .replace("\\n", "\n")
                .replace("\\u0001", "\u0001")
                .replace("\\u0000", "\u0000")
                .replace("\\u00e9", "\u00e9");
    }
}
