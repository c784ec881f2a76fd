package dev.roundhouse.testing;

import io.grpc.Grpc;
import io.grpc.InsecureServerCredentials;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A gRPC server on loopback (grpc-java, h2c), for tests, benchmarks and the local mode. Its messages are UTF-8
 * text, not protobuf (gRPC carries any bytes), so that curl can show a call:
 *
 * <ul>
 *   <li>{@code roundhouse.demo.Greeter/Hello}: answers {@code hello <text>, from <name>}. A request {@code
 *       status:N} is answered with gRPC status N instead; {@code sleep:MS} answers after MS milliseconds.
 *   <li>{@code roundhouse.demo.Greeter/Count} (server streaming): a request {@code N} gets N messages, {@code 1..N}.
 *   <li>{@code roundhouse.demo.Greeter/Sum} (client streaming): numbers in, their sum out.
 *   <li>{@code roundhouse.demo.Greeter/Echo} (bidirectional): each message back as it comes, prefixed with the name.
 *   <li>{@code grpc.health.v1.Health/Check}: the standard health service (its protobuf messages encoded by hand),
 *       {@code SERVING} until {@link #serving(boolean)} says otherwise; the service names {@code ""} and {@code
 *       roundhouse.demo.Greeter} are known, others get NOT_FOUND.
 * </ul>
 */
public final class GrpcBackend implements AutoCloseable {

    public static final String SERVICE = "roundhouse.demo.Greeter";

