package dev.roundhouse.proxy.upstream;

import dev.roundhouse.proxy.codec.ChunkedDecoder;
import dev.roundhouse.proxy.codec.ResponseHead;
import io.undertow.connector.ByteBufferPool;
import io.undertow.connector.PooledByteBuffer;
import io.undertow.util.HeaderMap;
import java.io.IOException;
import java.nio.ByteBuffer;
import org.xnio.channels.StreamSinkChannel;
import org.xnio.channels.StreamSourceChannel;

/**
 * The response side of one request's HTTP/1.1 exchange with its backends: one pooled relay buffer, the response heads
 * parsed out of it (interim ones apart), and the body moved to the client as its framing says (Content-Length,
 * chunked, or up to the close). Each step says what happened and decides nothing: the request's lifecycle
 * ({@code forward/}) owns the channels' listeners and turns a result into a verdict, a retry or an answer. It also
 * keeps what decides whether the connection may carry another request: a response whose framing ran off (bytes after
 * it, more than its Content-Length, an interim response, a close) leaves it not {@link #reusable}.
 */
public final class ResponseRelay {

    /** What a parse of the buffered bytes found. */
    public enum Head {
        /** No whole head yet. */
        NEED_MORE,
        /** A malformed or too large head, or one interim response too many: {@link #problem} says which. */
        INVALID,
        /** An interim (1xx, not 101) head, parsed into the interim headers; the buffer holds what came after it. */
        INTERIM,
        /** The final head (or a 101), parsed into the response headers; the buffer holds the body's first bytes. */
        FINAL
    }

    /** Where the relay of the body stopped. */
    public enum Step {
        /** Everything buffered went to the client: the backend must send more. */
        WAIT_BACKEND,
        /** The client cannot take more now; the relay goes on when it can. */
        CLIENT_BLOCKED,
        /** The body reached its end as framed. */
        DONE,
        /** The backend's connection broke (a close before the framing's end, or a reset) mid-body. */
        CUT,
        /** The chunked framing is malformed: {@link #problem} says how. */
        MALFORMED,
        /** Writing to the client failed: it went away. */
        CLIENT_GONE
    }

    /** What a read of the backend's connection found. */
    public enum Read {
        /** Bytes arrived. */
        BYTES,
        /** Nothing now. */
        NOTHING,
        /** The relay buffer is full: reading waits until it is taken. */
        FULL,
        /** The connection closed or was reset. */
        BROKEN
    }

    /** Interim responses per request, at most: a backend sending them without end is cut off. */
    static final int MAX_INTERIM = 16;

    private final ByteBufferPool pool;
    private PooledByteBuffer pooled;
    private ByteBuffer buf;
    private int headScanned;
    private ResponseHead.Framing framing;
    private long remaining;
    private ChunkedDecoder chunks;
    private boolean reusable;
    /** The last read filled the relay buffer: more may wait in the socket. */
    private boolean lastReadFull;
    /** Some byte of a response arrived on the current attempt's connection. */
    private boolean heardBack;

    private int interimCount;
    /** Where the last interim head's fields were parsed (the I/O thread's map, shared by its exchanges). */
    private HeaderMap interimFields;
    /** Why the last parse or relay failed. */
    private String problem;

    public ResponseRelay(ByteBufferPool pool) {
        this.pool = pool;
    }

    /** A new attempt on a new connection: what an earlier one left in the buffer is dropped. */
    public void restart() {
        if (buf != null) {
            buf.clear();
        }
        headScanned = 0;
        heardBack = false;
        lastReadFull = false;
    }

    /**
     * Reads while the request head is still going out: a TLS handshake in progress (which the read drives), an early
     * answer, or the connection closing. Early bytes are kept, to be {@link #parseHead parsed} once the head is out.
     */
    public Read readEarly(StreamSourceChannel backend) {
        allocate();
        if (!buf.hasRemaining()) {
            return Read.FULL;
        }
        return read(backend);
    }

    /** Reads more of a response head. */
    public Read readHead(StreamSourceChannel backend) {
        allocate();
        return read(backend);
    }

