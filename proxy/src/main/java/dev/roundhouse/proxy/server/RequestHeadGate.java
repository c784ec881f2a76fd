package dev.roundhouse.proxy.server;

import dev.roundhouse.proxy.codec.Http2FrameScanner;
import dev.roundhouse.proxy.codec.HttpLimits;
import dev.roundhouse.proxy.codec.RequestHeadScanner;
import io.undertow.server.AbstractServerConnection;
import io.undertow.server.HttpServerExchange;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.xnio.IoUtils;
import org.xnio.StreamConnection;
import org.xnio.XnioExecutor;
import org.xnio.conduits.StreamSourceConduit;

/**
 * The bottom of a client connection's read side: Undertow's parser above it only ever gets request heads that
 * {@link RequestHeadScanner} passed, whole. It follows the connection's framing to know where heads are (a
 * Content-Length body is passed through by its length; after a chunked body, an upgrade or a CONNECT nothing more
 * is checked, since {@link RequestGuard} closes such connections after their response). It also
 * <ul>
 *   <li>drops empty lines before a request line (RFC 9112 section 2.2);</li>
 *   <li>holds a head that arrives in pieces until it is complete, and closes the connection when it is not complete
 *       within the header timeout once the proxy waits for it;</li>
 *   <li>replaces a refused head with a stand-in request, in its place among pipelined ones, that
 *       {@link RequestGuard} answers with the refusal's status and closes: so a refusal is answered, counted and
 *       ordered as any other response. Nothing the client sent after it is read as a request.</li>
 * </ul>
 * A connection that opens with the HTTP/2 preface (cleartext HTTP/2 with prior knowledge), or sends it after an
 * upgrade (to h2c), is HTTP/2 from there: Undertow's HTTP/2 parser reads it, and the gate reads through an
 * {@link Http2FrameGate}, which follows the frames.
 *
 * <p>Runs on the connection's I/O thread only.
 */
final class RequestHeadGate extends SingleBufferSourceConduit {

    /** What the gate's stand-in for a refused head carries to {@link RequestGuard}. */
    record Refusal(int status, String reason, String method) {}

    private static final byte[] STAND_IN =
            "GET / HTTP/1.1\r\nHost: refused\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
    /** Empty lines tolerated before one request line. */
    private static final int MAX_EMPTY_LINES = 4;

    private static final int HEAD = 0;
    private static final int BODY = 1;
    private static final int PASS = 2;
    private static final int REFUSED = 3;
    /** After an upgrade: HTTP/2 frames if the preface comes next, else bytes of another protocol. */
    private static final int AFTER_UPGRADE = 4;

    private final StreamConnection connection;
    private final long headerTimeoutMillis;
    private final RequestHeadScanner scanner =
            new RequestHeadScanner(HttpLimits.MAX_HEADER_BYTES, HttpLimits.MAX_HEADERS);
    private int mode = HEAD;
    private long bodyLeft;
    private int emptyLines;
    /** Bytes read but not handed up: [start, checked) may be, [checked, end) is a head still arriving. */
    private ByteBuffer held;

    private int heldStart;
    private int heldChecked;
    private int heldEnd;
    /** Where the bytes checked by the last {@link #check} end, after any empty lines were dropped. */
    private int checkedEnd;

    private XnioExecutor.Key headerTimer;
    private int headsDelivered;
    private int exchangesSeen;
    private int refusedHead = -1;
    private Refusal refusal;
    /** Once the connection speaks HTTP/2: what it is read through, from the preface on. */
    private Http2FrameGate h2;
    /** Bytes read from the connection before the gate was put in (during a TLS handshake), handed up first. */
    private EarlyBytes early = new EarlyBytes(null);

    RequestHeadGate(StreamSourceConduit next, StreamConnection connection, long headerTimeoutMillis) {
        super(next);
        this.connection = connection;
        this.headerTimeoutMillis = headerTimeoutMillis;
    }