    /** UTF-8 text as a gRPC message. */
    public static final MethodDescriptor.Marshaller<String> TEXT = new MethodDescriptor.Marshaller<>() {
        @Override
        public InputStream stream(String value) {
            return new ByteArrayInputStream(value.getBytes(StandardCharsets.UTF_8));
        }

        @Override
        public String parse(InputStream stream) {
            try {
                return new String(stream.readAllBytes(), StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    };

    /** Bytes as they are. */
    public static final MethodDescriptor.Marshaller<byte[]> BYTES = new MethodDescriptor.Marshaller<>() {
        @Override
        public InputStream stream(byte[] value) {
            return new ByteArrayInputStream(value);
        }

        @Override
        public byte[] parse(InputStream stream) {
            try {
                return stream.readAllBytes();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    };

    public static final MethodDescriptor<String, String> HELLO = method("Hello", MethodDescriptor.MethodType.UNARY);
    public static final MethodDescriptor<String, String> COUNT =
            method("Count", MethodDescriptor.MethodType.SERVER_STREAMING);
    public static final MethodDescriptor<String, String> SUM =
            method("Sum", MethodDescriptor.MethodType.CLIENT_STREAMING);
    public static final MethodDescriptor<String, String> ECHO =
            method("Echo", MethodDescriptor.MethodType.BIDI_STREAMING);
    public static final MethodDescriptor<byte[], byte[]> HEALTH_CHECK = MethodDescriptor.<byte[], byte[]>newBuilder()
            .setType(MethodDescriptor.MethodType.UNARY)
            .setFullMethodName("grpc.health.v1.Health/Check")
            .setRequestMarshaller(BYTES)
            .setResponseMarshaller(BYTES)
            .build();

    public final String name;
    /** Calls answered, of every method but the health check. */
    public final AtomicInteger calls = new AtomicInteger();

    public final AtomicInteger healthChecks = new AtomicInteger();
    /** Calls of {@code sleep:MS} whose client cancelled them (or whose stream was reset) before their answer. */
    public final AtomicInteger cancelled = new AtomicInteger();
    /** The metadata (headers) of each call, as received. */
    public final ConcurrentLinkedQueue<Metadata> seen = new ConcurrentLinkedQueue<>();

    private volatile boolean serving = true;
    private final Server server;

    private GrpcBackend(String name, int port) {
        this.name = name;
        ServerServiceDefinition greeter = ServerServiceDefinition.builder(SERVICE)
                .addMethod(HELLO, ServerCalls.asyncUnaryCall(this::hello))
                .addMethod(COUNT, ServerCalls.asyncServerStreamingCall(this::count))
                .addMethod(SUM, ServerCalls.asyncClientStreamingCall(this::sum))
                .addMethod(ECHO, ServerCalls.asyncBidiStreamingCall(this::echo))
                .build();
        ServerServiceDefinition health = ServerServiceDefinition.builder("grpc.health.v1.Health")
                .addMethod(HEALTH_CHECK, ServerCalls.asyncUnaryCall(this::check))
                .build();
        ServerInterceptor recorder = new ServerInterceptor() {
            @Override
            public <Q, A> ServerCall.Listener<Q> interceptCall(
                    ServerCall<Q, A> call, Metadata headers, ServerCallHandler<Q, A> next) {
                if (!call.getMethodDescriptor().getFullMethodName().startsWith("grpc.health")) {
                    seen.add(headers);
                }
                return next.startCall(call, headers);
            }
        };
        try {
            server = Grpc.newServerBuilderForPort(port, InsecureServerCredentials.create())
                    .addService(ServerInterceptors.intercept(greeter, recorder))
                    .addService(health)
                    .build()
                    .start();
        } catch (IOException e) {
            throw new UncheckedIOException("gRPC backend " + name + " did not start", e);
        }
    }

    /** A backend on an ephemeral port. */
    public static GrpcBackend start(String name) {
        return new GrpcBackend(name, 0);
    }

    /** A backend on {@code port} (0: ephemeral). */
    public static GrpcBackend start(String name, int port) {
        return new GrpcBackend(name, port);
    }

    public int port() {
        return ((InetSocketAddress) server.getListenSockets().get(0)).getPort();
    }

    /** {@code http://127.0.0.1:<port>}: the URL a pool names it by, with {@code protocol} {@code h2c}. */
    public String url() {
        return "http://127.0.0.1:" + port();
    }

    /** What the health service answers from now on: SERVING or NOT_SERVING. */
    public void serving(boolean serving) {
        this.serving = serving;
    }

    private void hello(String request, StreamObserver<String> answer) {
        calls.incrementAndGet();
        if (request.startsWith("status:")) {
            int code = Integer.parseInt(request.substring("status:".length()));
            answer.onError(Status.fromCodeValue(code)
                    .withDescription("asked for " + Status.fromCodeValue(code).getCode() + " by " + name)
                    .asRuntimeException());
            return;
        }
        if (request.startsWith("sleep:")) {
            io.grpc.Context call = io.grpc.Context.current();
            call.addListener(
                    context -> {
                        if (context.cancellationCause() != null) {
                            cancelled.incrementAndGet();
                        }
                    },
                    Runnable::run);
            try {
                Thread.sleep(Long.parseLong(request.substring("sleep:".length()))); // slow on purpose
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        answer.onNext("hello " + request + ", from " + name);
        answer.onCompleted();
    }

    private void count(String request, StreamObserver<String> answer) {
        calls.incrementAndGet();
        int n = Integer.parseInt(request);
        for (int i = 1; i <= n; i++) {
            answer.onNext(Integer.toString(i));
        }
        answer.onCompleted();
    }

    private StreamObserver<String> sum(StreamObserver<String> answer) {
        calls.incrementAndGet();
        return new StreamObserver<>() {
            long total;

            @Override
            public void onNext(String number) {
                total += Long.parseLong(number);
            }

            @Override
            public void onError(Throwable t) {}

            @Override
            public void onCompleted() {
                answer.onNext(Long.toString(total));
                answer.onCompleted();
            }
        };
    }

    private StreamObserver<String> echo(StreamObserver<String> answer) {
        calls.incrementAndGet();
        return new StreamObserver<>() {
            @Override
            public void onNext(String message) {
                answer.onNext(name + ": " + message);
            }

            @Override
            public void onError(Throwable t) {}

            @Override
            public void onCompleted() {
                answer.onCompleted();
            }
        };
    }

    /** grpc.health.v1: HealthCheckRequest {string service = 1}, HealthCheckResponse {ServingStatus status = 1}. */
    private void check(byte[] request, StreamObserver<byte[]> answer) {
        healthChecks.incrementAndGet();
        String service = "";
        if (request.length > 2 && request[0] == 0x0a) {
            service = new String(request, 2, request[1], StandardCharsets.UTF_8);
        }
        if (!service.isEmpty() && !service.equals(SERVICE)) {
            answer.onError(Status.NOT_FOUND
                    .withDescription("unknown service " + service)
                    .asRuntimeException());
            return;
        }
        answer.onNext(new byte[] {0x08, (byte) (serving ? 1 : 2)});
        answer.onCompleted();
    }

    @Override
    public void close() {
        server.shutdownNow();
        try {
            server.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static MethodDescriptor<String, String> method(String name, MethodDescriptor.MethodType type) {
        return MethodDescriptor.<String, String>newBuilder()
                .setType(type)
                .setFullMethodName(SERVICE + "/" + name)
                .setRequestMarshaller(TEXT)
                .setResponseMarshaller(TEXT)
                .build();
    }
}
