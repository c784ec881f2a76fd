package dev.roundhouse.operator.model;

import static org.assertj.core.api.Assertions.assertThat;

import dev.roundhouse.operator.api.v1alpha1.BackendSpec;
import dev.roundhouse.operator.api.v1alpha1.LoadBalancer;
import dev.roundhouse.operator.api.v1alpha1.LoadBalancerSpec;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.ObjectMeta;
import java.util.ArrayList;
import java.util.List;

/** LoadBalancers built with plain setters, as a user's YAML would deserialise. */
final class TestLoadBalancers {

    static final String NAMESPACE = "shop";

    private TestLoadBalancers() {}

    /** "web" in "shop" with two fixed backends and everything else at its defaults. */
    static LoadBalancer web() {
        return named("web", backend("http://10.0.0.1:8080", null), backend("http://10.0.0.2:8080", 3));
    }

    static LoadBalancer named(String name, BackendSpec... backends) {
        ObjectMeta meta = new ObjectMeta();
        meta.setName(name);
        meta.setNamespace(NAMESPACE);
        meta.setGeneration(1L);
        LoadBalancerSpec spec = new LoadBalancerSpec();
        spec.setBackends(new ArrayList<>(List.of(backends)));
        LoadBalancer lb = new LoadBalancer();
        lb.setMetadata(meta);
        lb.setSpec(spec);
        return lb;
    }

    static BackendSpec backend(String url, Integer weight) {
        BackendSpec backend = new BackendSpec();
        backend.setUrl(url);
        backend.setWeight(weight);
        return backend;
    }

    /** The name, the LB's namespace and no owner reference (JOSDK adds that). */
    static void assertOwnMetadata(HasMetadata object, LoadBalancer lb, String name) {
        assertThat(object.getMetadata().getName()).isEqualTo(name);
        assertThat(object.getMetadata().getNamespace())
                .isEqualTo(lb.getMetadata().getNamespace());
        assertThat(object.getMetadata().getOwnerReferences()).isNullOrEmpty();
    }
}
