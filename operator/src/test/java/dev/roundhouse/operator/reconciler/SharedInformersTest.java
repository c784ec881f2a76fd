package dev.roundhouse.operator.reconciler;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.javaoperatorsdk.operator.api.reconciler.Workflow;
import io.javaoperatorsdk.operator.api.reconciler.dependent.Dependent;
import io.javaoperatorsdk.operator.processing.dependent.kubernetes.KubernetesDependentResource;
import java.lang.reflect.ParameterizedType;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/**
 * Dependents of one kind share one informer: each informer lists, watches and caches its objects in the operator's
 * memory, so two over the same objects cost both twice for nothing.
 */
class SharedInformersTest {

    @Test
    void dependentsOfTheSameKindUseOneNamedInformer() throws Exception {
        Map<Class<?>, TreeSet<String>> sources = new HashMap<>();
        Map<Class<?>, Integer> dependents = new HashMap<>();
        for (Dependent d :
                LoadBalancerReconciler.class.getAnnotation(Workflow.class).dependents()) {
            Class<?> kind = kind(d.type());
            dependents.merge(kind, 1, Integer::sum);
            sources.computeIfAbsent(kind, k -> new TreeSet<>()).add(d.useEventSourceWithName());
        }
        for (Map.Entry<Class<?>, Integer> kind : dependents.entrySet()) {
            if (kind.getValue() > 1) {
                assertThat(sources.get(kind.getKey()))
                        .as(
                                "informers of the %d %s dependents",
                                kind.getValue(), kind.getKey().getSimpleName())
                        .containsExactly(LoadBalancerReconciler.PROXY_SERVICES);
            }
        }
        assertThat(dependents)
                .as("the kinds with more than one dependent")
                .containsEntry(io.fabric8.kubernetes.api.model.Service.class, 2);
    }

    /** The resource type a dependent manages, from its class's type arguments. */
    private static Class<?> kind(Class<?> dependent) {
        for (Class<?> c = dependent; c != null; c = c.getSuperclass()) {
            if (c.getGenericSuperclass() instanceof ParameterizedType type
                    && KubernetesDependentResource.class.isAssignableFrom(c.getSuperclass())) {
                for (var argument : List.of(type.getActualTypeArguments())) {
                    if (argument instanceof Class<?> k && HasMetadata.class.isAssignableFrom(k)) {
                        return k;
                    }
                }
            }
        }
        throw new IllegalStateException("no resource type on " + dependent);
    }
}
