package dev.roundhouse.bench.reload;

import dev.roundhouse.poolformat.PoolDocument;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.jdkhttp.JdkHttpClientFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/** Updates the pool ConfigMap (key {@code pool.json}) through the API server named by a kubeconfig: one PUT each. */
final class ConfigMapPoolChanger implements PoolChanger {

    private final KubernetesClient client;
    private final String namespace;
    private final String name;
    private final Map<String, String> urls;
    private ConfigMap current;

    ConfigMapPoolChanger(Path kubeconfig, String namespace, String name, Map<String, String> urls) throws Exception {
        Config config = Config.fromKubeconfig(Files.readString(kubeconfig));
        config.setHttp2Disable(true);
        this.client = new KubernetesClientBuilder()
                .withConfig(config)
                .withHttpClientFactory(new JdkHttpClientFactory())
                .build();
        this.namespace = namespace;
        this.name = name;
        this.urls = urls;
        this.current = client.configMaps().inNamespace(namespace).withName(name).get();
        if (current == null) {
            throw new IllegalStateException(
                    "ConfigMap " + namespace + "/" + name + " not found at " + config.getMasterUrl());
        }
    }

    @Override
    public void apply(List<String> pool) {
        current = client.configMaps()
                .inNamespace(namespace)
                .resource(new ConfigMapBuilder(current)
                        .withData(Map.of(PoolDocument.CONFIG_MAP_KEY, PoolDocuments.text(pool, urls)))
                        .build())
                .update();
    }

    @Override
    public String describe() {
        return "ConfigMap " + namespace + "/" + name + " updated (one PUT) at "
                + client.getConfiguration().getMasterUrl();
    }

    @Override
    public void close() {
        client.close();
    }
}
