package dev.roundhouse.operator.dependent;

import dev.roundhouse.operator.api.v1alpha1.LoadBalancer;
import dev.roundhouse.operator.model.PoolConfigMaps;
import dev.roundhouse.operator.model.PoolDocuments;
import dev.roundhouse.operator.reconciler.PoolResolution;
import dev.roundhouse.poolformat.PoolDocument;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.OwnerReference;
import io.javaoperatorsdk.operator.api.config.informer.Informer;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.processing.dependent.Matcher;
import io.javaoperatorsdk.operator.processing.dependent.kubernetes.CRUDKubernetesDependentResource;
import io.javaoperatorsdk.operator.processing.dependent.kubernetes.KubernetesDependent;
import java.util.List;
import java.util.Objects;

/**
 * The pool ConfigMap the proxies watch. When the pool cannot be resolved (missing Service,
 * values the schema cannot check), the ConfigMap in place is the desired one: proxies keep the
 * last good pool while the status says what is wrong. With no pool yet, the pool is empty.
 *
 * <p>JOSDK writes ConfigMaps with a plain update rather than server-side apply (its
 * {@code defaultNonSSAResources}), and that update, like its matcher, leaves the metadata it finds
 * alone but for labels and annotations. So a ConfigMap still owned by an earlier LoadBalancer of the
 * same name (deleted and created again before the garbage collector got to the ConfigMap) would keep
 * pointing at the old uid: it is taken over here, while the dependents written by server-side apply
 * change owner by themselves.
 */
@KubernetesDependent(informer = @Informer(labelSelector = Managed.SELECTOR))
public class PoolConfigMapDependentResource extends CRUDKubernetesDependentResource<ConfigMap, LoadBalancer> {

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

    @Override
    public Matcher.Result<ConfigMap> match(
            ConfigMap actual, ConfigMap desired, LoadBalancer lb, Context<LoadBalancer> context) {
        if (!ownedBy(actual, lb)) {
            return Matcher.Result.nonComputed(false);
        }
        return super.match(actual, desired, lb, context);
    }

    @Override
    public ConfigMap update(ConfigMap actual, ConfigMap desired, LoadBalancer lb, Context<LoadBalancer> context) {
        if (!ownedBy(actual, lb)) {
            // Owner references of other LoadBalancers go (an earlier one of this name); any other owner stays.
            ConfigMap adopted = new ConfigMapBuilder(actual)
                    .editMetadata()
                    .withOwnerReferences(
                            Objects.requireNonNullElse(
                                            actual.getMetadata().getOwnerReferences(), List.<OwnerReference>of())
                                    .stream()
                                    .filter(ref -> !lb.getKind().equals(ref.getKind()))
                                    .toList())
                    .endMetadata()
                    .build();
            adopted.addOwnerReference(lb);
            actual = adopted;
        }
        return super.update(actual, desired, lb, context);
    }

    private static boolean ownedBy(ConfigMap actual, LoadBalancer lb) {
        List<OwnerReference> refs = actual.getMetadata().getOwnerReferences();
        return refs != null
                && refs.stream().anyMatch(ref -> lb.getMetadata().getUid().equals(ref.getUid()))
                && refs.stream()
                        .noneMatch(ref -> lb.getKind().equals(ref.getKind())
                                && !lb.getMetadata().getUid().equals(ref.getUid()));
    }
}
