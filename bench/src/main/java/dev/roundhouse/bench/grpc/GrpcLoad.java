package dev.roundhouse.bench.grpc;

import dev.roundhouse.bench.stats.LatencyHistogram;
import dev.roundhouse.testing.GrpcBackend;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * A closed-loop gRPC load: {@code --connections} channels (one HTTP/2 connection each, as grpc-java opens them), each
 * keeping {@code --concurrency} unary calls of {@link GrpcBackend#HELLO} in flight, for {@code --duration} seconds
 * after {@code --warmup} seconds not counted. Prints one {@code RESULT} line: calls per second, latency p50 and p99
 * (ms), errors, and how the calls spread over the backends (by the name in each answer).
 *
 * <p>{@code GrpcLoad --target 127.0.0.1:PORT [--connections 4] [--concurrency 16] [--duration 10] [--warmup 2]}
 */
public final class GrpcLoad {

    private final List<ManagedChannel> channels = new ArrayList<>();
    private final int concurrency;
    private volatile boolean counting;
    private volatile boolean running = true;
    private final LongAdder calls = new LongAdder();
    /** Every call answered, warm-up included: what the target's CPU time over the whole run is divided by. */
    private final LongAdder allCalls = new LongAdder();

    private final LongAdder errors = new LongAdder();
    private final Map<String, LongAdder> byBackend = new ConcurrentHashMap<>();
    private final LatencyHistogram latencies = new LatencyHistogram();
    private final AtomicLong inFlight = new AtomicLong();
    private final Map<String, LongAdder> errorKinds = new ConcurrentHashMap<>();

    private GrpcLoad(String host, int port, int connections, int concurrency) {
        this.concurrency = concurrency;
        for (int i = 0; i < connections; i++) {
            channels.add(Grpc.newChannelBuilderForAddress(host, port, InsecureChannelCredentials.create())
                    .directExecutor()
                    .build());
        }
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> options = new TreeMap<>();
        for (int i = 0; i + 1 < args.length; i += 2) {
            options.put(args[i].replaceFirst("^--", ""), args[i + 1]);
        }
        String target = options.getOrDefault("target", "127.0.0.1:50051");
        int colon = target.lastIndexOf(':');
        GrpcLoad load = new GrpcLoad(
                target.substring(0, colon),
                Integer.parseInt(target.substring(colon + 1)),
                Integer.parseInt(options.getOrDefault("connections", "4")),
                Integer.parseInt(options.getOrDefault("concurrency", "16")));
        load.run(
                Long.parseLong(options.getOrDefault("warmup", "2")),
                Long.parseLong(options.getOrDefault("duration", "10")));
    }

    private void run(long warmupSeconds, long durationSeconds) throws InterruptedException {
        for (ManagedChannel channel : channels) {
            for (int i = 0; i < concurrency; i++) {
                call(channel);
            }
        }
        Thread.sleep(TimeUnit.SECONDS.toMillis(warmupSeconds)); // the load runs meanwhile, not counted
        counting = true;
        long start = System.nanoTime();
        Thread.sleep(TimeUnit.SECONDS.toMillis(durationSeconds)); // the measured window
        counting = false;
        double seconds = (System.nanoTime() - start) / 1e9;
        running = false;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (inFlight.get() > 0 && System.nanoTime() < deadline) {
            Thread.sleep(10); // the calls in flight finish (bounded)
        }
        for (ManagedChannel channel : channels) {
            channel.shutdownNow();
        }
        StringBuilder spread = new StringBuilder();
        new TreeMap<>(byBackend)
                .forEach((name, count) -> spread.append(spread.isEmpty() ? "" : ",")
                        .append(name)
                        .append(':')
                        .append(count.sum()));
        StringBuilder kinds = new StringBuilder();
        new TreeMap<>(errorKinds)
                .forEach((name, count) -> kinds.append(kinds.isEmpty() ? "" : ",")
                        .append(name)
                        .append(':')
                        .append(count.sum()));
        System.out.printf(
                java.util.Locale.ROOT,
                "RESULT calls_per_s=%.0f p50_ms=%.3f p99_ms=%.3f errors=%d all_calls=%d backends=%s%s%n",
                calls.sum() / seconds,
                latencies.percentile(50) / 1000.0,
                latencies.percentile(99) / 1000.0,
                errors.sum(),
                allCalls.sum(),
                spread.isEmpty() ? "-" : spread,
                kinds.isEmpty() ? "" : " error_kinds=" + kinds);
    }

    /** One call; its end starts the next, as long as the load runs. */
    private void call(ManagedChannel channel) {
        if (!running) {
            return;
        }
        inFlight.incrementAndGet();
        long started = System.nanoTime();
        ClientCall<String, String> call = channel.newCall(GrpcBackend.HELLO, CallOptions.DEFAULT);
        call.start(
                new ClientCall.Listener<>() {
                    private String answer;

                    @Override
                    public void onMessage(String message) {
                        answer = message;
                    }

                    @Override
                    public void onClose(Status status, Metadata trailers) {
                        inFlight.decrementAndGet();
                        allCalls.increment();
                        if (counting) {
                            if (status.isOk() && answer != null) {
                                calls.increment();
                                latencies.record((System.nanoTime() - started) / 1000);
                                String from = answer.substring(answer.lastIndexOf(' ') + 1);
                                byBackend
                                        .computeIfAbsent(from, k -> new LongAdder())
                                        .increment();
                            } else {
                                errors.increment();
                                errorKinds
                                        .computeIfAbsent(status.getCode().name(), k -> new LongAdder())
                                        .increment();
                            }
                        }
                        call(channel);
                    }
                },
                new Metadata());
        call.request(1);
        call.sendMessage("bench");
        call.halfClose();
    }
}
