package dev.roundhouse.operator.reconciler;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.ManagedFieldsEntryBuilder;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** What the operator keeps of each Service and EndpointSlice it watches: what it reads, nothing else. */
class TrimmedStoreTest {

    @Test
    void aServiceKeepsItsIdentityAndPorts() {
        Service service = new ServiceBuilder()
                .withNewMetadata()
                .withName("api")
                .withNamespace("shop")
                .withUid("u1")
                .withResourceVersion("7")
                .withLabels(Map.of("app", "api"))
                .withAnnotations(Map.of("kubectl.kubernetes.io/last-applied-configuration", "{\"big\":true}"))
                .withManagedFields(
                        new ManagedFieldsEntryBuilder().withManager("kubectl").build())
                .endMetadata()
                .withNewSpec()
                .withType("LoadBalancer")
                .withClusterIP("10.0.0.1")
                .withSelector(Map.of("app", "api"))
                .addNewPort()
                .withName("http")
                .withPort(80)
                .withProtocol("TCP")
                .withTargetPort(new IntOrString("web"))
                .endPort()
                .endSpec()
                .withNewStatus()
                .withNewLoadBalancer()
                .addNewIngress()
                .withIp("203.0.113.9")
                .endIngress()
                .endLoadBalancer()
                .endStatus()
                .build();
        TrimmedStore<Service> store = TrimmedStore.services();

        store.put(store.getKey(service), service);
        Service kept = store.get("shop/api");

        assertThat(kept.getMetadata().getName()).isEqualTo("api");
        assertThat(kept.getMetadata().getNamespace()).isEqualTo("shop");
        assertThat(kept.getMetadata().getResourceVersion()).isEqualTo("7");
        assertThat(kept.getSpec().getPorts()).isEqualTo(service.getSpec().getPorts());
        assertThat(kept.getMetadata().getManagedFields()).isNullOrEmpty();
        assertThat(kept.getMetadata().getAnnotations()).isNullOrEmpty();
        assertThat(kept.getStatus()).isNull();
        assertThat(kept.getSpec().getClusterIP()).isNull();
        assertThat(Serialization.asJson(kept).length())
                .isLessThan(Serialization.asJson(service).length() / 2);
    }

    @Test
    void anEndpointSliceKeepsItsServiceLabelPortsAddressesAndConditions() {
        EndpointSlice slice = new EndpointSliceBuilder()
                .withNewMetadata()
                .withName("api-x1")
                .withNamespace("shop")
                .withResourceVersion("9")
                .withLabels(Map.of("kubernetes.io/service-name", "api"))
                .withAnnotations(Map.of("endpoints.kubernetes.io/last-change-trigger-time", "2026-12-06T00:00:00Z"))
                .withManagedFields(new ManagedFieldsEntryBuilder()
                        .withManager("endpointslice-controller")
                        .build())
                .endMetadata()
                .withAddressType("IPv4")
                .addNewPort()
                .withName("http")
                .withPort(8080)
                .withProtocol("TCP")
                .endPort()
                .addNewEndpoint()
                .withAddresses("10.1.0.7")
                .withNewConditions()
                .withReady(true)
                .withServing(true)
                .withTerminating(false)
                .endConditions()
                .withNodeName("node-a")
                .withZone("zone-1")
                .withNewTargetRef()
                .withKind("Pod")
                .withName("api-7d9")
                .withNamespace("shop")
                .withUid("p1")
                .endTargetRef()
                .endEndpoint()
                .build();
        TrimmedStore<EndpointSlice> store = TrimmedStore.endpointSlices();

        store.put(store.getKey(slice), slice);
        EndpointSlice kept = store.get("shop/api-x1");

        assertThat(kept.getMetadata().getLabels()).containsEntry("kubernetes.io/service-name", "api");
        assertThat(kept.getPorts()).isEqualTo(slice.getPorts());
        assertThat(kept.getEndpoints()).singleElement().satisfies(e -> {
            assertThat(e.getAddresses()).containsExactly("10.1.0.7");
            assertThat(e.getConditions()).isEqualTo(slice.getEndpoints().get(0).getConditions());
            assertThat(e.getTargetRef()).isNull();
            assertThat(e.getNodeName()).isNull();
            assertThat(e.getZone()).isNull();
        });
        assertThat(kept.getMetadata().getManagedFields()).isNullOrEmpty();
        assertThat(kept.getMetadata().getAnnotations()).isNullOrEmpty();
    }
}
