package dev.roundhouse.operator.observe;

import io.fabric8.kubernetes.api.model.discovery.v1.Endpoint;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointConditions;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointPort;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import java.net.URI;
import java.util.List;
import java.util.Objects;
import java.util.SortedSet;
import java.util.TreeSet;

/** The ready proxies, as the EndpointSlices of their metrics Service list them: where to ask each for its state. */
public final class ProxyEndpoints {

    private ProxyEndpoints() {}

    /**
     * {@code http://<address>:<port>} of every ready, not terminating endpoint of {@code slices}, at the slice's port
     * named {@code portName}; sorted, without duplicates.
     */
    public static List<URI> ready(List<EndpointSlice> slices, String portName) {
        SortedSet<String> urls = new TreeSet<>();
        for (EndpointSlice slice : slices) {
            Integer port = Objects.requireNonNullElse(slice.getPorts(), List.<EndpointPort>of()).stream()
                    .filter(p -> portName.equals(p.getName()) && p.getPort() != null)
                    .map(EndpointPort::getPort)
                    .findFirst()
                    .orElse(null);
            if (port == null) {
                continue;
            }
            for (Endpoint endpoint : Objects.requireNonNullElse(slice.getEndpoints(), List.<Endpoint>of())) {
                if (!ready(endpoint.getConditions())) {
                    continue;
                }
                for (String address : Objects.requireNonNullElse(endpoint.getAddresses(), List.<String>of())) {
                    urls.add("http://" + (address.contains(":") ? "[" + address + "]" : address) + ":" + port);
                }
            }
        }
        return urls.stream().map(URI::create).toList();
    }

    /** Ready unless said otherwise (the API's meaning of an absent ready), and not terminating. */
    private static boolean ready(EndpointConditions conditions) {
        return conditions == null
                || (!Boolean.FALSE.equals(conditions.getReady()) && !Boolean.TRUE.equals(conditions.getTerminating()));
    }
}