    private Read read(StreamSourceChannel backend) {
        int n;
        try {
            n = backend.read(buf);
        } catch (IOException e) {
            n = -1;
        }
        if (n < 0) {
            return Read.BROKEN;
        }
        if (n == 0) {
            return Read.NOTHING;
        }
        heardBack = true;
        lastReadFull = !buf.hasRemaining();
        return Read.BYTES;
    }

    /** Bytes the backend sent while the request head went out, not parsed yet. */
    public boolean hasEarlyBytes() {
        return buf != null && buf.position() > 0;
    }

    /**
     * Parses the next head in the buffer into {@code thread}'s {@link UpstreamThread#head}: the final one's fields into
     * {@code responseFields}, an interim one's into the thread's interim map ({@link #interimFields}), which is
     * cleared only then. The head is scanned in the thread's scratch array, cheaper than reading a direct buffer byte
     * by byte.
     */
    public Head parseHead(UpstreamThread thread, HeaderMap responseFields) {
        byte[] scratch = thread.scratch;
        // The array is shared by the thread's exchanges, so it is filled from the start each time, 1 KiB first: a
        // head is rarely longer, and body bytes that came with it need no copy.
        int have = buf.position();
        int copied = 0;
        int end = -1;
        while (end < 0 && copied < have) {
            int chunk = Math.min(have - copied, copied == 0 ? 1024 : have);
            buf.get(copied, scratch, copied, chunk);
            copied += chunk;
            end = ResponseHead.end(scratch, Math.max(0, headScanned - 3), copied);
        }
        headScanned = have;
        if (end < 0) {
            if (!buf.hasRemaining()) {
                problem = "the response head is larger than " + buf.capacity() + " bytes";
                return Head.INVALID;
            }
            return Head.NEED_MORE;
        }
        // "HTTP/1.x 1yz", but not 101: interim responses are parsed apart (the parse below checks the line)
        boolean interim = scratch[9] == '1' && !(scratch[10] == '0' && scratch[11] == '1');
        ResponseHead head = thread.head;
        if (interim) {
            interimFields = thread.interimHeaders();
        }
        if (!head.parse(scratch, end, interim ? interimFields : responseFields)) {
            problem = head.problem;
            return Head.INVALID;
        }
        buf.flip().position(end);
        if (!interim) {
            return Head.FINAL;
        }
        if (++interimCount > MAX_INTERIM) {
            problem = "more than " + MAX_INTERIM + " interim responses";
            return Head.INVALID;
        }
        buf.compact();
        headScanned = 0;
        return Head.INTERIM;
    }

    /**
     * The final head is parsed: the body's framing is set from it.
     *
     * @return false when no body follows (the response is complete with its head)
     */
    public boolean startBody(ResponseHead head, boolean headRequest) {
        // A connection that carried interim responses is not reused (a backend that sends them may send more than
        // asked).
        reusable = !head.close && interimCount == 0;
        framing = head.framing(headRequest);
        if (framing == ResponseHead.Framing.NONE
                && (headRequest || head.status == 204 || head.status == 304)
                && head.contentLength != 0) {
            // No body by rule (RFC 9112 section 6.3). A backend that sends one anyway would have it read as the
            // next request's response; only one that declared Content-Length: 0 is known to be clean.
            reusable = false;
        }
        remaining = head.contentLength;
        chunks = framing == ResponseHead.Framing.CHUNKED ? ChunkedDecoder.forResponses() : null;
        if (framing == ResponseHead.Framing.UNTIL_CLOSE) {
            reusable = false;
        }
        return framing != ResponseHead.Framing.NONE;
    }

    /** Moves body bytes from the backend to the client until either side has to wait, or the body ends. */
    public Step relay(StreamSourceChannel backend, StreamSinkChannel client) {
        while (true) {
            if (buf.hasRemaining()) {
                Step stop = consume(client);
                if (stop != null) {
                    return stop;
                }
                continue;
            }
            buf.clear();
            int n;
            boolean reset = false;
            try {
                n = backend.read(buf);
            } catch (IOException e) {
                n = -1;
                reset = true; // never the end of a body, not even of one delimited by the close
            }
            lastReadFull = !buf.hasRemaining();
            buf.flip();
            if (n == 0) {
                return Step.WAIT_BACKEND;
            }
            if (n < 0) {
                return framing == ResponseHead.Framing.UNTIL_CLOSE && !reset ? Step.DONE : Step.CUT;
            }
        }
    }

