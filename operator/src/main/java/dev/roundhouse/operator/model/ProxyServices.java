package dev.roundhouse.operator.model;

import dev.roundhouse.operator.api.v1alpha1.LoadBalancer;
import dev.roundhouse.operator.api.v1alpha1.LoadBalancerSpec;
import dev.roundhouse.operator.api.v1alpha1.ServiceSpec;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.ServicePort;
import io.fabric8.kubernetes.api.model.ServicePortBuilder;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * The Services of a LoadBalancer's proxies: the traffic Service clients address (of the type the spec asks for), and
 * a ClusterIP metrics Service for Prometheus and the probes' port, never reachable through the load balancer.
 */
public final class ProxyServices {

    static final String DEFAULT_TYPE = "ClusterIP";
    static final int DEFAULT_PORT = 8080;

    private ProxyServices() {}

    public static Service desired(LoadBalancer lb) {
        LoadBalancerSpec spec = lb.getSpec();
        ServiceSpec service = Objects.requireNonNullElseGet(spec.getService(), ServiceSpec::new);
        String type = Objects.requireNonNullElse(service.getType(), DEFAULT_TYPE);
        // never null: the framework adds its own annotation to this map
        Map<String, String> annotations =
                service.getAnnotations() == null ? new TreeMap<>() : new TreeMap<>(service.getAnnotations());
        boolean external = !type.equals("ClusterIP");
        // No owner reference here: JOSDK adds it to dependents.
        return new ServiceBuilder()
                .withNewMetadata()
                .withName(Names.service(lb))
                .withNamespace(lb.getMetadata().getNamespace())
                .withLabels(Labels.all(lb))
                .withAnnotations(annotations)
                .endMetadata()
                .withNewSpec()
                .withType(type)
                .withSelector(Labels.selector(lb))
                .withPorts(ports(spec))
                // What the API server would fill in otherwise; clusterIP and nodePorts are its to allocate.
                .withSessionAffinity("None")
                .withInternalTrafficPolicy("Cluster")
                // Only allowed for NodePort and LoadBalancer Services.
                .withExternalTrafficPolicy(
                        external ? Objects.requireNonNullElse(service.getExternalTrafficPolicy(), "Cluster") : null)
                .withLoadBalancerClass(service.getLoadBalancerClass())
                .withLoadBalancerSourceRanges(
                        service.getLoadBalancerSourceRanges() == null
                                ? null
                                : List.copyOf(service.getLoadBalancerSourceRanges()))
                .endSpec()
                .build();
    }

    /**
     * {@code spec.port}, and {@code spec.tls.port} with TLS: those ports only, while the containers listen on their
     * own unprivileged ports.
     */
    private static List<ServicePort> ports(LoadBalancerSpec spec) {
        List<ServicePort> ports = new ArrayList<>();
        ports.add(port(Names.HTTP_PORT_NAME, port(spec)));
        if (ProxyTls.enabled(spec)) {
            ports.add(port(Names.HTTPS_PORT_NAME, ProxyTls.servicePort(spec)));
        }
        return ports;
    }

    private static ServicePort port(String name, int port) {
        return new ServicePortBuilder()
                .withName(name)
                .withProtocol("TCP")
                .withPort(port)
                .withTargetPort(new IntOrString(name))
                .build();
    }

    /** The traffic Service's port: {@code spec.port}. */
    static int port(LoadBalancerSpec spec) {
        return Objects.requireNonNullElse(spec.getPort(), DEFAULT_PORT);
    }

    /** The metrics Service: ClusterIP whatever the traffic Service's type, picked by the ServiceMonitor. */
    public static Service desiredMetrics(LoadBalancer lb) {
        return new ServiceBuilder()
                .withNewMetadata()
                .withName(Names.metricsService(lb))
                .withNamespace(lb.getMetadata().getNamespace())
                .withLabels(Labels.metricsService(lb))
                // never null: the framework adds its own annotation to this map
                .withAnnotations(new TreeMap<>())
                .endMetadata()
                .withNewSpec()
                .withType("ClusterIP")
                .withSelector(Labels.selector(lb))
                .withPorts(new ServicePortBuilder()
                        .withName(Names.METRICS_PORT_NAME)
                        .withProtocol("TCP")
                        .withPort(Names.METRICS_PORT)
                        .withTargetPort(new IntOrString(Names.METRICS_PORT_NAME))
                        .build())
                .withSessionAffinity("None")
                .withInternalTrafficPolicy("Cluster")
                .endSpec()
                .build();
    }
}
