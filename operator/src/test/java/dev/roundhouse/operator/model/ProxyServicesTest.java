package dev.roundhouse.operator.model;

import static dev.roundhouse.operator.model.TestLoadBalancers.assertOwnMetadata;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.entry;
import static org.assertj.core.api.Assertions.tuple;

import dev.roundhouse.operator.api.v1alpha1.LoadBalancer;
import dev.roundhouse.operator.api.v1alpha1.ServiceSpec;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServicePort;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ProxyServicesTest {

    private final LoadBalancer lb = TestLoadBalancers.web();

    @Test
    void defaultService() {
        Service service = ProxyServices.desired(lb);

        assertOwnMetadata(service, lb, "web");
        assertThat(service.getMetadata().getLabels()).containsExactlyEntriesOf(Labels.all(lb));
        assertThat(service.getMetadata().getAnnotations()).isNullOrEmpty();
        assertThat(service.getSpec().getType()).isEqualTo("ClusterIP");
        assertThat(service.getSpec().getSelector()).isEqualTo(Labels.selector(lb));
        assertThat(service.getSpec().getPorts())
                .extracting(
                        ServicePort::getName,
                        ServicePort::getPort,
                        ServicePort::getTargetPort,
                        ServicePort::getProtocol)
                // The traffic port only: metrics, /healthz and /readyz are on the metrics Service.
                .containsExactly(tuple("http", 8080, new IntOrString("http"), "TCP"));
        assertThat(service.getSpec().getSessionAffinity()).isEqualTo("None");
        assertThat(service.getSpec().getInternalTrafficPolicy()).isEqualTo("Cluster");
        // The API server refuses externalTrafficPolicy on a ClusterIP Service.
        assertThat(service.getSpec().getExternalTrafficPolicy()).isNull();
        // The API server allocates these; writing them would fight it.
        assertThat(service.getSpec().getClusterIP()).isNull();
        assertThat(service.getSpec().getPorts())
                .allSatisfy(p -> assertThat(p.getNodePort()).isNull());
    }

    @Test
    void typePortAndAnnotationsFromTheSpec() {
        ServiceSpec spec = new ServiceSpec();
        spec.setType("LoadBalancer");
        spec.setAnnotations(Map.of("service.beta.kubernetes.io/aws-load-balancer-type", "nlb", "a.example/first", "1"));
        lb.getSpec().setService(spec);
        lb.getSpec().setPort(80);

        Service service = ProxyServices.desired(lb);

        assertThat(service.getSpec().getType()).isEqualTo("LoadBalancer");
        assertThat(service.getSpec().getExternalTrafficPolicy()).isEqualTo("Cluster");
        assertThat(service.getMetadata().getAnnotations())
                .containsExactly(
                        entry("a.example/first", "1"),
                        entry("service.beta.kubernetes.io/aws-load-balancer-type", "nlb"));
        assertThat(service.getSpec().getPorts().get(0).getPort()).isEqualTo(80);
    }

    @Test
    void loadBalancerSettingsReachTheService() {
        ServiceSpec spec = new ServiceSpec();
        spec.setType("LoadBalancer");
        spec.setExternalTrafficPolicy("Local");
        spec.setLoadBalancerClass("service.k8s.aws/nlb");
        spec.setLoadBalancerSourceRanges(List.of("203.0.113.0/24", "2001:db8::/32"));
        lb.getSpec().setService(spec);

        Service service = ProxyServices.desired(lb);

        assertThat(service.getSpec().getExternalTrafficPolicy()).isEqualTo("Local");
        assertThat(service.getSpec().getLoadBalancerClass()).isEqualTo("service.k8s.aws/nlb");
        assertThat(service.getSpec().getLoadBalancerSourceRanges()).containsExactly("203.0.113.0/24", "2001:db8::/32");
        // The metrics Service stays ClusterIP with none of them.
        Service metrics = ProxyServices.desiredMetrics(lb);
        assertThat(metrics.getSpec().getExternalTrafficPolicy()).isNull();
        assertThat(metrics.getSpec().getLoadBalancerClass()).isNull();
        assertThat(metrics.getSpec().getLoadBalancerSourceRanges()).isNullOrEmpty();
    }

    @Test
    void aClusterIpServiceGetsNoExternalTrafficPolicyWhateverTheSpecSays() {
        ServiceSpec spec = new ServiceSpec();
        spec.setExternalTrafficPolicy("Local"); // the API server refuses it on a ClusterIP Service
        lb.getSpec().setService(spec);

        assertThat(ProxyServices.desired(lb).getSpec().getExternalTrafficPolicy())
                .isNull();
    }

    @Test
    void theMetricsServiceIsClusterIpWhateverTheTrafficServiceIs() {
        ServiceSpec spec = new ServiceSpec();
        spec.setType("LoadBalancer");
        spec.setAnnotations(Map.of("service.beta.kubernetes.io/aws-load-balancer-type", "nlb"));
        lb.getSpec().setService(spec);

        Service metrics = ProxyServices.desiredMetrics(lb);

        assertOwnMetadata(metrics, lb, "web-metrics");
        assertThat(metrics.getMetadata().getLabels()).containsExactlyEntriesOf(Labels.metricsService(lb));
        assertThat(metrics.getMetadata().getAnnotations()).isNullOrEmpty();
        assertThat(metrics.getSpec().getType()).isEqualTo("ClusterIP");
        assertThat(metrics.getSpec().getExternalTrafficPolicy()).isNull();
        assertThat(metrics.getSpec().getSelector()).isEqualTo(Labels.selector(lb));
        assertThat(metrics.getSpec().getPorts())
                .extracting(
                        ServicePort::getName,
                        ServicePort::getPort,
                        ServicePort::getTargetPort,
                        ServicePort::getProtocol)
                .containsExactly(tuple("metrics", 9090, new IntOrString("metrics"), "TCP"));
    }

    @Test
    void servicePort80LeavesTheContainerOnItsUnprivilegedPort() {
        lb.getSpec().setPort(80);

        Service service = ProxyServices.desired(lb);
        var container = ProxyDeployments.desired(lb, "proxy:1")
                .getSpec()
                .getTemplate()
                .getSpec()
                .getContainers()
                .get(0);

        assertThat(service.getSpec().getPorts()).singleElement().satisfies(p -> {
            assertThat(p.getPort()).isEqualTo(80);
            assertThat(p.getTargetPort()).isEqualTo(new IntOrString(Names.HTTP_PORT_NAME));
        });
        assertThat(container.getPorts())
                .allSatisfy(p -> assertThat(p.getContainerPort()).isGreaterThan(1023));
    }

    @Test
    void tlsAddsTheHttpsPortToTheTrafficServiceOnly() {
        var tls = new dev.roundhouse.operator.api.v1alpha1.TlsSpec();
        tls.setSecretNames(java.util.List.of("web-tls"));
        lb.getSpec().setTls(tls);

        assertThat(ProxyServices.desired(lb).getSpec().getPorts())
                .extracting(
                        p -> p.getName(),
                        p -> p.getPort(),
                        p -> p.getTargetPort().getStrVal())
                .containsExactly(
                        org.assertj.core.groups.Tuple.tuple("http", 8080, "http"),
                        org.assertj.core.groups.Tuple.tuple("https", 8443, "https"));
        assertThat(ProxyServices.desiredMetrics(lb).getSpec().getPorts())
                .extracting(p -> p.getName())
                .containsExactly("metrics");
    }

    @Test
    void selectsThePodsOfTheDeployment() {
        var template = ProxyDeployments.desired(lb, "proxy:1").getSpec().getTemplate();

        assertThat(template.getMetadata().getLabels())
                .containsAllEntriesOf(ProxyServices.desired(lb).getSpec().getSelector());
        assertThat(template.getSpec().getContainers().get(0).getPorts())
                .extracting("name")
                .containsExactly(Names.HTTP_PORT_NAME, Names.METRICS_PORT_NAME);
    }
}
