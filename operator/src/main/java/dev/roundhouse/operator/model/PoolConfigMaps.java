package dev.roundhouse.operator.model;

import dev.roundhouse.operator.api.v1alpha1.LoadBalancer;
import dev.roundhouse.poolformat.InvalidPoolDocumentException;
import dev.roundhouse.poolformat.PoolDocumentCodec;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import java.util.Map;

/** The ConfigMap holding a LoadBalancer's pool document, which its proxies watch. */
public final class PoolConfigMaps {

    private PoolConfigMaps() {}

    /** {@code documentText} should come from {@link PoolDocuments#render}: canonical text, so equal pools never rewrite it. */
    public static ConfigMap desired(LoadBalancer lb, String documentText) {
        // No owner reference here: JOSDK adds it to dependents.
        return new ConfigMapBuilder()
                .withNewMetadata()
                .withName(Names.poolConfigMap(lb))
                .withNamespace(lb.getMetadata().getNamespace())
                .withLabels(Labels.all(lb))
                .endMetadata()
                .withData(Map.of(Names.POOL_KEY, documentText))
                .build();
    }

    /**
     * How many backends the pool in {@code configMap} has: what the proxies serve from while the operator cannot
     * resolve a new pool. 0 when there is no ConfigMap, or it holds no valid pool (a pool the operator never wrote).
     */
    public static int backendsIn(ConfigMap configMap) {
        String text = configMap == null || configMap.getData() == null
                ? null
                : configMap.getData().get(Names.POOL_KEY);
        if (text == null) {
            return 0;
        }
        try {
            return PoolDocumentCodec.parse(text).backends().size();
        } catch (InvalidPoolDocumentException e) {
            return 0;
        }
    }
}
