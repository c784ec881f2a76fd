package dev.roundhouse.operator.dependent;

import dev.roundhouse.operator.api.v1alpha1.LoadBalancer;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import io.javaoperatorsdk.operator.processing.dependent.kubernetes.CRUDKubernetesDependentResource;

/**
 * A dependent its LoadBalancer controls: its owner reference says {@code controller: true}, which is what makes an
 * object the LoadBalancer's own (the reconciler's ownership check, {@code kubectl describe}'s "Controlled By", the
 * garbage collector's owner). JOSDK's own reference (fabric8's {@code addOwnerReference}) leaves {@code controller}
 * unset, and anyone may add such a reference to any object. {@code blockOwnerDeletion} stays unset: it would need
 * the operator to have update rights on {@code loadbalancers/finalizers}, and nothing waits for the proxies to go.
 */
public abstract class ControlledDependentResource<R extends HasMetadata>
        extends CRUDKubernetesDependentResource<R, LoadBalancer> {

    @Override
    protected void addReferenceHandlingMetadata(R desired, LoadBalancer lb) {
        // Added first: fabric8 then finds a reference with this uid and adds no second one.
        desired.addOwnerReference(new OwnerReferenceBuilder()
                .withApiVersion(lb.getApiVersion())
                .withKind(lb.getKind())
                .withName(lb.getMetadata().getName())
                .withUid(lb.getMetadata().getUid())
                .withController(true)
                .build());
        super.addReferenceHandlingMetadata(desired, lb);
    }
}
