package dev.roundhouse.operator.model;

import dev.roundhouse.operator.api.v1alpha1.LoadBalancer;
import dev.roundhouse.poolformat.PoolDocument;
import dev.roundhouse.poolformat.PoolDocumentCodec;

/** Names of the objects the operator creates for a LoadBalancer, and the fixed names they share. */
public final class Names {

    /** Key of the pool document in the pool ConfigMap (docs/pool-format.md). */
    public static final String POOL_KEY = PoolDocument.CONFIG_MAP_KEY;

    public static final String HTTP_PORT_NAME = "http";
    public static final String HTTPS_PORT_NAME = "https";
    public static final String METRICS_PORT_NAME = "metrics";
    /** The proxy's METRICS_PORT default; it also serves /healthz and /readyz. */
    public static final int METRICS_PORT = 9090;
    /**
     * The port the proxy container listens on, whatever {@code spec.port} says (that is the Service's port): above
     * 1023, so a container that runs as a non-root user without capabilities can bind it.
     */
    public static final int PROXY_PORT = 8080;
    /** The port the proxy container listens on for HTTPS ({@code spec.tls.port} is the Service's), for the same reason. */
    public static final int PROXY_TLS_PORT = 8443;
    /** Service names are DNS-1035 labels. */
    private static final int MAX_SERVICE_NAME = 63;

    private static final String PROXY_SUFFIX = "-proxy";

    private Names() {}

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

    /**
     * The ClusterIP Service of the proxies' metrics port (and /healthz, /readyz), kept off the traffic Service so
     * that whoever reaches the load balancer cannot read them. A LoadBalancer name too long for the suffix is cut
     * and given a hash of the whole name, so that two long names cannot meet.
     */
    public static String metricsService(LoadBalancer lb) {
        return withSuffix(name(lb), "-metrics", MAX_SERVICE_NAME);
    }

    static String withSuffix(String name, String suffix, int max) {
        if (name.length() + suffix.length() <= max) {
            return name + suffix;
        }
        String hash = hash(name);
        String head =
                name.substring(0, max - suffix.length() - hash.length() - 1).replaceAll("-+$", "");
        return head + "-" + hash + suffix;
    }

    /** The first five hex digits of the name's SHA-256. */
    private static String hash(String name) {
        return PoolDocumentCodec.contentHash(name).substring(0, 5);
    }

    public static String disruptionBudget(LoadBalancer lb) {
        return name(lb) + PROXY_SUFFIX;
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
