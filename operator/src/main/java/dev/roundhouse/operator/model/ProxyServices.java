package dev.roundhouse.operator.model;

import dev.roundhouse.operator.api.v1alpha1.LoadBalancer;
import dev.roundhouse.operator.api.v1alpha1.LoadBalancerSpec;
import dev.roundhouse.operator.api.v1alpha1.ServiceSpec;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.ServicePortBuilder;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/** The Service in front of a LoadBalancer's proxies. */
public final class ProxyServices {

    static final String DEFAULT_TYPE = "ClusterIP";

    private ProxyServices() {
    }

    public static Service desired(LoadBalancer lb) {
        LoadBalancerSpec spec = lb.getSpec();
        ServiceSpec service = Objects.requireNonNullElseGet(spec.getService(), ServiceSpec::new);
        String type = Objects.requireNonNullElse(service.getType(), DEFAULT_TYPE);
        // never null: the framework adds its own annotation to this map
        Map<String, String> annotations = service.getAnnotations() == null
                ? new TreeMap<>()
                : new TreeMap<>(service.getAnnotations());
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
                    .withPorts(
                            new ServicePortBuilder()
                                    .withName(Names.HTTP_PORT_NAME)
                                    .withProtocol("TCP")
                                    .withPort(ProxyDeployments.port(spec))
                                    // By name, so the Service follows the container port when spec.port changes.
                                    .withTargetPort(new IntOrString(Names.HTTP_PORT_NAME))
                                    .build(),
                            new ServicePortBuilder()
                                    .withName(Names.METRICS_PORT_NAME)
                                    .withProtocol("TCP")
                                    .withPort(Names.METRICS_PORT)
                                    .withTargetPort(new IntOrString(Names.METRICS_PORT_NAME))
                                    .build())
                    // What the API server would fill in otherwise; clusterIP and nodePorts are its to allocate.
                    .withSessionAffinity("None")
                    .withInternalTrafficPolicy("Cluster")
                    // Only allowed for NodePort and LoadBalancer Services.
                    .withExternalTrafficPolicy(external ? "Cluster" : null)
                .endSpec()
                .build();
    }
}
