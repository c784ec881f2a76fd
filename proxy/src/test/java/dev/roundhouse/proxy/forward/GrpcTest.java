package dev.roundhouse.proxy.forward;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.roundhouse.proxy.RoundhouseProxy;
import dev.roundhouse.proxy.testing.Closeables;
import dev.roundhouse.proxy.testing.ProxyFixture;
import dev.roundhouse.proxy.testing.Scrape;
import dev.roundhouse.testing.GrpcBackend;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.StreamObserver;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * gRPC through the proxy, with grpc-java on both ends (h2c from the client, h2c to the backends): every kind of call
 * passes with its messages as they come and its status in the trailers, each call is balanced on its own, and the
 * gRPC status is what the breaker and the metrics see.
 */
class GrpcTest {

    @RegisterExtension
    final Closeables closeables = new Closeables();

    private RoundhouseProxy proxy(List<GrpcBackend> backends, String... env) {
        var environment = ProxyFixture.env(env);
        environment.put(
                "BACKENDS",
                backends.stream().map(b -> b.url() + ";protocol=h2c").collect(Collectors.joining(",")));
        environment.put("HEALTH_CHECK_PATH", "/health");
        return closeables.add(ProxyFixture.start(environment));
    }

    private GrpcBackend backend(String name) {
        return closeables.add(GrpcBackend.start(name));
    }

    private ManagedChannel channel(RoundhouseProxy proxy) {
        ManagedChannel channel = Grpc.newChannelBuilderForAddress(
                        "127.0.0.1", proxy.port(), InsecureChannelCredentials.create())
                .build();
        closeables.add(() -> {
            channel.shutdownNow();
            channel.awaitTermination(5, TimeUnit.SECONDS);
        });
        return channel;
    }

