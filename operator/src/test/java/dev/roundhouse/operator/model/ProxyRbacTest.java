package dev.roundhouse.operator.model;

import static dev.roundhouse.operator.model.TestLoadBalancers.assertOwnMetadata;
import static org.assertj.core.api.Assertions.assertThat;

import dev.roundhouse.operator.api.v1alpha1.LoadBalancer;
import io.fabric8.kubernetes.api.model.ServiceAccount;
import io.fabric8.kubernetes.api.model.rbac.PolicyRule;
import io.fabric8.kubernetes.api.model.rbac.PolicyRuleBuilder;
import io.fabric8.kubernetes.api.model.rbac.Role;
import io.fabric8.kubernetes.api.model.rbac.RoleBinding;
import java.util.List;
import org.junit.jupiter.api.Test;

class ProxyRbacTest {

    private final LoadBalancer lb = TestLoadBalancers.web();

    @Test
    void serviceAccount() {
        ServiceAccount sa = ProxyRbac.serviceAccount(lb);

        assertOwnMetadata(sa, lb, "web-proxy");
        assertThat(sa.getMetadata().getLabels()).containsExactlyEntriesOf(Labels.all(lb));
        assertThat(ProxyDeployments.desired(lb, "proxy:1")
                        .getSpec()
                        .getTemplate()
                        .getSpec()
                        .getServiceAccountName())
                .isEqualTo(sa.getMetadata().getName());
    }

    @Test
    void roleReadsTheOwnPoolConfigMapAndNothingElse() {
        // With spec.tls too: the proxies read the Secrets' mounted files, never the Secrets.
        var tls = new dev.roundhouse.operator.api.v1alpha1.TlsSpec();
        tls.setSecretNames(List.of("web-tls"));
        lb.getSpec().setTls(tls);
        Role role = ProxyRbac.role(lb);

        assertOwnMetadata(role, lb, "web-proxy");
        assertThat(role.getMetadata().getLabels()).containsExactlyEntriesOf(Labels.all(lb));
        PolicyRule only = new PolicyRuleBuilder()
                .withApiGroups("")
                .withResources("configmaps")
                .withResourceNames("web-pool")
                .withVerbs("get", "list", "watch")
                .build();
        // Equality covers every field, including empty nonResourceURLs.
        assertThat(role.getRules()).containsExactly(only);
    }

    @Test
    void roleBindingBindsTheRoleToTheServiceAccount() {
        RoleBinding binding = ProxyRbac.roleBinding(lb);

        assertOwnMetadata(binding, lb, "web-proxy");
        assertThat(binding.getMetadata().getLabels()).containsExactlyEntriesOf(Labels.all(lb));
        assertThat(binding.getRoleRef().getApiGroup()).isEqualTo("rbac.authorization.k8s.io");
        assertThat(binding.getRoleRef().getKind()).isEqualTo("Role");
        assertThat(binding.getRoleRef().getName())
                .isEqualTo(ProxyRbac.role(lb).getMetadata().getName());
        assertThat(binding.getSubjects()).singleElement().satisfies(s -> {
            assertThat(s.getKind()).isEqualTo("ServiceAccount");
            assertThat(s.getName())
                    .isEqualTo(ProxyRbac.serviceAccount(lb).getMetadata().getName());
            assertThat(s.getNamespace()).isEqualTo("shop");
        });
    }
}
