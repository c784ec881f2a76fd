package dev.roundhouse.operator.model;

import static org.assertj.core.api.Assertions.assertThat;

import dev.roundhouse.poolformat.PoolDocument;
import dev.roundhouse.poolformat.PoolDocument.BackendEntry;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.ServicePort;
import io.fabric8.kubernetes.api.model.ServicePortBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.Endpoint;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointPort;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointPortBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;

class PoolDocumentsFromEndpointSlicesTest {

    @Test
    void namedPortTakesTheSlicePortWithThatName() {
        Service service = service(port("web", 80, "http"), port("admin", 81, "admin"));
        EndpointSlice slice = slice(
                "api-abc", List.of(slicePort("admin", 9000), slicePort("web", 8080)), endpoint(null, null, "10.1.0.7"));

        assertThat(PoolDocuments.fromEndpointSlices(service, 80, "http", List.of(slice)))
                .containsExactly(new BackendEntry("http://10.1.0.7:8080", 1));
        assertThat(PoolDocuments.fromEndpointSlices(service, 81, "https", List.of(slice)))
                .containsExactly(new BackendEntry("https://10.1.0.7:9000", 1));
    }

    @Test
    void unnamedPortTakesTheSlicesOnlyPort() {
        Service service = service(port(null, 80, null));
        EndpointSlice unnamed = slice("api-1", List.of(slicePort(null, 8080)), endpoint(true, false, "10.1.0.7"));
        EndpointSlice emptyName = slice("api-2", List.of(slicePort("", 8081)), endpoint(true, false, "10.1.0.8"));

        assertThat(PoolDocuments.fromEndpointSlices(service, 80, "http", List.of(unnamed, emptyName)))
                .extracting(BackendEntry::url)
                .containsExactly("http://10.1.0.7:8080", "http://10.1.0.8:8081");
    }

    @Test
    void onlyReadyEndpointsThatAreNotTerminating() {
        Service service = service(port("web", 80, "http"));
        EndpointSlice slice = slice(
                "api-abc",
                List.of(slicePort("web", 8080)),
                endpoint(true, false, "10.1.0.1"),
                endpoint(null, null, "10.1.0.2"), // unknown readiness counts as ready
                endpoint(false, false, "10.1.0.3"), // not ready
                endpoint(true, true, "10.1.0.4"), // terminating (still serving)
                endpoint(false, true, "10.1.0.5"));

        assertThat(PoolDocuments.fromEndpointSlices(service, 80, "http", List.of(slice)))
                .extracting(BackendEntry::url)
                .containsExactly("http://10.1.0.1:8080", "http://10.1.0.2:8080");
    }

    @Test
    void ipv6AddressesGoInBrackets() throws Exception {
        Service service = service(port("web", 80, "http"));
        EndpointSlice slice = new EndpointSliceBuilder(
                        slice("api-v6", List.of(slicePort("web", 8080)), endpoint(true, false, "FD00::7")))
                .withAddressType("IPv6")
                .build();

        List<BackendEntry> backends = PoolDocuments.fromEndpointSlices(service, 80, "http", List.of(slice));

        assertThat(backends).containsExactly(new BackendEntry("http://[fd00::7]:8080", 1));
        // ...which the pool document accepts and writes as is.
        assertThat(PoolDocuments.render(PoolDocument.of(backends))).contains("\"http://[fd00::7]:8080\"");
    }

    @Test
    void duplicatesCollapseAndOrderDoesNotDependOnTheApi() {
        Service service = service(port("web", 80, "http"));
        EndpointSlice a = slice(
                "api-a",
                List.of(slicePort("web", 8080)),
                endpoint(true, false, "10.1.0.9"),
                endpoint(true, false, "10.1.0.10"));
        // The same endpoint can appear in two slices for a moment while the controller moves it.
        EndpointSlice b =
                slice("api-b", List.of(slicePort("web", 8080)), endpoint(true, false, "10.1.0.3", "10.1.0.9"));
        List<EndpointSlice> slices = new ArrayList<>(List.of(a, b));

        List<BackendEntry> forward = PoolDocuments.fromEndpointSlices(service, 80, "http", slices);
        Collections.reverse(slices);
        List<BackendEntry> backward = PoolDocuments.fromEndpointSlices(service, 80, "http", slices);

        assertThat(forward)
                .extracting(BackendEntry::url)
                .containsExactly("http://10.1.0.10:8080", "http://10.1.0.3:8080", "http://10.1.0.9:8080");
        assertThat(forward).allSatisfy(e -> assertThat(e.weight()).isEqualTo(1));
        assertThat(backward).isEqualTo(forward);
    }

