package dev.roundhouse.proxy.upstream;

import dev.roundhouse.poolformat.PoolDocument.HealthCheck;
import dev.roundhouse.proxy.codec.Grpc;
import dev.roundhouse.proxy.pool.Backend;
import io.undertow.client.ClientCallback;
import io.undertow.client.ClientExchange;
import io.undertow.client.ClientRequest;
import io.undertow.connector.ByteBufferPool;
import io.undertow.protocols.http2.Http2StreamSourceChannel;
import io.undertow.util.HeaderMap;
import io.undertow.util.Headers;
import io.undertow.util.HttpString;
import io.undertow.util.Methods;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import org.xnio.ChannelListeners;
import org.xnio.channels.StreamSinkChannel;
import org.xnio.channels.StreamSourceChannel;

/**
 * One active health check of an HTTP/2 backend, made as requests reach it: a stream on one of the I/O thread's
 * connections to it ({@link MultiplexedConnections}), so a check passes only where a request would get through. A
 * GET of the check path (2xx or 3xx passes), or with {@code healthCheck.grpcService} the standard gRPC health call,
 * {@code grpc.health.v1.Health/Check}, which passes on {@code SERVING}. Runs on its I/O thread; completes with null
 * when the check passed, else with the reason it failed.
 */
public final class StreamProbe extends TimedExchange implements StreamWaiter {

    /** What of a check's answer is read at most: a health answer is a few bytes, a hostile one is not read on. */
    private static final int MAX_ANSWER_BYTES = 1024;

    private static final HttpString USER_AGENT = Headers.USER_AGENT;

    private final UpstreamThread thread;
    private final Backend backend;
    private final HealthCheck settings;
    private final ByteBufferPool buffers;
    private final long deadline;
    private final CompletableFuture<String> result;

    private MultiplexedConnection connection;
    private ClientExchange stream;
    private final ByteArrayOutputStream answer = new ByteArrayOutputStream();
    private HeaderMap trailers;
    /** The answer came whole: the stream is closed both ways, and needs no reset. */
    private boolean answered;

    private StreamProbe(
            UpstreamThread thread,
            Backend backend,
            HealthCheck settings,
            ByteBufferPool buffers,
            CompletableFuture<String> result) {
        this.thread = thread;
        this.result = result;
        this.backend = backend;
        this.settings = settings;
        this.buffers = buffers;
        this.deadline = System.nanoTime() + settings.timeout().toNanos();
    }

    /**
     * Checks {@code backend}; call on {@code thread}'s I/O thread. {@code result} completes there, with null when the
     * check passed or the reason it failed.
     */
    public static void start(
            UpstreamThread thread,
            Backend backend,
            HealthCheck settings,
            ByteBufferPool buffers,
            CompletableFuture<String> result) {
        new StreamProbe(thread, backend, settings, buffers, result).start();
    }

    private void start() {
        thread.watch(this);
        if (!thread.multiplexed()
                .acquire(backend, this, buffers, settings.timeout().toNanos())) {
            done("too many requests waiting for a stream");
        }
    }

    @Override
    public boolean anyConnect() {
        return true; // a check that gets through is how an ejected backend returns
    }

    @Override
    public boolean streamReady(MultiplexedConnection ready) {
        if (result.isDone()) {
            return false;
        }
        connection = ready;
        ClientRequest request = new ClientRequest();
        request.getRequestHeaders().put(Headers.HOST, backend.uri().getAuthority());
        request.getRequestHeaders().put(USER_AGENT, "roundhouse-health-check");
        byte[] body = null;
        if (settings.grpc()) {
            body = healthRequest(settings.grpcService());
            request.setMethod(Methods.POST).setPath("/grpc.health.v1.Health/Check");
            request.getRequestHeaders().put(Headers.CONTENT_TYPE, "application/grpc");
            request.getRequestHeaders().put(Headers.TE, "trailers");
            request.getRequestHeaders().put(Headers.CONTENT_LENGTH, body.length);
        } else {
            request.setMethod(Methods.GET).setPath(settings.path());
        }
        byte[] sending = body;
        ready.send(request, new ClientCallback<>() {
            @Override
            public void completed(ClientExchange opened) {
                opened(opened, sending);
            }

            @Override
            public void failed(IOException e) {
                done("the connection failed: " + e.getMessage());
            }
        });
        return true;
    }

    private void opened(ClientExchange opened, byte[] body) {
        if (result.isDone()) {
            connection.cancel(opened);
            return;
        }
        stream = opened;
        opened.setResponseListener(new ClientCallback<>() {
            @Override
            public void completed(ClientExchange answered) {
                readAnswer();
            }

            @Override
            public void failed(IOException e) {
                done("the stream failed: " + e.getMessage());
            }
        });
        if (body != null) {
            StreamSinkChannel out = opened.getRequestChannel();
            try {
                out.write(ByteBuffer.wrap(body)); // a few bytes: within any stream's first window
                out.shutdownWrites();
                if (!out.flush()) {
                    out.getWriteSetter()
                            .set(ChannelListeners.flushingChannelListener(
                                    null, (channel, e) -> done("sending the check failed")));
                    out.resumeWrites();
                }
            } catch (IOException e) {
                done("sending the check failed: " + e.getMessage());
            }
        }
    }

