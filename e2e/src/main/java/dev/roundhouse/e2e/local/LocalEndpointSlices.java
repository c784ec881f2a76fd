package dev.roundhouse.e2e.local;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.ObjectReferenceBuilder;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServicePort;
import io.fabric8.kubernetes.api.model.discovery.v1.Endpoint;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointPort;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointPortBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.net.HttpURLConnection;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The EndpointSlice controller's part for the pods the {@link LocalKubelet} runs: for every Service whose selector
 * picks a pod, a {@code discovery.k8s.io/v1} EndpointSlice of that pod on 127.0.0.1 with the ports its process
 * listens on. Every local pod has ports of its own, and the real controller puts endpoints whose ports differ in
 * different slices: so one slice per Service and pod. Writes only what changed; called on the kubelet's thread.
 */
final class LocalEndpointSlices implements AutoCloseable {

    static final String SERVICE_NAME_LABEL = "kubernetes.io/service-name";
    static final String MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by";
    static final String CONTROLLER = "endpointslice-controller.k8s.io";

    /**
     * A pod as the controller sees it: its labels, its container (for the ports it declares) and the ports its
     * process listens on here ({@code tlsPort} 0 without TLS).
     */
    record LocalPod(
            String namespace,
            String name,
            String suffix,
            Map<String, String> labels,
            Container container,
            int port,
            int metricsPort,
            int tlsPort,
            boolean ready,
            boolean terminating) {}

    private record Written(EndpointSlice slice, String uid) {}

    private static final Logger log = LoggerFactory.getLogger(LocalEndpointSlices.class);

    private final KubernetesClient client;
    /** What this controller wrote, by namespace/name: compared with what it wants, so that no change writes nothing. */
    private final Map<String, Written> written = new ConcurrentHashMap<>();

    private SharedIndexInformer<EndpointSlice> informer;

    LocalEndpointSlices(KubernetesClient client) {
        this.client = client;
    }

    /** Watches the slices, so that one deleted by someone else is written again ({@code onChange} asks for that). */
    LocalEndpointSlices start(Runnable onChange) {
        informer = client.discovery()
                .v1()
                .endpointSlices()
                .inAnyNamespace()
                .withLabel(MANAGED_BY_LABEL, CONTROLLER)
                .inform(new ResourceEventHandler<>() {
                    @Override
                    public void onAdd(EndpointSlice slice) {}

                    @Override
                    public void onUpdate(EndpointSlice before, EndpointSlice after) {}

                    @Override
                    public void onDelete(EndpointSlice slice, boolean unknownFinalState) {
                        String key = key(slice);
                        Written mine = written.get(key);
                        // The one we wrote, not an older one whose delete event comes late.
                        if (mine != null
                                && Objects.equals(
                                        mine.uid(), slice.getMetadata().getUid())) {
                            written.remove(key, mine);
                            onChange.run();
                        }
                    }
                });
        return this;
    }

    /** Brings the slices of {@code services} in step with {@code pods}. */
    void publish(Collection<Service> services, List<LocalPod> pods) {
        Map<String, EndpointSlice> desired = new LinkedHashMap<>();
        for (Service service : services) {
            for (LocalPod pod : pods) {
                if (selects(service, pod)) {
                    EndpointSlice slice = slice(service, pod);
                    desired.put(key(slice), slice);
                }
            }
        }
        desired.forEach((key, slice) -> {
            Written before = written.get(key);
            if (before == null || !before.slice().equals(slice)) {
                write(key, slice, before != null);
            }
        });
        written.forEach((key, mine) -> {
            if (!desired.containsKey(key)) {
                delete(key, mine.slice());
            }
        });
    }

    private void write(String key, EndpointSlice slice, boolean exists) {
        var resource = client.discovery()
                .v1()
                .endpointSlices()
                .inNamespace(slice.getMetadata().getNamespace())
                .resource(slice);
        try {
            EndpointSlice stored;
            try {
                stored = exists ? resource.update() : resource.create();
            } catch (KubernetesClientException e) {
                if (!exists || e.getCode() != HttpURLConnection.HTTP_NOT_FOUND) {
                    throw e;
                }
                stored = resource.create(); // deleted behind our back, before the informer said so
            }
            written.put(key, new Written(slice, stored.getMetadata().getUid()));
        } catch (KubernetesClientException e) {
            log.debug("Could not write the EndpointSlice {} yet: {}", key, e.getMessage());
        }
    }

    private void delete(String key, EndpointSlice slice) {
        try {
            client.discovery()
                    .v1()
                    .endpointSlices()
                    .inNamespace(slice.getMetadata().getNamespace())
                    .withName(slice.getMetadata().getName())
                    .delete();
            written.remove(key);
        } catch (KubernetesClientException e) {
            log.debug("Could not delete the EndpointSlice {} yet: {}", key, e.getMessage());
        }
    }