    @Test
    void unknownServicePortGivesNothing() {
        Service service = service(port("web", 80, "http"));
        EndpointSlice slice = slice("api-abc", List.of(slicePort("web", 8080)), endpoint(true, false, "10.1.0.1"));

        assertThat(PoolDocuments.fromEndpointSlices(service, 8080, "http", List.of(slice)))
                .isEmpty();
    }

    @Test
    void udpPortWithTheSameNumberIsIgnored() {
        ServicePort udp = new ServicePortBuilder(port("dns-udp", 53, "dns"))
                .withProtocol("UDP")
                .build();
        Service service = service(udp, port("dns-tcp", 53, "dns"));
        EndpointSlice slice = slice(
                "api-abc",
                List.of(slicePort("dns-udp", 5353), slicePort("dns-tcp", 5354)),
                endpoint(true, false, "10.1.0.1"));

        assertThat(PoolDocuments.fromEndpointSlices(service, 53, "http", List.of(slice)))
                .containsExactly(new BackendEntry("http://10.1.0.1:5354", 1));
    }

    @Test
    void slicesWithoutTheMatchingPortOrOfAnotherServiceAreSkipped() {
        Service service = service(port("web", 80, "http"));
        EndpointSlice otherPort = slice("api-x", List.of(slicePort("grpc", 9000)), endpoint(true, false, "10.1.0.1"));
        EndpointSlice otherService = new EndpointSliceBuilder(
                        slice("db-x", List.of(slicePort("web", 8080)), endpoint(true, false, "10.1.0.2")))
                .editMetadata()
                .addToLabels("kubernetes.io/service-name", "db")
                .endMetadata()
                .build();
        EndpointSlice empty = new EndpointSliceBuilder()
                .withNewMetadata()
                .withName("api-e")
                .endMetadata()
                .withPorts(slicePort("web", 8080))
                .build();

        assertThat(PoolDocuments.fromEndpointSlices(service, 80, "http", List.of(otherPort, otherService, empty)))
                .isEmpty();
    }

    @Test
    void slicePortWithoutNumberFallsBackToNumericTargetPort() {
        Service service = service(new ServicePortBuilder()
                .withName("web")
                .withPort(80)
                .withTargetPort(new IntOrString(8088))
                .build());
        EndpointSlice slice = slice(
                "api-abc",
                List.of(new EndpointPortBuilder().withName("web").build()),
                endpoint(true, false, "10.1.0.1"));

        assertThat(PoolDocuments.fromEndpointSlices(service, 80, "http", List.of(slice)))
                .containsExactly(new BackendEntry("http://10.1.0.1:8088", 1));
    }

    private Service service(ServicePort... ports) {
        return new ServiceBuilder()
                .withNewMetadata()
                .withName("api")
                .withNamespace("shop")
                .endMetadata()
                .withNewSpec()
                .withPorts(ports)
                .endSpec()
                .build();
    }

    private ServicePort port(String name, int port, String targetPort) {
        return new ServicePortBuilder()
                .withName(name)
                .withPort(port)
                .withProtocol("TCP")
                .withTargetPort(targetPort == null ? new IntOrString(port) : new IntOrString(targetPort))
                .build();
    }

    private EndpointPort slicePort(String name, int port) {
        return new EndpointPortBuilder()
                .withName(name)
                .withPort(port)
                .withProtocol("TCP")
                .build();
    }

    private EndpointSlice slice(String name, List<EndpointPort> ports, Endpoint... endpoints) {
        return new EndpointSliceBuilder()
                .withNewMetadata()
                .withName(name)
                .withNamespace("shop")
                .addToLabels("kubernetes.io/service-name", "api")
                .endMetadata()
                .withAddressType("IPv4")
                .withPorts(ports)
                .withEndpoints(endpoints)
                .build();
    }

    private Endpoint endpoint(Boolean ready, Boolean terminating, String... addresses) {
        return new EndpointBuilder()
                .withAddresses(addresses)
                .withNewConditions()
                .withReady(ready)
                .withServing(ready)
                .withTerminating(terminating)
                .endConditions()
                .build();
    }
}