    private void readAnswer() {
        if (result.isDone()) {
            return;
        }
        StreamSourceChannel in = stream.getResponseChannel();
        if (in instanceof Http2StreamSourceChannel frames) {
            frames.setTrailersHandler(received -> trailers = received);
        }
        in.getReadSetter().set(channel -> read(in));
        read(in);
    }

    private void read(StreamSourceChannel in) {
        if (result.isDone()) {
            return;
        }
        ByteBuffer buffer = ByteBuffer.allocate(512);
        try {
            while (true) {
                buffer.clear();
                int n = in.read(buffer);
                if (n == 0) {
                    in.resumeReads();
                    return;
                }
                if (n == -1) {
                    answered = true;
                    judge();
                    return;
                }
                if (answer.size() < MAX_ANSWER_BYTES) {
                    answer.write(buffer.array(), 0, Math.min(n, MAX_ANSWER_BYTES - answer.size()));
                }
            }
        } catch (IOException e) {
            done("reading the answer failed: " + e.getMessage());
        }
    }

    private void judge() {
        int status = stream.getResponse().getResponseCode();
        if (!settings.grpc()) {
            done(status >= 200 && status < 400 ? null : "status " + status);
            return;
        }
        if (status != 200) {
            done("status " + status);
            return;
        }
        HeaderMap head = stream.getResponse().getResponseHeaders();
        String grpcStatus = trailers != null ? trailers.getFirst(Grpc.STATUS) : head.getFirst(Grpc.STATUS);
        int code = Grpc.status(grpcStatus);
        if (code != Grpc.OK) {
            String message = trailers != null ? trailers.getFirst(Grpc.MESSAGE) : head.getFirst(Grpc.MESSAGE);
            done("grpc-status " + Grpc.name(code) + (message == null ? "" : " (" + message + ")"));
            return;
        }
        String serving = servingStatus(answer.toByteArray());
        done("SERVING".equals(serving) ? null : "the health service answered " + serving);
    }

    /** HealthCheckRequest {string service = 1}, as one uncompressed gRPC message. */
    static byte[] healthRequest(String service) {
        byte[] name = service.getBytes(StandardCharsets.UTF_8);
        ByteArrayOutputStream message = new ByteArrayOutputStream();
        if (name.length > 0) {
            message.write(0x0a); // field 1, length-delimited
            writeVarint(message, name.length);
            message.writeBytes(name);
        }
        byte[] bytes = message.toByteArray();
        ByteArrayOutputStream framed = new ByteArrayOutputStream();
        framed.write(0); // not compressed
        framed.write(bytes.length >>> 24);
        framed.write(bytes.length >>> 16);
        framed.write(bytes.length >>> 8);
        framed.write(bytes.length);
        framed.writeBytes(bytes);
        return framed.toByteArray();
    }

    /**
     * The status of a framed HealthCheckResponse {ServingStatus status = 1}: UNKNOWN, SERVING, NOT_SERVING or
     * SERVICE_UNKNOWN; what is not such a message is described as malformed.
     */
    static String servingStatus(byte[] framed) {
        if (framed.length < 5 || framed[0] != 0) {
            return "a malformed message";
        }
        int length = ((framed[1] & 0xff) << 24)
                | ((framed[2] & 0xff) << 16)
                | ((framed[3] & 0xff) << 8)
                | (framed[4] & 0xff);
        if (length != framed.length - 5) {
            return "a malformed message";
        }
        long status = 0; // absent: the default, UNKNOWN
        int p = 5;
        while (p < framed.length) {
            int tag = framed[p++] & 0xff;
            if (tag != 0x08 || p >= framed.length) {
                return "a malformed message";
            }
            long value = 0;
            int shift = 0;
            while (p < framed.length) {
                int b = framed[p++] & 0xff;
                value |= (long) (b & 0x7f) << shift;
                shift += 7;
                if ((b & 0x80) == 0) {
                    break;
                }
                if (shift > 63) {
                    return "a malformed message";
                }
            }
            status = value;
        }
        return switch ((int) status) {
            case 0 -> "UNKNOWN";
            case 1 -> "SERVING";
            case 2 -> "NOT_SERVING";
            case 3 -> "SERVICE_UNKNOWN";
            default -> "status " + status;
        };
    }

    private static void writeVarint(ByteArrayOutputStream out, int value) {
        while ((value & ~0x7f) != 0) {
            out.write((value & 0x7f) | 0x80);
            value >>>= 7;
        }
        out.write(value);
    }

    @Override
    public void streamConnectFailed(boolean counted) {
        done("connect failed");
    }

    @Override
    protected boolean overdue(long now) {
        return now >= deadline;
    }

    @Override
    protected void deadlinePassed(long now) {
        done("no answer within " + settings.timeout().toMillis() + " ms");
    }

    /** Ends the check with {@code failure} (null: passed), and lets go of what it holds. */
    private void done(String failure) {
        if (result.isDone()) {
            return;
        }
        thread.unwatch(this);
        thread.multiplexed().stopWaiting(backend, this);
        MultiplexedConnection on = connection;
        connection = null;
        if (on != null) {
            if (failure != null && stream != null && !answered) {
                on.cancel(stream);
            }
            thread.multiplexed().release(on);
        }
        result.complete(failure);
    }
}