    /** Puts a gate under Undertow's reading of {@code connection}; call before Undertow takes the connection. */
    static void install(StreamConnection connection, long headerTimeoutMillis) {
        install(connection, headerTimeoutMillis, null);
    }

    /**
     * As {@link #install(StreamConnection, long)}, for a connection of which {@code early} was read already (by the
     * protocol negotiation of a TLS handshake): those bytes are checked and handed up before the connection's next.
     */
    static void install(StreamConnection connection, long headerTimeoutMillis, ByteBuffer early) {
        RequestHeadGate gate =
                new RequestHeadGate(connection.getSourceChannel().getConduit(), connection, headerTimeoutMillis);
        gate.early = new EarlyBytes(early);
        connection.getSourceChannel().setConduit(gate);
    }

    /**
     * Called once per exchange, in order: the refusal the exchange stands in for, or null for a checked request.
     * An exchange on a connection without a gate is never refused here.
     */
    static Refusal refusalFor(HttpServerExchange exchange) {
        if (exchange.getConnection() instanceof AbstractServerConnection c
                && c.getOriginalSourceConduit() instanceof RequestHeadGate gate) {
            gate.exchangesSeen++;
            return gate.refusedHead > 0 && gate.exchangesSeen >= gate.refusedHead ? gate.refusal : null;
        }
        return null;
    }

    @Override
    public int read(ByteBuffer dst) throws IOException {
        if (heldChecked > heldStart) {
            return deliverHeld(dst);
        }
        if (mode == REFUSED) {
            return discard();
        }
        if (h2 != null) {
            return h2.read(dst);
        }
        if (heldEnd > heldChecked) {
            return readHeld(dst);
        }
        int start = dst.position();
        int n = early.waiting() ? early.take(dst) : next.read(dst);
        if (n <= 0) {
            return n;
        }
        int deliverable = check(dst, start, dst.position());
        if (h2 != null) {
            // HTTP/2 began in these bytes: they went to the frame gate, which hands them up from here
            dst.position(deliverable);
            int more = dst.hasRemaining() ? h2.read(dst) : 0;
            return deliverable - start + Math.max(0, more);
        }
        if (checkedEnd > deliverable && (mode == HEAD || mode == AFTER_UPGRADE)) {
            hold(dst, deliverable, checkedEnd); // a head still arriving
        }
        dst.position(deliverable);
        if (deliverable == start) {
            if (heldChecked > heldStart) {
                next.wakeupReads(); // the stand-in did not fit in dst: it waits in held, and no socket event will
                // say so
            } else if (heldEnd > heldChecked) {
                armHeaderTimer();
            }
        }
        return deliverable - start;
    }

    /**
     * Checks the bytes {@code [from, end)} of {@code b} in place: passes body bytes, scans heads, drops empty lines
     * before a request line (which moves the bytes after them: {@link #checkedEnd} is the new end), and puts the
     * stand-in in place of a refused head.
     *
     * @return the end of the bytes that may be handed up; a head still arriving follows them, up to
     *     {@link #checkedEnd}
     */
    private int check(ByteBuffer b, int from, int end) {
        int p = from;
        checkedEnd = end;
        while (p < checkedEnd) {
            switch (mode) {
                case BODY -> {
                    long take = Math.min(bodyLeft, checkedEnd - p);
                    p += (int) take;
                    bodyLeft -= take;
                    if (bodyLeft == 0) {
                        mode = HEAD;
                    }
                }
                case PASS -> p = checkedEnd;
                case AFTER_UPGRADE -> {
                    int preface = Http2FrameScanner.preface(b, p, checkedEnd);
                    if (preface < 0) {
                        return p;
                    }
                    if (preface > 0) {
                        return http2From(b, p); // the client's preface after 101: h2c
                    }
                    mode = PASS;
                }
                case REFUSED -> {
                    return p; // what follows a refused head is never handed up
                }
                case HEAD -> {
                    if (headsDelivered == 0 && scanner.consumed() == 0 && emptyLines == 0) {
                        int preface = Http2FrameScanner.preface(b, p, checkedEnd);
                        if (preface < 0) {
                            return p; // maybe the preface: wait for the rest of it
                        }
                        if (preface > 0) {
                            cancelHeaderTimer();
                            return http2From(b, p); // prior knowledge: HTTP/2 from the first byte
                        }
                    }
                    if (scanner.consumed() == 0 && b.get(p) == '\r') {
                        if (p + 1 == checkedEnd) {
                            return p; // maybe an empty line: wait for its LF
                        }
                        if (b.get(p + 1) == '\n' && emptyLines < MAX_EMPTY_LINES) {
                            emptyLines++;
                            shiftLeft(b, p + 2, checkedEnd, 2);
                            checkedEnd -= 2;
                            continue;
                        }
                    }
                    int r = scanner.scan(b, p, checkedEnd);
                    if (r == RequestHeadScanner.NEED_MORE) {
                        return p;
                    }
                    if (r == RequestHeadScanner.REFUSED) {
                        p = refuse(b, p);
                        checkedEnd = p;
                        return p;
                    }
                    headsDelivered++;
                    p += r;
                    headComplete();
                }
                default -> throw new IllegalStateException("gate mode " + mode);
            }
        }
        return p;
    }

