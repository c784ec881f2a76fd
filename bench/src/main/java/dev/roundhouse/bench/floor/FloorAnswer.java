package dev.roundhouse.bench.floor;

import dev.roundhouse.proxy.codec.RequestHeadScanner;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.concurrent.CountDownLatch;

/**
 * What the byte-level server floors ({@link FastPathFloor}, {@link IoUringFloor}) answer: the benchmark backends'
 * response, as nginx would send it, its Date the current second's (made once per second, as servers do).
 */
final class FloorAnswer {

    /** A floor listening; closing it stops it. */
    interface Listening extends AutoCloseable {
        int port();

        @Override
        void close();
    }

    /** How a floor starts, on {@code host:port} (0: any free port), answering {@code body}. */
    interface Starter {
        Listening start(String host, int port, String body) throws Exception;
    }

    /**
     * A floor's {@code main}: started as the environment says ({@code PORT}, {@code BIND_ADDRESS}, {@code
     * FLOOR_BODY}), {@code READY <port>} printed for the benchmark script, stopped with the JVM.
     */
    static void serve(Starter starter) throws Exception {
        Listening running = starter.start(
                System.getenv().getOrDefault("BIND_ADDRESS", "0.0.0.0"),
                Integer.parseInt(System.getenv().getOrDefault("PORT", "8080")),
                System.getenv().getOrDefault("FLOOR_BODY", "x".repeat(100)));
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            running.close();
            stopped.countDown();
        }));
        System.out.println("READY " + running.port());
        System.out.flush();
        stopped.await();
    }

    private static final DateTimeFormatter HTTP_DATE = DateTimeFormatter.RFC_1123_DATE_TIME;
    private static final byte[] CLOSE_FIELD = "connection".getBytes(StandardCharsets.US_ASCII);

    private final byte[] body;
    /** The response head but its Date field. */
    private final byte[] headStart;

    private final byte[] headEnd;
    private volatile long dateSecond;
    private volatile byte[] response;

    FloorAnswer(String body) {
        this.body = body.getBytes(StandardCharsets.US_ASCII);
        this.headStart = "HTTP/1.1 200 OK\r\nServer: nginx\r\nDate: ".getBytes(StandardCharsets.US_ASCII);
        this.headEnd = ("\r\nContent-Type: text/plain\r\nContent-Length: " + this.body.length + "\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII);
    }

    /** The whole response; the same array until the second changes, so callers may keep a copy made from it. */
    byte[] bytes() {
        long now = System.currentTimeMillis() / 1000;
        byte[] r = response;
        if (r == null || now != dateSecond) {
            byte[] date = HTTP_DATE.format(ZonedDateTime.now(ZoneOffset.UTC)).getBytes(StandardCharsets.US_ASCII);
            r = ByteBuffer.allocate(headStart.length + date.length + headEnd.length + body.length)
                    .put(headStart)
                    .put(date)
                    .put(headEnd)
                    .put(body)
                    .array();
            response = r;
            dateSecond = now;
        }
        return r;
    }

    /** The answer to a head the floor does not serve: its status, and the connection closes after it. */
    static byte[] refusal(int status) {
        return ("HTTP/1.1 " + status + " Refused\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII);
    }

    /**
     * What the bytes read so far ask of a floor.
     *
     * @param answers whole heads to answer
     * @param consumed where they end (a head still arriving follows)
     * @param refused the status to refuse the next head with, or 0
     * @param close the last head answered asked to close the connection
     */
    record Heads(int answers, int consumed, int refused, boolean close) {}

    /**
     * Scans the heads in {@code [0, end)} of {@code b} with {@code scanner} (left ready for the next head): each
     * whole one is answered until one asks to close; one the scanner refuses, or one with a body (the floors serve
     * none), is refused.
     */
    static Heads scan(RequestHeadScanner scanner, ByteBuffer b, int end) {
        int start = 0;
        int answers = 0;
        while (start < end) {
            int r = scanner.scan(b, start, end);
            if (r == RequestHeadScanner.NEED_MORE) {
                break;
            }
            if (r == RequestHeadScanner.REFUSED) {
                return new Heads(answers, start, scanner.status(), false);
            }
            if (scanner.contentLength() > 0 || scanner.chunked() || scanner.mayLeaveHttp()) {
                return new Heads(answers, start, 400, false);
            }
            boolean close = asksToClose(b, start, start + r);
            answers++;
            scanner.reset();
            start += r;
            if (close) {
                return new Heads(answers, start, 0, true);
            }
        }
        return new Heads(answers, start, 0, false);
    }

    /** Whether the head {@code [from, to)} of {@code b} has a Connection field (the load sends one only to close). */
    private static boolean asksToClose(ByteBuffer b, int from, int to) {
        outer:
        for (int i = from; i + CLOSE_FIELD.length < to; i++) {
            if (b.get(i) != '\n') {
                continue;
            }
            for (int k = 0; k < CLOSE_FIELD.length; k++) {
                if ((b.get(i + 1 + k) | 0x20) != CLOSE_FIELD[k]) {
                    continue outer;
                }
            }
            return b.get(i + 1 + CLOSE_FIELD.length) == ':';
        }
        return false;
    }
}
