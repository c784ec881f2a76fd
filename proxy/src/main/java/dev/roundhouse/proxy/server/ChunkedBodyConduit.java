package dev.roundhouse.proxy.server;

import dev.roundhouse.proxy.codec.ChunkedDecoder;
import io.undertow.conduits.ReadDataStreamSourceConduit;
import io.undertow.server.Connectors;
import io.undertow.server.HttpServerExchange;
import io.undertow.server.protocol.http.HttpServerConnection;
import java.io.IOException;
import java.nio.ByteBuffer;
import org.xnio.conduits.StreamSourceConduit;

/**
 * A chunked request body, decoded strictly by {@link ChunkedDecoder} in place of Undertow's lenient reader: the
 * exchange's request channel yields the data bytes, and a malformed body, or one that ends before its last chunk,
 * fails the read with {@link MalformedRequestBodyException}. Trailer fields are read within the head's limits and
 * dropped. Bytes after the body are not read: a connection that carried a chunked request is closed after it.
 */
final class ChunkedBodyConduit extends SingleBufferSourceConduit {

    private final ChunkedDecoder decoder = ChunkedDecoder.forRequests();
    private final HttpServerExchange exchange;
    private boolean ended;

    private ChunkedBodyConduit(StreamSourceConduit raw, HttpServerExchange exchange) {
        super(raw);
        this.exchange = exchange;
    }

    /** Makes the exchange's request channel read through this decoder; before the channel is first asked for. */
    static void install(HttpServerExchange exchange) {
        HttpServerConnection connection = (HttpServerConnection) exchange.getConnection();
        // Undertow's own chunked reader was put on the channel as the head was parsed. The bytes under it: those
        // read along with the head first, then the connection's.
        StreamSourceConduit raw = new ReadDataStreamSourceConduit(connection.getOriginalSourceConduit(), connection);
        connection.getChannel().getSourceChannel().setConduit(new ChunkedBodyConduit(raw, exchange));
    }

    @Override
    public int read(ByteBuffer dst) throws IOException {
        if (ended) {
            return -1;
        }
        int start = dst.position();
        while (true) {
            int from = dst.position();
            int n = next.read(dst);
            if (n == 0) {
                return dst.position() - start;
            }
            if (n == -1) {
                if (dst.position() > start) {
                    return dst.position() - start; // what was decoded first; the end of the stream comes next
                }
                throw new MalformedRequestBodyException("the request body ended before its last chunk");
            }
            ByteBuffer src = dst.duplicate().limit(from + n).position(from);
            int write = from;
            while (true) {
                int data = decoder.next(src);
                if (data > 0) {
                    if (src.position() != write) {
                        dst.put(write, dst, src.position(), data); // only ever to the left: framing is dropped
                    }
                    write += data;
                    src.position(src.position() + data);
                    decoder.taken(data);
                } else if (data == ChunkedDecoder.NEED_MORE) {
                    break;
                } else if (data == ChunkedDecoder.END) {
                    ended = true;
                    Connectors.terminateRequest(exchange);
                    break;
                } else {
                    dst.position(write);
                    throw new MalformedRequestBodyException("malformed chunked body: " + decoder.problem());
                }
            }
            dst.position(write);
            if (ended) {
                return write > start ? write - start : -1;
            }
            if (write > start) {
                return write - start;
            }
            // only framing was read: read on
        }
    }

    @Override
    public boolean isReadShutdown() {
        return ended || next.isReadShutdown();
    }
}
