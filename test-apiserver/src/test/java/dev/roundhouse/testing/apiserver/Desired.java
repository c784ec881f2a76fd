package dev.roundhouse.testing.apiserver;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceAccount;
import io.fabric8.kubernetes.api.model.ServiceAccountBuilder;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.DeploymentBuilder;
import io.fabric8.kubernetes.api.model.rbac.Role;
import io.fabric8.kubernetes.api.model.rbac.RoleBinding;
import io.fabric8.kubernetes.api.model.rbac.RoleBindingBuilder;
import io.fabric8.kubernetes.api.model.rbac.RoleBuilder;
import java.util.Map;

/** Desired objects of the kinds an operator manages, built the way an operator builds them. */
final class Desired {

    private Desired() {}

    static ConfigMap configMap(String name) {
        return new ConfigMapBuilder()
                .withNewMetadata()
                .withName(name)
                .withLabels(Map.of("app", name))
                .endMetadata()
                .withData(Map.of("pool.json", "{\"backends\":[]}", "mode", "round-robin"))
                .build();
    }

    static Deployment deployment(String name) {
        return new DeploymentBuilder()
                .withNewMetadata()
                .withName(name)
                .withLabels(Map.of("app", name))
                .withAnnotations(Map.of("roundhouse.dev/config-hash", "abc123"))
                .endMetadata()
                .withNewSpec()
                .withReplicas(2)
                .withNewSelector()
                .withMatchLabels(Map.of("app", name))
                .endSelector()
                .withNewTemplate()
                .withNewMetadata()
                .withLabels(Map.of("app", name))
                .endMetadata()
                .withNewSpec()
                .withServiceAccountName(name)
                .addNewContainer()
                .withName("proxy")
                .withImage("roundhouse/proxy:0.1.0")
                .withArgs("--config", "/etc/roundhouse/pool.json")
                .addNewPort()
                .withName("http")
                .withContainerPort(8080)
                .withProtocol("TCP")
                .endPort()
                .addNewPort()
                .withName("admin")
                .withContainerPort(9090)
                .withProtocol("TCP")
                .endPort()
                .addNewEnv()
                .withName("JAVA_OPTS")
                .withValue("-Xmx256m")
                .endEnv()
                .addNewEnv()
                .withName("POD_NAME")
                .withNewValueFrom()
                .withNewFieldRef()
                .withFieldPath("metadata.name")
                .endFieldRef()
                .endValueFrom()
                .endEnv()
                .withNewReadinessProbe()
                .withNewHttpGet()
                .withPath("/ready")
                .withPort(new IntOrString("admin"))
                .endHttpGet()
                .withPeriodSeconds(5)
                .endReadinessProbe()
                .withNewLivenessProbe()
                .withNewHttpGet()
                .withPath("/live")
                .withPort(new IntOrString(9090))
                .endHttpGet()
                .withInitialDelaySeconds(10)
                .endLivenessProbe()
                .withNewSecurityContext()
                .withRunAsNonRoot(true)
                .withReadOnlyRootFilesystem(true)
                .withAllowPrivilegeEscalation(false)
                .withNewCapabilities()
                .withDrop("ALL")
                .endCapabilities()
                .endSecurityContext()
                .withNewResources()
                .withRequests(Map.of("cpu", new Quantity("100m"), "memory", new Quantity("128Mi")))
                .withLimits(Map.of("memory", new Quantity("256Mi")))
                .endResources()
                .addNewVolumeMount()
                .withName("config")
                .withMountPath("/etc/roundhouse")
                .withReadOnly(true)
                .endVolumeMount()
                .endContainer()
                .addNewVolume()
                .withName("config")
                .withNewConfigMap()
                .withName(name)
                .endConfigMap()
                .endVolume()
                .endSpec()
                .endTemplate()
                .endSpec()
                .build();
    }

    static Service service(String name) {
        return new ServiceBuilder()
                .withNewMetadata()
                .withName(name)
                .withLabels(Map.of("app", name))
                .endMetadata()
                .withNewSpec()
                .withType("ClusterIP")
                .withSelector(Map.of("app", name))
                .addNewPort()
                .withName("http")
                .withPort(80)
                .withTargetPort(new IntOrString("http"))
                .withProtocol("TCP")
                .endPort()
                .addNewPort()
                .withName("admin")
                .withPort(9090)
                .withTargetPort(new IntOrString(9090))
                .endPort()
                .endSpec()
                .build();
    }

    static ServiceAccount serviceAccount(String name) {
        return new ServiceAccountBuilder()
                .withNewMetadata()
                .withName(name)
                .withLabels(Map.of("app", name))
                .endMetadata()
                .withAutomountServiceAccountToken(false)
                .build();
    }

    static Role role(String name) {
        return new RoleBuilder()
                .withNewMetadata()
                .withName(name)
                .withLabels(Map.of("app", name))
                .endMetadata()
                .addNewRule()
                .withApiGroups("")
                .withResources("configmaps")
                .withVerbs("get", "list", "watch")
                .endRule()
                .addNewRule()
                .withApiGroups("discovery.k8s.io")
                .withResources("endpointslices")
                .withVerbs("get", "list")
                .endRule()
                .build();
    }

    static RoleBinding roleBinding(String name) {
        return new RoleBindingBuilder()
                .withNewMetadata()
                .withName(name)
                .withLabels(Map.of("app", name))
                .endMetadata()
                .withNewRoleRef()
                .withApiGroup("rbac.authorization.k8s.io")
                .withKind("Role")
                .withName(name)
                .endRoleRef()
                .addNewSubject()
                .withKind("ServiceAccount")
                .withName(name)
                .withNamespace("default")
                .endSubject()
                .build();
    }
}
