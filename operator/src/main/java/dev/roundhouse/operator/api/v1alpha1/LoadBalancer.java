package dev.roundhouse.operator.api.v1alpha1;

import com.fasterxml.jackson.databind.annotation.JsonDeserialize;
import io.fabric8.crd.generator.annotation.AdditionalPrinterColumn;
import io.fabric8.generator.annotation.Required;
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
@AdditionalPrinterColumn(
        name = "Ready",
        type = AdditionalPrinterColumn.Type.STRING,
        jsonPath = ".status.conditions[?(@.type==\"Ready\")].status")
@AdditionalPrinterColumn(
        name = "Reason",
        type = AdditionalPrinterColumn.Type.STRING,
        jsonPath = ".status.conditions[?(@.type==\"Ready\")].reason")
@AdditionalPrinterColumn(name = "Backends", type = AdditionalPrinterColumn.Type.INTEGER, jsonPath = ".status.backends")
@AdditionalPrinterColumn(name = "Healthy", type = AdditionalPrinterColumn.Type.STRING, jsonPath = ".status.healthy")
@AdditionalPrinterColumn(
        name = "Replicas",
        type = AdditionalPrinterColumn.Type.INTEGER,
        jsonPath = ".status.readyReplicas")
@AdditionalPrinterColumn(
        name = "Age",
        type = AdditionalPrinterColumn.Type.DATE,
        jsonPath = ".metadata.creationTimestamp")
// The proxies' Service is named after the LoadBalancer: a serviceRef to a Service of that name would have the
// operator take over the very Service it reads its backends from.
@ValidationRule(
        value = "!has(self.spec) || !has(self.spec.serviceRef) || self.spec.serviceRef.name != self.metadata.name",
        message =
                "spec.serviceRef.name must differ from the LoadBalancer's name: the proxies' own Service takes that name")
// Every object the operator derives is named after the LoadBalancer, its Service by that name alone (a DNS-1035
// label), and all of them carry it as the label app.kubernetes.io/instance (at most 63 characters).
@ValidationRule(
        value = "self.metadata.name.size() <= 63 && self.metadata.name.matches('^[a-z]([-a-z0-9]*[a-z0-9])?$')",
        message =
                "metadata.name must be a DNS-1035 label of at most 63 characters (lower-case letters, digits and '-',"
                        + " starting with a letter and ending with a letter or digit): it names the proxies' Service and labels")
public class LoadBalancer extends CustomResource<LoadBalancerSpec, LoadBalancerStatus> implements Namespaced {

    public static final String GROUP = "roundhouse.dev";
    public static final String VERSION = "v1alpha1";

    /** Required: an object without one (a template that rendered nothing) is refused rather than stored. */
    @Override
    @Required
    public LoadBalancerSpec getSpec() {
        return super.getSpec();
    }

    /** A spec this model cannot hold reads as an unreadable one, not as a failure of every LoadBalancer's watch. */
    @Override
    @JsonDeserialize(using = Unreadable.SpecReader.class)
    public void setSpec(LoadBalancerSpec spec) {
        super.setSpec(spec);
    }

    /** A status this model cannot hold reads as none: the operator writes it afresh. */
    @Override
    @JsonDeserialize(using = Unreadable.StatusReader.class)
    public void setStatus(LoadBalancerStatus status) {
        super.setStatus(status);
    }
}
