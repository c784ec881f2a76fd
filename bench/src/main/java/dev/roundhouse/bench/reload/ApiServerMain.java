package dev.roundhouse.bench.reload;

import dev.roundhouse.bench.load.Args;
import dev.roundhouse.poolformat.PoolDocument;
import dev.roundhouse.testing.apiserver.EmbeddedApiServer;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;

/**
 * The embedded API server as a process of its own, for the {@code POOL_CONFIGMAP} reload benchmark: starts on an
 * ephemeral loopback port, writes a kubeconfig, creates the pool ConfigMap from a file, prints
 * {@code READY <url>}, and serves until it gets SIGTERM. With {@code --decoy-configmap} it also creates a second
 * ConfigMap with the same document, which the proxy does not watch: the control run updates that one.
 *
 * <pre>
 * java -cp e2e/target/roundhouse-local.jar dev.roundhouse.bench.reload.ApiServerMain \
 *     --kubeconfig /tmp/x/kubeconfig --configmap default/bench-pool --pool-file /tmp/x/pool.json
 * </pre>
 */
public final class ApiServerMain {

    private ApiServerMain() {}

    public static void main(String[] argv) throws Exception {
        Args args = new Args(argv);
        args.allowOnly(Set.of("kubeconfig", "configmap", "decoy-configmap", "pool-file"));
        Path kubeconfig = Path.of(args.required("kubeconfig"));
        String[] ref = args.string("configmap", "default/bench-pool").split("/", 2);
        String text = Files.readString(Path.of(args.required("pool-file")));

        EmbeddedApiServer server = new EmbeddedApiServer().start();
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            server.close();
            stopped.countDown();
        }));
        createConfigMap(server, ref, text);
        if (args.has("decoy-configmap")) {
            createConfigMap(server, args.required("decoy-configmap").split("/", 2), text);
        }
        // written last: its appearance tells the script that the ConfigMap exists
        Path tmp = kubeconfig.resolveSibling(kubeconfig.getFileName() + ".tmp");
        server.writeKubeconfig(tmp);
        Files.move(tmp, kubeconfig, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        System.out.println("READY " + server.url());
        System.out.flush();
        stopped.await();
    }

    private static void createConfigMap(EmbeddedApiServer server, String[] ref, String text) {
        server.client()
                .configMaps()
                .inNamespace(ref[0])
                .resource(new ConfigMapBuilder()
                        .withNewMetadata()
                        .withName(ref[1])
                        .withNamespace(ref[0])
                        .endMetadata()
                        .withData(Map.of(PoolDocument.CONFIG_MAP_KEY, text))
                        .build())
                .create();
    }
}
