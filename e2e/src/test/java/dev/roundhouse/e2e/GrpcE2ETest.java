package dev.roundhouse.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.roundhouse.e2e.local.LocalCluster;
import dev.roundhouse.e2e.local.LocalKubelet.RunningProxy;
import dev.roundhouse.e2e.testing.Cluster;
import dev.roundhouse.e2e.testing.SharedCluster;
import dev.roundhouse.testing.GrpcBackend;
import io.grpc.CallOptions;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.stub.ClientCalls;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * {@code samples/loadbalancer-grpc.yaml} end to end: applied as a user would, the operator writes the h2c backends and
 * the gRPC health check into the pool, the real proxy checks them by the gRPC health protocol, and the calls of one
 * client connection spread over both backends.
 */
@ExtendWith(SharedCluster.class)
class GrpcE2ETest {

    private static final Duration WAIT = Duration.ofSeconds(60);

    private final List<GrpcBackend> backends = List.of(GrpcBackend.start("grpc-a"), GrpcBackend.start("grpc-b"));
    private final Cluster cluster;

    GrpcE2ETest(LocalCluster local) {
        cluster = new Cluster(local, "e2e-grpc");
    }

    @AfterEach
    void cleanUp() {
        cluster.deleteLoadBalancers();
        backends.forEach(GrpcBackend::close);
    }

    @Test
    void theGrpcSampleBalancesEachCallOfOneConnection() throws Exception {
        String sample = Files.readString(Path.of("..", "samples", "loadbalancer-grpc.yaml"), StandardCharsets.UTF_8)
                .replace("http://127.0.0.1:3004", backends.get(0).url())
                .replace("http://127.0.0.1:3005", backends.get(1).url());
        cluster.applyOrFail(sample);
        cluster.awaitReady("demo-grpc");
        RunningProxy proxy = cluster.awaitProxy("demo-grpc");
        Awaitility.await("the gRPC health checks reached both backends")
                .atMost(WAIT)
                .until(() -> backends.stream().allMatch(b -> b.healthChecks.get() > 0));

        ManagedChannel channel = Grpc.newChannelBuilderForAddress(
                        "127.0.0.1", proxy.port(), InsecureChannelCredentials.create())
                .build();
        try {
            List<String> answers = new ArrayList<>();
            for (int i = 0; i < 10; i++) {
                answers.add(ClientCalls.blockingUnaryCall(
                        channel,
                        GrpcBackend.HELLO,
                        CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS),
                        "e2e"));
            }
            assertThat(answers).contains("hello e2e, from grpc-a", "hello e2e, from grpc-b");
            assertThat(backends).allSatisfy(b -> assertThat(b.calls.get()).isEqualTo(5));
        } finally {
            channel.shutdownNow();
            channel.awaitTermination(5, TimeUnit.SECONDS);
        }
        String series =
                "roundhouse_grpc_calls_total{backend=\"" + backends.get(0).url() + "\",grpc_status=\"OK\"} 5.0";
        Awaitility.await("the calls counted")
                .atMost(WAIT)
                .untilAsserted(() -> assertThat(Cluster.series(Cluster.metrics(proxy), "roundhouse_grpc_calls_total"))
                        .contains(series));
    }
}
