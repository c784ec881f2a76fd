package dev.roundhouse.operator.dependent;

import dev.roundhouse.operator.api.v1alpha1.LoadBalancer;
import dev.roundhouse.operator.model.PoolConfigMaps;
import dev.roundhouse.operator.model.PoolDocuments;
import dev.roundhouse.operator.reconciler.PoolResolution;
import dev.roundhouse.poolformat.PoolDocument;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.javaoperatorsdk.operator.api.config.informer.Informer;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.processing.dependent.kubernetes.KubernetesDependent;
import java.util.List;

/**
 * The pool ConfigMap the proxies watch. When the pool cannot be resolved (missing Service,
 * values the schema cannot check), the ConfigMap in place is the desired one: proxies keep the
 * last good pool while the status says what is wrong. With no pool yet, the pool is empty.
 *
 * <p>The workflow only runs once every derived object in place is this LoadBalancer's own (the reconciler's ownership
 * check): a ConfigMap of an earlier LoadBalancer of the same name is left to the garbage collector, not taken over.
 */
@KubernetesDependent(informer = @Informer(labelSelector = Managed.SELECTOR))
public class PoolConfigMapDependentResource extends ControlledDependentResource<ConfigMap> {

    @Override
    protected ConfigMap desired(LoadBalancer lb, Context<LoadBalancer> context) {
        PoolResolution pool = PoolResolution.of(context);
        if (pool.problem() == null) {
            return PoolConfigMaps.desired(lb, pool.text());
        }
        // No good pool yet: an empty one, so the proxies start and answer 503 until it is fixed.
        return context.getSecondaryResource(ConfigMap.class)
                .orElseGet(() -> PoolConfigMaps.desired(lb, PoolDocuments.render(PoolDocument.of(List.of()))));
    }
}
