package dev.roundhouse.operator.reconciler;

import dev.roundhouse.operator.api.v1alpha1.LoadBalancer;
import dev.roundhouse.operator.api.v1alpha1.ServiceRefSpec;
import dev.roundhouse.operator.model.Messages;
import dev.roundhouse.operator.model.PoolDocuments;
import dev.roundhouse.operator.model.Reason;
import dev.roundhouse.poolformat.InvalidPoolDocumentException;
import dev.roundhouse.poolformat.PoolDocument;
import dev.roundhouse.poolformat.PoolDocumentCodec;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.processing.event.source.informer.InformerEventSource;
import java.util.List;

/**
 * The pool a LoadBalancer asks for right now: its fixed backends, or the ready endpoints of the
 * Service it names, read from the operator's informer caches, and the CA bundle it names (one GET). A problem the schema
 * cannot catch comes back as a reason and message for the status instead of a document.
 */
public record PoolResolution(PoolDocument document, String text, Reason problemReason, String problemMessage) {

    /** The pool's backends as the proxies name them (normalised URLs, as in their metrics and {@code /status}). */
    List<String> backendKeys() {
        return document == null
                ? List.of()
                : document.backends().stream()
                        .map(b -> dev.roundhouse.poolformat.BackendUrls.key(b.url()))
                        .toList();
    }

    /** Where a reconcile keeps the pool it resolved, for its dependents: resolved once per reconcile. */
    static final String KEY = "pool";

    /** A field and why it does not fit the model; longer is a value quoted whole, which no reader needs. */
    private static final int UNREADABLE_BUDGET = 300;

    public Reason problem() {
        return problemReason;
    }

    /** The spec itself is wrong (not the cluster around it): nothing of it may be applied. */
    public boolean invalidSpec() {
        return problemReason == Reason.INVALID_SPEC;
    }

    /** The pool this reconcile resolved (see {@link #KEY}). */
    public static PoolResolution of(Context<LoadBalancer> context) {
        return context.managedWorkflowAndDependentResourceContext().getMandatory(KEY, PoolResolution.class);
    }

    static PoolResolution problem(Reason reason, String message) {
        return new PoolResolution(null, null, reason, message);
    }

    /**
     * Resolves the pool of {@code lb}. The spec is judged first: while it is invalid, that is what its author must
     * fix and nothing of it may be applied, so a missing Service or CA bundle is reported only once it is valid.
     */
    public static PoolResolution of(LoadBalancer lb, Context<LoadBalancer> context) {
        if (lb.getSpec() == null) {
            // Refused by the CRD now; one stored before it required a spec can still come by.
            return problem(Reason.INVALID_SPEC, "spec is missing");
        }
        if (lb.getSpec().unreadable() != null) {
            return problem(Reason.INVALID_SPEC, Messages.cap(lb.getSpec().unreadable(), UNREADABLE_BUDGET));
        }
        Discovery discovery = discover(lb, context);
        CaBundles.Read ca = CaBundles.read(lb, context.getClient());
        String caProblem = ca.problem() != null
                ? ca.problem()
                : ca.pem() == null
                        ? null
                        : PoolDocumentCodec.caBundleProblem(ca.pem())
                                .map(p -> ca.source() + ": " + Messages.cap(p, Messages.LIST_BUDGET))
                                .orElse(null);
        PoolDocument document;
        try {
            // Without an unusable bundle, the document's problems are the spec's own.
            document = PoolDocuments.fromSpec(lb.getSpec(), discovery.backends(), caProblem == null ? ca.pem() : null);
        } catch (InvalidPoolDocumentException e) {
            // 1,000 backends can make as many problems: the first of them, and how many more.
            return problem(Reason.INVALID_SPEC, Messages.list(e.problems(), "; ", Messages.LIST_BUDGET));
        }
        if (discovery.problem() != null) {
            return discovery.problem();
        }
        if (caProblem != null) {
            return problem(Reason.CA_BUNDLE_UNAVAILABLE, caProblem);
        }
        return new PoolResolution(document, PoolDocuments.render(document), null, null);
    }

    /** The backends {@code spec.serviceRef} names (none without one), or why they cannot be known. */
    private record Discovery(List<PoolDocument.BackendEntry> backends, PoolResolution problem) {}

    @SuppressWarnings("unchecked")
    private static Discovery discover(LoadBalancer lb, Context<LoadBalancer> context) {
        ServiceRefSpec ref = lb.getSpec().getServiceRef();
        if (ref == null) {
            return new Discovery(List.of(), null);
        }
        String namespace = lb.getMetadata().getNamespace();
        Service service = context.getSecondaryResource(Service.class, LoadBalancerReconciler.BACKEND_SERVICES)
                .orElse(null);
        if (service == null) {
            return new Discovery(
                    List.of(),
                    problem(
                            Reason.SERVICE_NOT_FOUND,
                            "Service " + namespace + "/" + ref.getName() + " named in spec.serviceRef does not exist"));
        }
        if (service.getSpec().getPorts().stream().noneMatch(p -> p.getPort().equals(ref.getPort()))) {
            return new Discovery(
                    List.of(),
                    problem(
                            Reason.SERVICE_PORT_NOT_FOUND,
                            "Service " + namespace + "/" + ref.getName() + " has no port " + ref.getPort()));
        }
        var slices = (InformerEventSource<EndpointSlice, LoadBalancer>) context.eventSourceRetriever()
                .getEventSourceFor(EndpointSlice.class, LoadBalancerReconciler.ENDPOINT_SLICES);
        List<EndpointSlice> ofService = slices.list(
                        namespace, s -> ref.getName().equals(LoadBalancerReconciler.serviceNameOf(s)))
                .toList();
        return new Discovery(
                PoolDocuments.fromEndpointSlices(
                        service, ref.getPort(), ref.getScheme() == null ? "http" : ref.getScheme(), ofService),
                null);
    }
}
