package dev.roundhouse.operator.reconciler;

/** A derived object the workflow could not write, named as users know it: {@code Deployment shop/web-proxy}. */
final class DependentFailure extends RuntimeException {

    private static final long serialVersionUID = 1L;

    private final String object;

    DependentFailure(String object, Exception cause) {
        super(object + " could not be written: " + cause.getMessage(), cause);
        this.object = object;
    }

    String object() {
        return object;
    }
}
