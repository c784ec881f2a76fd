package dev.roundhouse.proxy.http;

import io.undertow.server.ExchangeCompletionListener;
import io.undertow.server.HttpHandler;
import io.undertow.server.HttpServerExchange;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Counts requests in flight so shutdown can wait for them. While draining, requests that still
 * arrive on open keep-alive connections are served, with Connection: close, so clients move on
 * to another proxy without seeing an error.
 */
final class DrainHandler implements HttpHandler {

    private final HttpHandler next;
    private final AtomicInteger inFlight = new AtomicInteger();
    private final ExchangeCompletionListener done = (exchange, nextListener) -> {
        inFlight.decrementAndGet();
        nextListener.proceed();
    };
    private volatile boolean draining;

    DrainHandler(HttpHandler next) {
        this.next = next;
    }

    @Override
    public void handleRequest(HttpServerExchange exchange) throws Exception {
        inFlight.incrementAndGet();
        exchange.addExchangeCompleteListener(done);
        if (draining) {
            exchange.setPersistent(false);
        }
        next.handleRequest(exchange);
    }

    int inFlight() {
        return inFlight.get();
    }

    void startDraining() {
        draining = true;
    }

    /** Waits until no request is in flight or the timeout passes; true when drained. */
    boolean awaitDrained(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (inFlight.get() > 0) {
            if (System.nanoTime() - deadline >= 0) {
                return false;
            }
            Thread.sleep(20); // shutdown only; the request path never waits here
        }
        return true;
    }
}
