package dev.roundhouse.operator.reconciler;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.ObjectMeta;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.Endpoint;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.fabric8.kubernetes.client.informers.cache.BasicItemStore;
import io.fabric8.kubernetes.client.informers.cache.Cache;
import io.fabric8.kubernetes.client.informers.cache.ItemStore;
import java.util.List;
import java.util.Objects;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;

/**
 * The informer cache of Services and EndpointSlices, which the operator watches in all of its namespaces although
 * only those a {@code serviceRef} names matter: it keeps of each only what the operator reads (names, ports,
 * endpoint addresses and conditions), not their managed fields, annotations, status or topology, so that its
 * memory grows with the cluster's Services far more slowly.
 */
final class TrimmedStore<T extends HasMetadata> implements ItemStore<T> {

    private final BasicItemStore<T> store = new BasicItemStore<>(Cache::metaNamespaceKeyFunc);
    private final UnaryOperator<T> trim;

    private TrimmedStore(UnaryOperator<T> trim) {
        this.trim = trim;
    }

    /** Name and ports: what PoolResolution checks and PoolDocuments maps to endpoint ports. */
    static TrimmedStore<Service> services() {
        return new TrimmedStore<>(s -> new ServiceBuilder()
                .withMetadata(identity(s.getMetadata()).build())
                .withNewSpec()
                .withPorts(s.getSpec() == null ? null : s.getSpec().getPorts())
                .endSpec()
                .build());
    }

    /** The Service it belongs to (a label), its ports, and each endpoint's addresses and conditions. */
    static TrimmedStore<EndpointSlice> endpointSlices() {
        return new TrimmedStore<>(s -> new EndpointSliceBuilder()
                .withMetadata(identity(s.getMetadata())
                        .withLabels(s.getMetadata().getLabels())
                        .build())
                .withAddressType(s.getAddressType())
                .withPorts(s.getPorts())
                .withEndpoints(Objects.requireNonNullElse(s.getEndpoints(), List.<Endpoint>of()).stream()
                        .map(e -> new EndpointBuilder()
                                .withAddresses(e.getAddresses())
                                .withConditions(e.getConditions())
                                .build())
                        .toList())
                .build());
    }

    /** What a cache and its events need to tell objects and versions apart. */
    private static ObjectMetaBuilder identity(ObjectMeta meta) {
        return new ObjectMetaBuilder()
                .withName(meta.getName())
                .withNamespace(meta.getNamespace())
                .withUid(meta.getUid())
                .withResourceVersion(meta.getResourceVersion())
                .withGeneration(meta.getGeneration())
                .withDeletionTimestamp(meta.getDeletionTimestamp());
    }

    @Override
    public String getKey(T object) {
        return store.getKey(object);
    }

    @Override
    public T put(String key, T object) {
        return store.put(key, trim.apply(object));
    }

    @Override
    public T remove(String key) {
        return store.remove(key);
    }

    @Override
    public Stream<String> keySet() {
        return store.keySet();
    }

    @Override
    public Stream<T> values() {
        return store.values();
    }

    @Override
    public int size() {
        return store.size();
    }

    @Override
    public T get(String key) {
        return store.get(key);
    }
}
