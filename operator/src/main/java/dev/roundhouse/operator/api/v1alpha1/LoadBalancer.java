package dev.roundhouse.operator.api.v1alpha1;

import io.fabric8.crd.generator.annotation.AdditionalPrinterColumn;
import io.fabric8.generator.annotation.ValidationRule;
import io.fabric8.kubernetes.api.model.Namespaced;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.model.annotation.Group;
import io.fabric8.kubernetes.model.annotation.Plural;
import io.fabric8.kubernetes.model.annotation.ShortNames;
import io.fabric8.kubernetes.model.annotation.Version;

/** A load balancer: a fleet of Roundhouse proxies in front of a pool of backends. */
@Group(LoadBalancer.GROUP)
@Version(LoadBalancer.VERSION)
@Plural("loadbalancers")
@ShortNames("lb")
@AdditionalPrinterColumn(name = "Ready", type = AdditionalPrinterColumn.Type.STRING,
        jsonPath = ".status.conditions[?(@.type==\"Ready\")].status")
@AdditionalPrinterColumn(name = "Backends", type = AdditionalPrinterColumn.Type.INTEGER, jsonPath = ".status.backends")
@AdditionalPrinterColumn(name = "Replicas", type = AdditionalPrinterColumn.Type.INTEGER, jsonPath = ".status.readyReplicas")
@AdditionalPrinterColumn(name = "Age", type = AdditionalPrinterColumn.Type.DATE, jsonPath = ".metadata.creationTimestamp")
// The proxies' Service is named after the LoadBalancer: a serviceRef to a Service of that name would have the
// operator take over the very Service it reads its backends from.
@ValidationRule(value = "!has(self.spec) || !has(self.spec.serviceRef) || self.spec.serviceRef.name != self.metadata.name",
        message = "spec.serviceRef.name must differ from the LoadBalancer's name: the proxies' own Service takes that name")
public class LoadBalancer extends CustomResource<LoadBalancerSpec, LoadBalancerStatus> implements Namespaced {

    public static final String GROUP = "roundhouse.dev";
    public static final String VERSION = "v1alpha1";
}
