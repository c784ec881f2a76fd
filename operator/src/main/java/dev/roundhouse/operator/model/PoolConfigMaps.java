package dev.roundhouse.operator.model;

import dev.roundhouse.operator.api.v1alpha1.LoadBalancer;
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
}