    private static CallOptions deadline() {
        return CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS);
    }

    @Test
    void theCallsOfOneClientConnectionSpreadOverEveryBackend() {
        List<GrpcBackend> backends = List.of(backend("a"), backend("b"), backend("c"));
        ManagedChannel channel = channel(proxy(backends));

        List<String> answers = new ArrayList<>();
        for (int i = 0; i < 30; i++) {
            answers.add(ClientCalls.blockingUnaryCall(channel, GrpcBackend.HELLO, deadline(), "world"));
        }

        // One HTTP/2 connection from the client: a Kubernetes Service would send all 30 calls to one backend.
        assertThat(answers).contains("hello world, from a", "hello world, from b", "hello world, from c");
        assertThat(backends).allSatisfy(b -> assertThat(b.calls.get()).isEqualTo(10));
    }

    /**
     * Many calls at once on one client connection, sharing the backend connections as streams: every one answered.
     * (A reset the proxy sent on each finished stream once made Undertow's client give up whole connections under
     * this load, and the breakers open.)
     */
    @Test
    void manyConcurrentCallsAllSucceed() throws Exception {
        List<GrpcBackend> backends = List.of(backend("a"), backend("b"));
        RoundhouseProxy proxy = proxy(backends);
        ManagedChannel channel = channel(proxy);
        // A connection to each backend first: while one's first connect is under way, calls that pick it go to the
        // other (so that a backend whose connects hang costs few calls), which would blur the even split below.
        for (int i = 0; i < 2; i++) {
            ClientCalls.blockingUnaryCall(channel, GrpcBackend.HELLO, deadline(), "warm");
        }
        java.util.concurrent.ExecutorService callers = java.util.concurrent.Executors.newFixedThreadPool(32);
        closeables.add(callers::shutdownNow);
        List<java.util.concurrent.Future<String>> calls = new ArrayList<>();
        for (int i = 0; i < 1600; i++) {
            calls.add(callers.submit(() -> ClientCalls.blockingUnaryCall(channel, GrpcBackend.HELLO, deadline(), "x")));
        }
        for (java.util.concurrent.Future<String> call : calls) {
            assertThat(call.get(30, TimeUnit.SECONDS)).startsWith("hello x, from ");
        }
        assertThat(backends).allSatisfy(b -> assertThat(b.calls.get()).isEqualTo(801));
        assertThat(Scrape.errors(proxy, "upstream_reset", backends.get(0).url()))
                .isZero();
    }

    /**
     * A backend that goes away and comes back on the same port: its closed connections are dropped, and calls reach
     * it again on a new one once it answers its health checks.
     */
    @Test
    void aBackendThatRestartsIsReachedOnANewConnection() {
        GrpcBackend first = GrpcBackend.start("first");
        int port = first.port();
        RoundhouseProxy proxy = proxy(
                List.of(first),
                "HEALTH_CHECK_GRPC_SERVICE",
                "",
                "HEALTH_CHECK_INTERVAL",
                "50ms",
                "HEALTHY_THRESHOLD",
                "1",
                "UNHEALTHY_THRESHOLD",
                "1");
        ManagedChannel channel = channel(proxy);
        assertThat(ClientCalls.blockingUnaryCall(channel, GrpcBackend.HELLO, deadline(), "before"))
                .isEqualTo("hello before, from first");

        first.close();
        assertThatThrownBy(() -> ClientCalls.blockingUnaryCall(channel, GrpcBackend.HELLO, deadline(), "gone"))
                .isInstanceOfSatisfying(
                        StatusRuntimeException.class,
                        e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE));

        GrpcBackend again = closeables.add(GrpcBackend.start("again", port));
        org.awaitility.Awaitility.await("calls reach the restarted backend")
                .atMost(java.time.Duration.ofSeconds(20))
                .pollInterval(java.time.Duration.ofMillis(100))
                .ignoreExceptions()
                .until(() -> ClientCalls.blockingUnaryCall(channel, GrpcBackend.HELLO, deadline(), "after")
                        .equals("hello after, from again"));
        assertThat(again.calls.get()).isPositive();
    }

    /** A client that cancels a call: the proxy resets the call's stream, and the backend hears of it at once. */
    @Test
    void aCancelledCallIsCancelledAtTheBackend() {
        GrpcBackend backend = backend("c");
        RoundhouseProxy proxy = proxy(List.of(backend));
        ManagedChannel channel = channel(proxy);
        ClientCall<String, String> call = channel.newCall(GrpcBackend.HELLO, CallOptions.DEFAULT);
        ClientCalls.asyncUnaryCall(call, "sleep:20000", completing(new CompletableFuture<>()));
        org.awaitility.Awaitility.await()
                .atMost(java.time.Duration.ofSeconds(10))
                .until(() -> backend.calls.get() == 1);

        call.cancel("the user gave up", null);

        // Well before the 20 s the backend sleeps: only a reset of its stream tells it now.
        org.awaitility.Awaitility.await("the backend's call cancelled")
                .atMost(java.time.Duration.ofSeconds(5))
                .until(() -> backend.cancelled.get() == 1);
        Scrape.awaitValue(proxy, grpcCalls(backend.url(), "CANCELLED"), 1.0);
        assertThat(Scrape.requests(proxy, backend.url(), "POST", 499)).isEqualTo(1.0);
        assertThat(Scrape.errors(proxy, "upstream_reset", backend.url()))
                .as("no verdict on the backend")
                .isZero();
    }

    @Test
    void serverStreamingMessagesArriveInOrderAndWhole() {
        ManagedChannel channel = channel(proxy(List.of(backend("s"))));

        Iterator<String> messages =
                ClientCalls.blockingServerStreamingCall(channel, GrpcBackend.COUNT, deadline(), "2000");
        List<String> received = new ArrayList<>();
        messages.forEachRemaining(received::add);

        assertThat(received)
                .containsExactlyElementsOf(IntStream.rangeClosed(1, 2000)
                        .mapToObj(Integer::toString)
                        .toList());
    }

    @Test
    void clientStreamingSendsEveryMessageBeforeTheAnswer() throws Exception {
        ManagedChannel channel = channel(proxy(List.of(backend("c"))));
        CompletableFuture<String> sum = new CompletableFuture<>();

        StreamObserver<String> numbers =
                ClientCalls.asyncClientStreamingCall(channel.newCall(GrpcBackend.SUM, deadline()), completing(sum));
        for (int i = 1; i <= 100; i++) {
            numbers.onNext(Integer.toString(i));
        }
        numbers.onCompleted();

        assertThat(sum.get(10, TimeUnit.SECONDS)).isEqualTo("5050");
    }

    @Test
    void bidirectionalMessagesPassOneAtATimeBothWays() throws Exception {
        ManagedChannel channel = channel(proxy(List.of(backend("e"))));
        BlockingQueue<String> replies = new LinkedBlockingQueue<>();
        CompletableFuture<Void> ended = new CompletableFuture<>();
        ClientCall<String, String> call = channel.newCall(GrpcBackend.ECHO, deadline());
        StreamObserver<String> out = ClientCalls.asyncBidiStreamingCall(call, collecting(replies, ended));

        // Each reply comes back before the next message goes: nothing waits for the end of either stream.
        for (String message : List.of("one", "two", "three")) {
            out.onNext(message);
            assertThat(replies.poll(10, TimeUnit.SECONDS)).isEqualTo("e: " + message);
        }
        out.onCompleted();
        ended.get(10, TimeUnit.SECONDS);
    }

    @Test
    void aBackendsStatusReachesTheClientWithItsMessageAndIsCounted() {
        GrpcBackend backend = backend("n");
        RoundhouseProxy proxy = proxy(List.of(backend));
        ManagedChannel channel = channel(proxy);

        assertThatThrownBy(() -> ClientCalls.blockingUnaryCall(channel, GrpcBackend.HELLO, deadline(), "status:5"))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND);
                    assertThat(e.getStatus().getDescription()).isEqualTo("asked for NOT_FOUND by n");
                });
        ClientCalls.blockingUnaryCall(channel, GrpcBackend.HELLO, deadline(), "world");

        Scrape.awaitValue(proxy, grpcCalls(backend.url(), "OK"), 1.0);
        assertThat(Scrape.value(proxy, grpcCalls(backend.url(), "NOT_FOUND"))).isEqualTo(1.0);
        // NOT_FOUND is the caller's problem, not the backend failing: nothing against its breaker.
        assertThat(Scrape.errors(proxy, "upstream_grpc", backend.url())).isZero();
    }

    @Test
    void unavailableCountsAgainstTheBreakerWhichThenAnswersForTheBackend() {
        GrpcBackend backend = backend("u");
        RoundhouseProxy proxy = proxy(
                List.of(backend), "CB_MINIMUM_CALLS", "4", "CB_SLIDING_WINDOW_SIZE", "4", "CB_WAIT_IN_OPEN", "1m");
        ManagedChannel channel = channel(proxy);

        for (int i = 0; i < 4; i++) {
            assertThatThrownBy(() -> ClientCalls.blockingUnaryCall(channel, GrpcBackend.HELLO, deadline(), "status:14"))
                    .isInstanceOfSatisfying(
                            StatusRuntimeException.class,
                            e -> assertThat(e.getStatus().getDescription()).isEqualTo("asked for UNAVAILABLE by u"));
        }
        assertThatThrownBy(() -> ClientCalls.blockingUnaryCall(channel, GrpcBackend.HELLO, deadline(), "world"))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
                    assertThat(e.getStatus().getDescription())
                            .isEqualTo("service unavailable: every backend's circuit breaker is open");
                });

        assertThat(backend.calls.get()).isEqualTo(4);
        Scrape.awaitValue(proxy, grpcCalls("none", "UNAVAILABLE"), 1.0);
        assertThat(Scrape.errors(proxy, "upstream_grpc", backend.url())).isEqualTo(4.0);
    }

    @Test
    void theStatusesThatCountAsFailuresAreConfigurable() {
        GrpcBackend backend = backend("c");
        RoundhouseProxy proxy = proxy(List.of(backend), "CB_GRPC_FAILURE_STATUSES", "NOT_FOUND");
        ManagedChannel channel = channel(proxy);

        for (String status : List.of("status:5", "status:14")) {
            assertThatThrownBy(() -> ClientCalls.blockingUnaryCall(channel, GrpcBackend.HELLO, deadline(), status))
                    .isInstanceOf(StatusRuntimeException.class);
        }

        Scrape.awaitValue(proxy, grpcCalls(backend.url(), "UNAVAILABLE"), 1.0);
        assertThat(Scrape.errors(proxy, "upstream_grpc", backend.url()))
                .as("NOT_FOUND counted, UNAVAILABLE no longer")
                .isEqualTo(1.0);
    }

    /**
     * The proxy bounds the call by its {@code grpc-timeout} itself (curl sends the field, with no deadline of its own)
     * and answers DEADLINE_EXCEEDED, trailers-only, as a gRPC client reads it; the backend was slow for this one call
     * only, so its breaker is not charged.
     */
    @Test
    void grpcTimeoutBoundsTheCallWithoutBlamingTheBackend() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(CurlGrpc.available(), "curl with HTTP/2 support is not installed");
        GrpcBackend backend = backend("slow");
        RoundhouseProxy proxy = proxy(List.of(backend));

        String answer =
                CurlGrpc.call(proxy.port(), "/roundhouse.demo.Greeter/Hello", "sleep:5000", "grpc-timeout", "300m");

        assertThat(answer)
                .contains(
                        "HTTP/2 200",
                        "grpc-status: 4",
                        "grpc-message: gateway timeout: the call's grpc-timeout passed");
        Scrape.awaitValue(proxy, grpcCalls(backend.url(), "DEADLINE_EXCEEDED"), 1.0);
        assertThat(Scrape.errors(proxy, "timeout", backend.url())).isZero();
    }

    /**
     * A stream that lasts: new documents (a backend added, then the stream's own backend left out) change nothing for
     * it, and a drain lets it finish; only new calls go by the new pool.
     */
    @Test
    void aLongStreamOutlivesPoolChangesAndFinishesWithinTheDrain() throws Exception {
        GrpcBackend first = backend("first");
        GrpcBackend second = backend("second");
        RoundhouseProxy proxy = proxy(List.of(first));
        ManagedChannel channel = channel(proxy);
        BlockingQueue<String> replies = new LinkedBlockingQueue<>();
        CompletableFuture<Void> ended = new CompletableFuture<>();
        StreamObserver<String> out = ClientCalls.asyncBidiStreamingCall(
                channel.newCall(GrpcBackend.ECHO, CallOptions.DEFAULT.withDeadlineAfter(30, TimeUnit.SECONDS)),
                collecting(replies, ended));
        out.onNext("before");
        assertThat(replies.poll(10, TimeUnit.SECONDS)).isEqualTo("first: before");

        proxy.reloader()
                .apply(
                        "test",
                        dev.roundhouse.poolformat.PoolDocument.of(List.of(h2c(first), h2c(second)))
                                .atLowestVersion());
        out.onNext("both in the pool");
        assertThat(replies.poll(10, TimeUnit.SECONDS)).isEqualTo("first: both in the pool");

        proxy.reloader()
                .apply(
                        "test",
                        dev.roundhouse.poolformat.PoolDocument.of(List.of(h2c(second)))
                                .atLowestVersion());
        out.onNext("left the pool");
        assertThat(replies.poll(10, TimeUnit.SECONDS)).isEqualTo("first: left the pool");
        assertThat(ClientCalls.blockingUnaryCall(channel, GrpcBackend.HELLO, deadline(), "new call"))
                .isEqualTo("hello new call, from second");

        Thread drain = new Thread(proxy::shutdown, "drain");
        drain.start();
        out.onNext("draining");
        assertThat(replies.poll(10, TimeUnit.SECONDS)).isEqualTo("first: draining");
        out.onCompleted();
        ended.get(10, TimeUnit.SECONDS);
        drain.join(20_000);
        assertThat(drain.isAlive()).isFalse();
    }

    private static dev.roundhouse.poolformat.PoolDocument.BackendEntry h2c(GrpcBackend backend) {
        return new dev.roundhouse.poolformat.PoolDocument.BackendEntry(
                backend.url(), 1, dev.roundhouse.poolformat.BackendProtocol.H2C);
    }

    private static String grpcCalls(String backend, String status) {
        return "roundhouse_grpc_calls_total{backend=\"" + backend + "\",grpc_status=\"" + status + "\"}";
    }

    /** Adds each reply to {@code replies}; {@code ended} completes with the call. */
    private static StreamObserver<String> collecting(BlockingQueue<String> replies, CompletableFuture<Void> ended) {
        return new StreamObserver<>() {
            @Override
            public void onNext(String value) {
                replies.add(value);
            }

            @Override
            public void onError(Throwable t) {
                ended.completeExceptionally(t);
            }

            @Override
            public void onCompleted() {
                ended.complete(null);
            }
        };
    }

    private static StreamObserver<String> completing(CompletableFuture<String> result) {
        return new StreamObserver<>() {
            @Override
            public void onNext(String value) {
                result.complete(value);
            }

            @Override
            public void onError(Throwable t) {
                result.completeExceptionally(t);
            }

            @Override
            public void onCompleted() {}
        };
    }
}
