package dev.roundhouse.operator.dependent;

import dev.roundhouse.operator.OperatorSettings;
import dev.roundhouse.operator.api.v1alpha1.LoadBalancer;
import dev.roundhouse.operator.model.ProxyDeployments;
import dev.roundhouse.operator.reconciler.TlsSecrets;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.javaoperatorsdk.operator.api.config.informer.Informer;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.processing.dependent.Matcher;
import io.javaoperatorsdk.operator.processing.dependent.kubernetes.KubernetesDependent;

/**
 * The proxy Deployment; nothing in it depends on the backends, so pool changes never roll it. While a Secret that
 * {@code spec.tls} names is missing or unusable, an existing Deployment is left as it is: a rollout would bring pods
 * that wait for the Secret or refuse it, and the proxies running now keep serving. A new one is created all the same,
 * and its pods start once the Secret is there (kubelet waits for it).
 */
@KubernetesDependent(informer = @Informer(labelSelector = Managed.SELECTOR))
public class ProxyDeploymentDependentResource extends ControlledDependentResource<Deployment> {

    @Override
    protected Deployment desired(LoadBalancer lb, Context<LoadBalancer> context) {
        OperatorSettings settings = OperatorSettings.of(context);
        return ProxyDeployments.desired(lb, settings.proxyImage(), settings.proxyImagePullSecrets());
    }

    @Override
    public Matcher.Result<Deployment> match(
            Deployment actual, Deployment desired, LoadBalancer lb, Context<LoadBalancer> context) {
        if (TlsSecrets.of(context).problem() != null) {
            return Matcher.Result.computed(true, actual);
        }
        return super.match(actual, desired, lb, context);
    }
}
