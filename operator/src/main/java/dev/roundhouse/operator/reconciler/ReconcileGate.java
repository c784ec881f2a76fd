package dev.roundhouse.operator.reconciler;

import java.time.Duration;

/**
 * Lets a stopping operator finish the reconciles in flight before JOSDK stops. JOSDK's own stop stops the informers
 * and shuts its executors down at once, under a running reconcile (its termination timeout is zero by default, and
 * it shuts the reconcile and workflow executors down together): the reconcile's next dependents are then refused
 * ("RejectedExecutionException"), which would be written to the LoadBalancer's status and recorded as a Warning
 * Event, and dependents that read a stopped informer would write objects that exist. Behind the gate, once {@link
 * #close} is called, a reconcile does nothing (the next operator reconciles everything when it starts) and the close
 * waits for those already running.
 */
final class ReconcileGate {

    private int inFlight;
    private boolean closed;

    /** Whether a reconcile may run; when true, {@link #exit()} must follow. */
    synchronized boolean enter() {
        if (closed) {
            return false;
        }
        inFlight++;
        return true;
    }

    synchronized void exit() {
        inFlight--;
        if (inFlight == 0) {
            notifyAll();
        }
    }

    synchronized boolean closed() {
        return closed;
    }

    /**
     * Lets no more reconciles run, and waits for those in flight, at most {@code atMost}.
     *
     * @return how many were still running when the wait ended (0 when they all ended)
     */
    synchronized int close(Duration atMost) {
        closed = true;
        long deadline = System.nanoTime() + atMost.toNanos();
        try {
            while (inFlight > 0) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    break;
                }
                wait(Math.max(1, left / 1_000_000));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return inFlight;
    }
}
