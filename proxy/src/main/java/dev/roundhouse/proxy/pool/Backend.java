package dev.roundhouse.proxy.pool;

import dev.roundhouse.poolformat.BackendProtocol;
import dev.roundhouse.poolformat.PoolDocument.BackendTls;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import java.net.URI;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One upstream server. The object lives as long as its URL stays in the pool document, so its
 * breaker, health state and pooled keep-alive connections survive reloads, and for
 * {@link BackendPool#PARKED_FOR} after it leaves, in case a document adds it back.
 */
public final class Backend {

    private final String key;
    private final URI uri;
    private final HealthState health = new HealthState();
    private volatile CircuitBreaker breaker;
    private volatile boolean retired;
    private volatile BackendTls tls = BackendTls.DEFAULTS;
    private volatile BackendProtocol protocol = BackendProtocol.DEFAULT;
    private final AtomicInteger connectFailuresInARow = new AtomicInteger();
    private final AtomicInteger connecting = new AtomicInteger();
    private volatile boolean ejected;
    /** Requests whose current attempt is on this backend; a LongAdder so I/O threads do not share a cache line. */
    private final java.util.concurrent.atomic.LongAdder inFlight = new java.util.concurrent.atomic.LongAdder();

    public Backend(String key, URI uri, CircuitBreaker breaker) {
        this.key = key;
        this.uri = uri;
        this.breaker = breaker;
    }

    /** The normalised URL, e.g. {@code http://10.0.0.7:8080}: identity, breaker name and metric label. */
    public String key() {
        return key;
    }

    public URI uri() {
        return uri;
    }

    public HealthState health() {
        return health;
    }

    public CircuitBreaker breaker() {
        return breaker;
    }

    /**
     * How this backend's certificate is verified, when its scheme is https: the applied document's
     * {@code backendTLS}. The same instance until a document changes the settings, so that a connection can tell
     * by identity whether it was opened under the current ones.
     */
    public BackendTls tls() {
        return tls;
    }

    void useTls(BackendTls settings) {
        tls = settings;
    }

    /**
     * How requests reach this backend: the applied document's {@code protocol}. A connection opened under another
     * protocol (a document changed it) carries no new request.
     */
    public BackendProtocol protocol() {
        return protocol;
    }

    void useProtocol(BackendProtocol protocol) {
        this.protocol = protocol;
    }

    /** True once the backend has left the pool: its idle connections close, none are opened for new requests. */
    public boolean retired() {
        return retired;
    }

    void retire() {
        retired = true;
    }

    /** A connect to this backend starts (on any I/O thread); {@link #connectEnded()} when it completes or fails. */
    public void connectStarted() {
        connecting.incrementAndGet();
    }

    /**
     * Counts a connect about to start unless the connects under way and the failures in a row reach {@code limit}
     * already; whether it was counted. So no more than {@code limit} connects start between the last success and
     * the failure that ejects the backend, however they overlap.
     */
    public boolean tryStartConnect(int limit) {
        int now;
        do {
            now = connecting.get();
            // A failure is counted before its connect's place is given back (UpstreamThread): read in this order,
            // the sum is never less than the truth.
            if (now + connectFailuresInARow.get() >= limit) {
                return false;
            }
        } while (!connecting.compareAndSet(now, now + 1));
        return true;
    }

    /**
     * Takes a place among this backend's connects under way for a connect about to start: one of {@code limit} less
     * its failures in a row ({@link #tryStartConnect}); always when the limit is off ({@code limit <= 0}) or its
     * breaker is half open (the breaker's own permits then say how many requests may try it: one of them is its way
     * back). {@link #connectEnded()} gives it back.
     */
    public boolean takeConnectPlace(int limit) {
        if (connectsUnlimited(limit)) {
            connectStarted();
            return true;
        }
        return tryStartConnect(limit);
    }

    /** Whether {@link #takeConnectPlace} would find a place now (a look: nothing is taken). */
    public boolean connectPlaceFree(int limit) {
        return connectsUnlimited(limit) || connecting.get() + connectFailuresInARow.get() < limit;
    }

    /**
     * Whether connects to this backend go unlimited: the limit is off ({@code limit <= 0}), or its breaker is half
     * open, when the breaker's own permits say how many requests may try it (one of them is its way back).
     */
    public boolean connectsUnlimited(int limit) {
        return limit <= 0 || breaker.getState() == CircuitBreaker.State.HALF_OPEN;
    }

    public void connectEnded() {
        connecting.decrementAndGet();
    }

    /** A connect to this backend failed (refused, timed out, or its TLS handshake): the failures in a row now. */
    public int connectFailed() {
        return connectFailuresInARow.incrementAndGet();
    }

    /** A connect to this backend succeeded: the run of failures ends, and so does an ejection. */
    public void connectSucceeded() {
        // Reads, not writes, on the common path: every new connection passes here.
        if (connectFailuresInARow.get() != 0) {
            connectFailuresInARow.set(0);
        }
        if (ejected) {
            ejected = false;
        }
    }

    /**
     * Marks the backend ejected for failing its connects (its breaker is then opened by the caller).
     *
     * @return false when it already was
     */
    public boolean eject() {
        synchronized (connectFailuresInARow) {
            if (ejected) {
                return false;
            }
            ejected = true;
            return true;
        }
    }

    /**
     * Ends an ejection because a health check got through.
     *
     * @return false when the backend was not ejected
     */
    public boolean endEjection() {
        synchronized (connectFailuresInARow) {
            if (!ejected) {
                return false;
            }
            ejected = false;
            connectFailuresInARow.set(0);
            return true;
        }
    }

    public boolean ejected() {
        return ejected;
    }

    /** A request's attempt on this backend began; {@link #requestEnded()} when the request finishes or moves on. */
    public void requestStarted() {
        inFlight.increment();
    }

    public void requestEnded() {
        inFlight.decrement();
    }

    /** Requests sent to this backend and not finished yet. */
    public long inFlight() {
        return inFlight.sum();
    }

    void replaceBreaker(CircuitBreaker breaker) {
        this.breaker = breaker;
    }

    @Override
    public String toString() {
        return key;
    }
}
