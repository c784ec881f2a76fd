package dev.roundhouse.operator.dependent;

import dev.roundhouse.operator.OperatorSettings;
import dev.roundhouse.operator.api.v1alpha1.LoadBalancer;
import dev.roundhouse.operator.model.ProxyDeployments;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.javaoperatorsdk.operator.api.config.informer.Informer;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.processing.dependent.kubernetes.CRUDKubernetesDependentResource;
import io.javaoperatorsdk.operator.processing.dependent.kubernetes.KubernetesDependent;

/** The proxy Deployment; nothing in it depends on the backends, so pool changes never roll it. */
@KubernetesDependent(informer = @Informer(labelSelector = Managed.SELECTOR))
public class ProxyDeploymentDependentResource extends CRUDKubernetesDependentResource<Deployment, LoadBalancer> {

    @Override
    protected Deployment desired(LoadBalancer lb, Context<LoadBalancer> context) {
        OperatorSettings settings = OperatorSettings.of(context);
        return ProxyDeployments.desired(lb, settings.proxyImage(), settings.proxyImagePullSecrets());
    }
}
