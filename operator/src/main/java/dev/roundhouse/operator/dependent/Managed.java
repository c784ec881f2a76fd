package dev.roundhouse.operator.dependent;

/** Label selector of everything the operator creates: keeps its informer caches to its own objects. */
public final class Managed {

    public static final String SELECTOR = "app.kubernetes.io/managed-by=roundhouse-operator";

    private Managed() {}
}
