package dev.roundhouse.operator.model;

import dev.roundhouse.operator.api.v1alpha1.LoadBalancer;
import io.fabric8.kubernetes.api.model.ServiceAccount;
import io.fabric8.kubernetes.api.model.ServiceAccountBuilder;
import io.fabric8.kubernetes.api.model.rbac.PolicyRuleBuilder;
import io.fabric8.kubernetes.api.model.rbac.Role;
import io.fabric8.kubernetes.api.model.rbac.RoleBinding;
import io.fabric8.kubernetes.api.model.rbac.RoleBindingBuilder;
import io.fabric8.kubernetes.api.model.rbac.RoleBuilder;

/**
 * The proxies' identity and the one permission they need: reading their own pool ConfigMap.
 * No owner references here: JOSDK adds them to dependents.
 */
public final class ProxyRbac {

    static final String RBAC_GROUP = "rbac.authorization.k8s.io";

    private ProxyRbac() {}

    public static ServiceAccount serviceAccount(LoadBalancer lb) {
        return new ServiceAccountBuilder()
                .withNewMetadata()
                .withName(Names.serviceAccount(lb))
                .withNamespace(lb.getMetadata().getNamespace())
                .withLabels(Labels.all(lb))
                .endMetadata()
                .build();
    }

    /**
     * Read access to the pool ConfigMap and nothing else. resourceNames also limits list and watch, which the
     * API server then allows only with a {@code metadata.name} field selector, as a single-object informer sends.
     */
    public static Role role(LoadBalancer lb) {
        return new RoleBuilder()
                .withNewMetadata()
                .withName(Names.role(lb))
                .withNamespace(lb.getMetadata().getNamespace())
                .withLabels(Labels.all(lb))
                .endMetadata()
                .withRules(new PolicyRuleBuilder()
                        .withApiGroups("")
                        .withResources("configmaps")
                        .withResourceNames(Names.poolConfigMap(lb))
                        .withVerbs("get", "list", "watch")
                        .build())
                .build();
    }

    public static RoleBinding roleBinding(LoadBalancer lb) {
        return new RoleBindingBuilder()
                .withNewMetadata()
                .withName(Names.roleBinding(lb))
                .withNamespace(lb.getMetadata().getNamespace())
                .withLabels(Labels.all(lb))
                .endMetadata()
                .withNewRoleRef()
                .withApiGroup(RBAC_GROUP)
                .withKind("Role")
                .withName(Names.role(lb))
                .endRoleRef()
                .addNewSubject()
                .withKind("ServiceAccount")
                .withName(Names.serviceAccount(lb))
                .withNamespace(lb.getMetadata().getNamespace())
                .endSubject()
                .build();
    }
}