    /** From {@code b[at]} on the connection is HTTP/2: those bytes and the rest go through a frame gate. */
    private int http2From(ByteBuffer b, int at) {
        h2 = new Http2FrameGate(
                next, connection, b.duplicate().limit(checkedEnd).position(at));
        checkedEnd = at;
        return at;
    }

    private void headComplete() {
        if (scanner.upgrade()) {
            mode = AFTER_UPGRADE;
        } else if (scanner.mayLeaveHttp() || scanner.chunked()) {
            mode = PASS;
        } else if (scanner.contentLength() > 0) {
            mode = BODY;
            bodyLeft = scanner.contentLength();
        }
        scanner.reset();
        emptyLines = 0;
        cancelHeaderTimer();
    }

    /**
     * Puts the stand-in where the refused head began ({@code at}); when it does not fit there, held is grown to take
     * it, or (when {@code b} is the caller's buffer) it waits in held to be handed up by the next read.
     *
     * @return the end of the bytes that may be handed up from {@code b}
     */
    private int refuse(ByteBuffer b, int at) {
        refusal = new Refusal(scanner.status(), scanner.problem(), method(b, at));
        refusedHead = ++headsDelivered;
        mode = REFUSED;
        cancelHeaderTimer();
        if (b.limit() - at >= STAND_IN.length) {
            b.put(at, STAND_IN);
            return at + STAND_IN.length;
        }
        if (b == held) {
            ByteBuffer larger = ByteBuffer.allocate(at + STAND_IN.length);
            larger.put(0, held, 0, at);
            larger.put(at, STAND_IN);
            held = larger;
            return at + STAND_IN.length;
        }
        held = ByteBuffer.wrap(STAND_IN.clone());
        heldStart = 0;
        heldChecked = STAND_IN.length;
        heldEnd = STAND_IN.length;
        return at;
    }

    /** The refused request's method, when its request line got that far; for the request metric's label. */
    private static String method(ByteBuffer b, int at) {
        StringBuilder method = new StringBuilder();
        for (int i = at; i < b.limit() && i < at + 16; i++) {
            byte c = b.get(i);
            if (c == ' ') {
                return method.toString();
            }
            if (!RequestHeadScanner.isTchar(c)) {
                break;
            }
            method.append((char) c);
        }
        return "";
    }

    /** Moves the head still arriving, {@code b[from, end)}, to held, where it waits for the rest of its bytes. */
    private void hold(ByteBuffer b, int from, int end) {
        int length = end - from;
        if (held == null || held.capacity() < length + 1024) {
            held = ByteBuffer.allocate(Math.max(2048, length + 1024));
        }
        held.put(0, b, from, length);
        heldStart = 0;
        heldChecked = 0;
        heldEnd = length;
    }

