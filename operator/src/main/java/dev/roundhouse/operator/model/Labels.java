package dev.roundhouse.operator.model;

import dev.roundhouse.operator.api.v1alpha1.LoadBalancer;
import java.util.Collections;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * Recommended Kubernetes labels. Maps are sorted so that serialised objects come out byte-identical on
 * every reconcile, and unmodifiable so that no builder can change another's labels by accident.
 */
public final class Labels {

    public static final String NAME = "app.kubernetes.io/name";
    public static final String INSTANCE = "app.kubernetes.io/instance";
    public static final String COMPONENT = "app.kubernetes.io/component";
    public static final String PART_OF = "app.kubernetes.io/part-of";
    public static final String MANAGED_BY = "app.kubernetes.io/managed-by";
    static final String METRICS_COMPONENT = "metrics";

    private Labels() {}

    /**
     * The labels that pick one LoadBalancer's proxy pods. They end up in the Deployment's selector, which is
     * immutable, so they must never change for an existing LoadBalancer.
     */
    public static SortedMap<String, String> selector(LoadBalancer lb) {
        return Collections.unmodifiableSortedMap(mutableSelector(lb));
    }

    /** {@link #selector} plus the descriptive labels, for every object's metadata and the pod template. */
    public static SortedMap<String, String> all(LoadBalancer lb) {
        TreeMap<String, String> labels = mutableSelector(lb);
        labels.put(COMPONENT, "load-balancer");
        labels.put(PART_OF, "roundhouse");
        labels.put(MANAGED_BY, "roundhouse-operator");
        return Collections.unmodifiableSortedMap(labels);
    }

    /** The labels of the metrics Service: its own component, so that a ServiceMonitor picks it and not the other. */
    public static SortedMap<String, String> metricsService(LoadBalancer lb) {
        TreeMap<String, String> labels = new TreeMap<>(all(lb));
        labels.put(COMPONENT, METRICS_COMPONENT);
        return Collections.unmodifiableSortedMap(labels);
    }

    /** What picks exactly one LoadBalancer's metrics Service. */
    public static SortedMap<String, String> metricsServiceSelector(LoadBalancer lb) {
        TreeMap<String, String> labels = mutableSelector(lb);
        labels.put(COMPONENT, METRICS_COMPONENT);
        return Collections.unmodifiableSortedMap(labels);
    }

    private static TreeMap<String, String> mutableSelector(LoadBalancer lb) {
        TreeMap<String, String> labels = new TreeMap<>();
        labels.put(NAME, "roundhouse-proxy");
        labels.put(INSTANCE, lb.getMetadata().getName());
        return labels;
    }
}
