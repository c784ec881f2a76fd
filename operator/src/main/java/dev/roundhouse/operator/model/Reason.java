package dev.roundhouse.operator.model;

/**
 * Every reason the operator writes into a LoadBalancer's conditions, as users read it in {@code kubectl} and match it
 * in health checks (Argo CD's, Flux's), and in the Warning Events it records for a problem. One list, so that the
 * documentation and the health-check samples can be checked against all of them.
 */
public enum Reason {
    /** Ready: at least one proxy is ready and the pool has backends. */
    PROXIES_READY("ProxiesReady"),
    /** Not ready yet: the proxies are starting. */
    PROXIES_NOT_READY("ProxiesNotReady"),
    /** Not ready on purpose: spec.replicas is 0. */
    SCALED_TO_ZERO("ScaledToZero"),
    /** The pool is empty: the proxies answer 503. */
    NO_BACKENDS("NoBackends"),
    /** spec.serviceRef names a Service that does not exist. */
    SERVICE_NOT_FOUND("ServiceNotFound"),
    /** spec.serviceRef names a port the Service does not have. */
    SERVICE_PORT_NOT_FOUND("ServicePortNotFound"),
    /** spec.backendTLS.caBundle names a ConfigMap or Secret key that is missing or holds no PEM certificates. */
    CA_BUNDLE_UNAVAILABLE("CABundleUnavailable"),
    /** A Secret spec.tls names is missing or holds no pair the proxies can serve; the Deployment is left as it is. */
    TLS_SECRET_UNAVAILABLE("TLSSecretUnavailable"),
    /** The spec is wrong in a way the schema cannot tell; nothing of it is applied. */
    INVALID_SPEC("InvalidSpec"),
    /** Progressing is false while an invalid spec is held back. */
    SPEC_HELD("SpecHeld"),
    /** An object the LoadBalancer would own exists already and belongs to something else. */
    NAME_CONFLICT("NameConflict"),
    /** The last reconcile failed; the message says why. */
    RECONCILE_FAILED("ReconcileFailed"),
    /** Degraded: a ServiceMonitor is wanted but the Prometheus Operator's CRD is missing. */
    SERVICE_MONITOR_UNAVAILABLE("ServiceMonitorUnavailable"),
    /** Degraded is false: no problem found. */
    AS_EXPECTED("AsExpected"),
    /** Progressing: proxies of the current spec are still starting. */
    ROLLING_OUT("RollingOut"),
    /** Progressing is false: the proxies run the current spec. */
    STABLE("Stable"),
    /** BackendsHealthy: every backend is in rotation on at least one ready proxy. */
    BACKENDS_IN_ROTATION("BackendsInRotation"),
    /** BackendsHealthy is false: a backend is out of rotation on every ready proxy (named in the message). */
    BACKENDS_OUT_OF_ROTATION("BackendsOutOfRotation"),
    /** BackendsHealthy is unknown: no ready proxy has reported on its backends yet. */
    NO_PROXY_REPORT("NoProxyReport");

    private final String value;

    Reason(String value) {
        this.value = value;
    }

    /** The reason as written into the condition. */
    public String value() {
        return value;
    }

    @Override
    public String toString() {
        return value;
    }
}
