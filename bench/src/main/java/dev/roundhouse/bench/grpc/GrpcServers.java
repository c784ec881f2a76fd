package dev.roundhouse.bench.grpc;

import dev.roundhouse.testing.GrpcBackend;
import java.util.ArrayList;
import java.util.List;

/**
 * The gRPC benchmark's backends: {@code GrpcServers PORT...} starts one {@link GrpcBackend} per port (named {@code
 * b1}, {@code b2}, ...), prints {@code READY} and serves until stdin closes or the process is stopped.
 */
public final class GrpcServers {

    private GrpcServers() {}

    public static void main(String[] args) throws Exception {
        List<GrpcBackend> backends = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            backends.add(GrpcBackend.start("b" + (i + 1), Integer.parseInt(args[i])));
        }
        Runtime.getRuntime().addShutdownHook(new Thread(() -> backends.forEach(GrpcBackend::close)));
        System.out.println("READY");
        System.out.flush();
        while (System.in.read() >= 0) {
            // serve until stdin closes
        }
        backends.forEach(GrpcBackend::close);
    }
}
