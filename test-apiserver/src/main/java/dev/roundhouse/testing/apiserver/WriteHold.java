package dev.roundhouse.testing.apiserver;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Writes held unanswered by {@link EmbeddedApiServer#holdWrites}: each waits on the API server's thread for its
 * connection until {@link #release()} or the hold's time limit.
 */
public final class WriteHold {

    private final String pathPart;
    private final Duration atMost;
    private final CountDownLatch released = new CountDownLatch(1);
    private final CountDownLatch arrived = new CountDownLatch(1);
    private volatile String first;

    WriteHold(String pathPart, Duration atMost) {
        this.pathPart = pathPart;
        this.atMost = atMost;
    }

    String pathPart() {
        return pathPart;
    }

    void await(String write) {
        if (first == null) {
            first = write;
        }
        arrived.countDown();
        try {
            released.await(atMost.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Waits until a write is held; returns it ("METHOD path"), or null if none came within {@code within}. */
    public String awaitHeld(Duration within) throws InterruptedException {
        return arrived.await(within.toMillis(), TimeUnit.MILLISECONDS) ? first : null;
    }

    /** Lets the held writes (and any later ones) through. */
    public void release() {
        released.countDown();
    }
}
