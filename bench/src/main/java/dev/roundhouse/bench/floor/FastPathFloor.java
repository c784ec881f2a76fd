package dev.roundhouse.bench.floor;

import dev.roundhouse.proxy.codec.HttpLimits;
import dev.roundhouse.proxy.codec.RequestHeadScanner;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import org.xnio.ChannelListeners;
import org.xnio.IoUtils;
import org.xnio.OptionMap;
import org.xnio.Options;
import org.xnio.StreamConnection;
import org.xnio.Xnio;
import org.xnio.XnioWorker;
import org.xnio.channels.AcceptingChannel;
import org.xnio.conduits.ConduitStreamSinkChannel;
import org.xnio.conduits.ConduitStreamSourceChannel;

/**
 * The ceiling of a request fast path on Undertow's I/O layer: the same XNIO worker, I/O threads and socket options
 * as {@code ProxyServer}, each request head read by the proxy's own {@link RequestHeadScanner} straight off the
 * connection, and answered with the benchmark backends' response written as bytes, with no {@code
 * HttpServerExchange}, header map or conduit chain. What forwarding on such a path would cost on top is the proxy's
 * share; this is the server's. {@code bench/proxy-vs-peers.sh} runs it as the target {@code fastpath-floor}, beside
 * Undertow's server ({@code undertow-floor}) and nginx ({@code nginx-static}) answering by themselves.
 *
 * <p>It answers keep-alive HTTP/1.1 without bodies, as the load generator sends: pipelined heads are answered in one
 * write, {@code Connection: close} closes after its answer, a refused head gets the scanner's status and a close.
 * Anything with a body is refused (a measuring stick, not a server). {@code PORT}, {@code BIND_ADDRESS} and {@code
 * FLOOR_BODY} come from the environment.
 */
public final class FastPathFloor {

    private final FloorAnswer answer;
    /** The last answer made, and a direct copy that writes go from by duplicates (the socket takes it uncopied). */
    private volatile byte[] made;

    private volatile ByteBuffer direct;

    private FastPathFloor(String body) {
        this.answer = new FloorAnswer(body);
    }

    /** The whole response, with {@link #direct} made from it. */
    private byte[] response() {
        byte[] r = answer.bytes();
        if (r != made) {
            direct = ByteBuffer.allocateDirect(r.length).put(r).flip();
            made = r;
        }
        return r;
    }

    public static void main(String[] argv) throws Exception {
        FloorAnswer.serve(FastPathFloor::start);
    }

    /** A floor listening on {@code host:port} (0: any free port). */
    record Running(XnioWorker worker, AcceptingChannel<StreamConnection> server, int port)
            implements FloorAnswer.Listening {
        @Override
        public void close() {
            IoUtils.safeClose(server);
            worker.shutdownNow();
        }
    }

    static Running start(String host, int port, String body) throws IOException {
        FastPathFloor floor = new FastPathFloor(body);
        XnioWorker worker = Xnio.getInstance()
                .createWorker(OptionMap.builder()
                        .set(
                                Options.WORKER_IO_THREADS,
                                Math.max(1, Runtime.getRuntime().availableProcessors()))
                        .set(Options.WORKER_TASK_CORE_THREADS, 2)
                        .set(Options.WORKER_TASK_MAX_THREADS, 4)
                        .set(Options.TCP_NODELAY, true)
                        .getMap());
        AcceptingChannel<StreamConnection> server = worker.createStreamConnectionServer(
                new InetSocketAddress(host, port),
                ChannelListeners.openListenerAdapter(connection -> floor.new Connection(connection)),
                OptionMap.builder()
                        .set(Options.TCP_NODELAY, true)
                        .set(Options.REUSE_ADDRESSES, true)
                        .set(Options.BACKLOG, 1024)
                        .getMap());
        server.resumeAccepts();
        return new Running(worker, server, ((InetSocketAddress) server.getLocalAddress()).getPort());
    }

    /**
     * One client connection: its read interest stays on for its life (no {@code epoll_ctl} per request), every
     * readable event scans what arrived and answers each whole head.
     */
    private final class Connection {
        private final StreamConnection connection;
        private final ConduitStreamSourceChannel source;
        private final ConduitStreamSinkChannel sink;
        private final RequestHeadScanner scanner =
                new RequestHeadScanner(HttpLimits.MAX_HEADER_BYTES, HttpLimits.MAX_HEADERS);
        /** Bytes read and not yet a whole head: [0, position). */
        private final ByteBuffer in = ByteBuffer.allocateDirect(HttpLimits.MAX_HEADER_BYTES + 1024);
        /** Answers not yet written, or null. */
        private ByteBuffer pending;

        private boolean closeAfter;

        Connection(StreamConnection connection) {
            this.connection = connection;
            this.source = connection.getSourceChannel();
            this.sink = connection.getSinkChannel();
            source.getReadSetter().set(channel -> readable());
            sink.getWriteSetter().set(channel -> writable());
            source.resumeReads();
        }

        private void readable() {
            try {
                int n = source.read(in);
                if (n == -1) {
                    IoUtils.safeClose(connection);
                    return;
                }
                if (n == 0) {
                    return;
                }
                answer();
            } catch (IOException e) {
                IoUtils.safeClose(connection);
            }
        }

        /** Answers every whole head in {@link #in}, keeps the part of one still arriving. */
        private void answer() throws IOException {
            int end = in.position();
            FloorAnswer.Heads heads = FloorAnswer.scan(scanner, in, end);
            int start = heads.consumed();
            int answers = heads.answers();
            int refused = heads.refused();
            closeAfter |= heads.close();
            if (start > 0) {
                in.limit(end).position(start);
                in.compact(); // a head still arriving moves to the front
            }
            byte[] one = response();
            if (answers == 1 && refused == 0 && pending == null) {
                pending = direct.duplicate(); // the common case: one request, one answer, no copy
                write();
                return;
            }
            ByteBuffer out = ByteBuffer.allocate(
                    answers * one.length + (refused != 0 ? 64 : 0) + (pending == null ? 0 : pending.remaining()));
            if (pending != null) {
                out.put(pending);
            }
            for (int i = 0; i < answers; i++) {
                out.put(one);
            }
            if (refused != 0) {
                out.put(FloorAnswer.refusal(refused));
                closeAfter = true;
            }
            pending = out.flip();
            write();
        }

        private void write() throws IOException {
            while (pending.hasRemaining()) {
                if (sink.write(pending) == 0) {
                    source.suspendReads(); // nothing more is read until the client takes its answers
                    sink.resumeWrites();
                    return;
                }
            }
            pending = null;
            if (closeAfter) {
                IoUtils.safeClose(connection);
            }
        }

        private void writable() {
            try {
                write();
                if (pending == null && connection.isOpen()) {
                    sink.suspendWrites();
                    source.resumeReads();
                }
            } catch (IOException e) {
                IoUtils.safeClose(connection);
            }
        }
    }
}