    /** As the real controller: a Service with a selector (one without has slices someone else writes). */
    private static boolean selects(Service service, LocalPod pod) {
        Map<String, String> selector = service.getSpec().getSelector();
        return pod.namespace().equals(service.getMetadata().getNamespace())
                && !"ExternalName".equals(service.getSpec().getType())
                && selector != null
                && !selector.isEmpty()
                && pod.labels().entrySet().containsAll(selector.entrySet());
    }

    /** The slice the real controller would write for this pod alone. */
    static EndpointSlice slice(Service service, LocalPod pod) {
        String serviceName = service.getMetadata().getName();
        // The Service's labels copied, then the controller's own, as the real one does.
        Map<String, String> labels =
                new TreeMap<>(Objects.requireNonNullElse(service.getMetadata().getLabels(), Map.of()));
        labels.put(SERVICE_NAME_LABEL, serviceName);
        labels.put(MANAGED_BY_LABEL, CONTROLLER);
        List<EndpointPort> ports = new ArrayList<>();
        for (ServicePort port : Objects.requireNonNullElse(service.getSpec().getPorts(), List.<ServicePort>of())) {
            IntOrString target = port.getTargetPort() != null ? port.getTargetPort() : new IntOrString(port.getPort());
            int podPort = podPort(pod, target);
            if (podPort != 0) { // a target the pod does not have is left out for that pod, as the real one does
                ports.add(new EndpointPortBuilder()
                        .withName(port.getName())
                        .withProtocol(Objects.requireNonNullElse(port.getProtocol(), "TCP"))
                        .withAppProtocol(port.getAppProtocol())
                        .withPort(podPort)
                        .build());
            }
        }
        boolean publishNotReady = Boolean.TRUE.equals(service.getSpec().getPublishNotReadyAddresses());
        // API rule: ready is never true for a terminating endpoint unless the Service publishes not-ready ones.
        Endpoint endpoint = new EndpointBuilder()
                .withAddresses("127.0.0.1")
                .withNewConditions()
                .withReady(publishNotReady || pod.ready() && !pod.terminating())
                .withServing(pod.ready())
                .withTerminating(pod.terminating())
                .endConditions()
                .withNodeName("local")
                .withTargetRef(new ObjectReferenceBuilder()
                        .withKind("Pod")
                        .withNamespace(pod.namespace())
                        .withName(pod.name())
                        .build())
                .build();
        return new EndpointSliceBuilder()
                .withNewMetadata()
                .withName(serviceName + "-" + pod.suffix())
                .withNamespace(pod.namespace())
                .withLabels(labels)
                .withOwnerReferences(new OwnerReferenceBuilder()
                        .withApiVersion("v1")
                        .withKind("Service")
                        .withName(serviceName)
                        .withUid(service.getMetadata().getUid())
                        .withController(true)
                        .withBlockOwnerDeletion(true)
                        .build())
                .endMetadata()
                .withAddressType("IPv4")
                .withEndpoints(endpoint)
                .withPorts(ports)
                .build();
    }

    /**
     * The port the pod's process listens on for a Service's targetPort, or 0: a name is the container port of that
     * name (or, for a container that declares none, the proxy's http, https, metrics), and a number is the port
     * that PORT, METRICS_PORT or TLS_PORT declares, which the process listens on a port of its own for.
     */
    static int podPort(LocalPod pod, IntOrString target) {
        Container container = pod.container();
        Integer number = target.getIntVal();
        if (number == null) {
            String name = target.getStrVal();
            for (ContainerPort port : Objects.requireNonNullElse(container.getPorts(), List.<ContainerPort>of())) {
                if (name.equals(port.getName())) {
                    number = port.getContainerPort();
                }
            }
            if (number == null) {
                return switch (name) {
                    case "http" -> pod.port();
                    case "metrics" -> pod.metricsPort();
                    case "https" -> pod.tlsPort();
                    default -> 0;
                };
            }
        }
        if (number == LocalKubelet.declared(container, "PORT", 8080)) {
            return pod.port();
        }
        if (number == LocalKubelet.declared(container, "METRICS_PORT", 9090)) {
            return pod.metricsPort();
        }
        if (number == LocalKubelet.declared(container, "TLS_PORT", 8443)) {
            return pod.tlsPort();
        }
        return 0;
    }

    private static String key(EndpointSlice slice) {
        return slice.getMetadata().getNamespace() + "/" + slice.getMetadata().getName();
    }

    @Override
    public void close() {
        if (informer != null) {
            informer.close();
        }
    }
}