    /** A head is arriving in pieces: reads more into held and checks on. */
    private int readHeld(ByteBuffer dst) throws IOException {
        if (heldEnd == held.capacity()) {
            // The scanner refuses a head before it outgrows the limit, so held stays bounded.
            ByteBuffer room = heldChecked > 0
                    ? held
                    : ByteBuffer.allocate(Math.min(held.capacity() * 2, HttpLimits.MAX_HEADER_BYTES + 4096));
            room.put(0, held, heldChecked, heldEnd - heldChecked);
            heldEnd -= heldChecked;
            heldStart = 0;
            heldChecked = 0;
            held = room;
        }
        int n = next.read(held.duplicate().position(heldEnd));
        if (n == -1) {
            return -1; // the client ended the connection mid-head
        }
        if (n == 0) {
            armHeaderTimer();
            return 0;
        }
        int deliverable = check(held, heldChecked, heldEnd + n);
        heldEnd = checkedEnd;
        heldChecked = deliverable;
        if (h2 != null && heldChecked == heldStart) {
            held = null;
            heldStart = heldChecked = heldEnd = 0;
            return h2.read(dst);
        }
        if (heldChecked == heldStart) {
            armHeaderTimer();
            return 0;
        }
        return deliverHeld(dst);
    }

    private int deliverHeld(ByteBuffer dst) {
        int n = Math.min(heldChecked - heldStart, dst.remaining());
        dst.put(dst.position(), held, heldStart, n);
        dst.position(dst.position() + n);
        heldStart += n;
        if (heldStart == heldChecked && heldEnd == heldChecked) {
            heldStart = heldChecked = heldEnd = 0;
            held = null; // most connections never need it again
        }
        return n;
    }

    /** After a refusal nothing more of the client's is read as HTTP: its bytes are dropped until it closes. */
    private int discard() throws IOException {
        ByteBuffer sink = ByteBuffer.allocate(4096);
        while (true) {
            sink.clear();
            int n = next.read(sink);
            if (n <= 0) {
                return n;
            }
        }
    }

    private void armHeaderTimer() {
        if (headerTimer == null && headerTimeoutMillis > 0) {
            headerTimer = connection
                    .getIoThread()
                    .executeAfter(
                            () -> {
                                headerTimer = null;
                                IoUtils.safeClose(
                                        connection); // a head that did not arrive in time: the slowloris defence
                            },
                            headerTimeoutMillis,
                            TimeUnit.MILLISECONDS);
        }
    }

    private void cancelHeaderTimer() {
        if (headerTimer != null) {
            headerTimer.remove();
            headerTimer = null;
        }
    }

    private static void shiftLeft(ByteBuffer b, int from, int end, int by) {
        for (int i = from; i < end; i++) {
            b.put(i - by, b.get(i));
        }
    }

    @Override
    public void resumeReads() {
        if (h2 != null && heldChecked == heldStart) {
            h2.resumeReads();
        } else if (heldChecked > heldStart || early.waiting()) {
            next.wakeupReads(); // bytes are waiting here, not in the socket: no readiness event would come
        } else {
            next.resumeReads();
        }
    }

    @Override
    public void awaitReadable() throws IOException {
        if (h2 != null && heldChecked == heldStart) {
            h2.awaitReadable();
        } else if (heldChecked == heldStart && !early.waiting()) {
            next.awaitReadable();
        }
    }

    @Override
    public void awaitReadable(long time, TimeUnit timeUnit) throws IOException {
        if (h2 != null && heldChecked == heldStart) {
            h2.awaitReadable(time, timeUnit);
        } else if (heldChecked == heldStart && !early.waiting()) {
            next.awaitReadable(time, timeUnit);
        }
    }

    @Override
    public void terminateReads() throws IOException {
        cancelHeaderTimer();
        held = null;
        heldStart = heldChecked = heldEnd = 0;
        next.terminateReads();
    }
}