    /** Takes the buffered bytes: body bytes to the client, framing bytes through the decoder; null to read more. */
    private Step consume(StreamSinkChannel client) {
        if (framing == ResponseHead.Framing.CHUNKED) {
            return consumeChunked(client);
        }
        if (framing == ResponseHead.Framing.UNTIL_CLOSE) {
            return write(client, buf.remaining());
        }
        if (buf.remaining() > remaining) {
            reusable = false; // the backend sent more than it announced: this connection's framing is off
        }
        Step stop = write(client, (int) Math.min(remaining, buf.remaining()));
        if (stop != null) {
            return stop;
        }
        if (remaining == 0) {
            buf.position(buf.limit());
            return Step.DONE;
        }
        return null;
    }

    private Step consumeChunked(StreamSinkChannel client) {
        while (true) {
            int n = chunks.next(buf);
            if (n > 0) {
                int before = buf.position();
                Step stop = write(client, n);
                if (stop == Step.CLIENT_BLOCKED) {
                    chunks.taken(buf.position() - before);
                }
                if (stop != null) {
                    return stop;
                }
                chunks.taken(n);
            } else if (n == ChunkedDecoder.NEED_MORE) {
                return null;
            } else if (n == ChunkedDecoder.END) {
                if (buf.hasRemaining()) {
                    reusable = false;
                    buf.position(buf.limit());
                }
                return Step.DONE;
            } else {
                problem = "malformed chunked body: " + chunks.problem();
                return Step.MALFORMED;
            }
        }
    }

    /** Writes the next {@code n} buffered bytes to the client; null when all of them went. */
    private Step write(StreamSinkChannel client, int n) {
        int limit = buf.limit();
        buf.limit(buf.position() + n);
        int written;
        try {
            written = client.write(buf);
        } catch (IOException e) {
            // Not buf.limit(limit): the failed write may already have closed the exchange, which released the
            // buffer. It is not used again anyway.
            return Step.CLIENT_GONE;
        }
        buf.limit(limit);
        if (framing != ResponseHead.Framing.CHUNKED) {
            remaining -= written;
        }
        return written < n ? Step.CLIENT_BLOCKED : null;
    }

    /**
     * The response is over. Bytes after it, or perhaps more in the socket, would be read as the next request's
     * response and shift every later one: such a connection is not reused.
     */
    public void ended() {
        if ((buf != null && buf.hasRemaining()) || lastReadFull) {
            reusable = false;
        }
    }

    /** The backend sent something, or closed, when no response was due: its connection cannot carry another. */
    public void unexpectedBytes() {
        reusable = false;
    }

    /** Whether the connection may carry another request after this response. */
    public boolean reusable() {
        return reusable;
    }

    /** Some byte of a response arrived on the current attempt's connection. */
    public boolean heardBack() {
        return heardBack;
    }

    /** The fields of the interim head the last {@link #parseHead} returned {@link Head#INTERIM} for. */
    public HeaderMap interimFields() {
        return interimFields;
    }

    /** Interim responses received so far. */
    public int interimCount() {
        return interimCount;
    }

    /** Why the last {@link Head#INVALID} or {@link Step#MALFORMED} came. */
    public String problem() {
        return problem;
    }

    /**
     * For a protocol switch: the buffer, holding what the backend sent after its 101 (for the client first). The
     * relay lets go of it.
     */
    public PooledByteBuffer handOver() {
        buf.compact().flip();
        PooledByteBuffer early = pooled;
        pooled = null;
        buf = null;
        return early;
    }

    /** Returns the buffer to its pool. */
    public void free() {
        if (pooled != null) {
            pooled.close();
            pooled = null;
            buf = null;
        }
    }

    private void allocate() {
        if (pooled == null) {
            pooled = pool.allocate();
            buf = pooled.getBuffer();
        }
    }
}
