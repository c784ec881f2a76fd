package dev.roundhouse.proxy.server;

import io.undertow.server.ExchangeCompletionListener;
import io.undertow.server.HttpHandler;
import io.undertow.server.HttpServerExchange;
import io.undertow.server.ResponseCommitListener;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Counts requests in flight so shutdown can wait for them. While draining, every response whose head is
 * still to be written (requests in flight, and those that still arrive on open keep-alive connections)
 * is sent with Connection: close, so clients move on to another proxy without seeing an error; HTTP/2 connections
 * get GOAWAY, which says the same for them.
 */
final class DrainHandler implements HttpHandler {

    private final HttpHandler next;
    private final AtomicInteger inFlight = new AtomicInteger();
    private final ExchangeCompletionListener done = (exchange, nextListener) -> {
        inFlight.decrementAndGet();
        nextListener.proceed();
    };
    private volatile boolean draining;
    private final Http2Connections http2 = new Http2Connections();
    /**
     * A response whose head goes out after the drain began says Connection: close too, although its request came
     * in before: a client would otherwise send its next request to a proxy that is leaving.
     */
    private final ResponseCommitListener closeWhileDraining = exchange -> {
        if (draining) {
            exchange.setPersistent(false);
        }
    };

    DrainHandler(HttpHandler next) {
        this.next = next;
    }

    @Override
    public void handleRequest(HttpServerExchange exchange) throws Exception {
        if (!http2.admit(exchange)) {
            return; // a stream over its connection's limit, reset unanswered
        }
        inFlight.incrementAndGet();
        exchange.addExchangeCompleteListener(done);
        exchange.addResponseCommitListener(closeWhileDraining);
        next.handleRequest(exchange);
    }

    int inFlight() {
        return inFlight.get();
    }

    void startDraining() {
        draining = true;
        http2.goAway();
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
