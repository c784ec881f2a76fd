package dev.roundhouse.operator.model;

import dev.roundhouse.operator.api.v1alpha1.LoadBalancer;
import dev.roundhouse.poolformat.PoolDocument;

/** Names of the objects the operator creates for a LoadBalancer, and the fixed names they share. */
public final class Names {

    /** Key of the pool document in the pool ConfigMap (docs/pool-format.md). */
    public static final String POOL_KEY = PoolDocument.CONFIG_MAP_KEY;
    public static final String HTTP_PORT_NAME = "http";
    public static final String METRICS_PORT_NAME = "metrics";
    /** The proxy's METRICS_PORT default; it also serves /healthz and /readyz. */
    public static final int METRICS_PORT = 9090;

    private static final String PROXY_SUFFIX = "-proxy";

    private Names() {
    }

    public static String poolConfigMap(LoadBalancer lb) {
        return name(lb) + "-pool";
    }

    public static String deployment(LoadBalancer lb) {
        return name(lb) + PROXY_SUFFIX;
    }

    /** The Service carries the LoadBalancer's own name: it is what clients address. */
    public static String service(LoadBalancer lb) {
        return name(lb);
    }

    public static String serviceAccount(LoadBalancer lb) {
        return name(lb) + PROXY_SUFFIX;
    }

    public static String role(LoadBalancer lb) {
        return name(lb) + PROXY_SUFFIX;
    }

    public static String roleBinding(LoadBalancer lb) {
        return name(lb) + PROXY_SUFFIX;
    }

    public static String serviceMonitor(LoadBalancer lb) {
        return name(lb);
    }

    private static String name(LoadBalancer lb) {
        return lb.getMetadata().getName();
    }
}
