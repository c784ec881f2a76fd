package dev.roundhouse.proxy.breaker;

import dev.roundhouse.poolformat.PoolDocument;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.github.resilience4j.circuitbreaker.CircuitBreakerRegistry;
import java.time.Clock;
import java.time.Instant;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * One Resilience4j circuit breaker per backend, all in one registry so that Resilience4j's
 * Micrometer binding publishes their states (and drops them when a backend leaves the pool).
 */
public final class Breakers {

    private static final Logger log = LogManager.getLogger(Breakers.class);

    private final CircuitBreakerRegistry registry = CircuitBreakerRegistry.ofDefaults();
    private final Clock clock;
    private final Transitions transitions;

    /** Told of every breaker's every transition, on the thread that made it, at the time {@link #since} gives. */
    @FunctionalInterface
    public interface Transitions {
        Transitions NONE = (backend, from, to, reason, at) -> {};

        void moved(String backend, String from, String to, String reason, Instant at);
    }
    /** When each breaker last changed state (or was created), for the status page. */
    private final ConcurrentHashMap<String, Instant> since = new ConcurrentHashMap<>();

    public Breakers(Clock clock) {
        this(clock, Transitions.NONE);
    }

    public Breakers(Clock clock, Transitions transitions) {
        this.clock = clock;
        this.transitions = transitions;
    }

    public CircuitBreakerRegistry registry() {
        return registry;
    }

    /** Creates (or replaces) the breaker of the backend named {@code name}. */
    public CircuitBreaker create(String name, PoolDocument.CircuitBreaker settings) {
        registry.remove(name);
        CircuitBreaker breaker = registry.circuitBreaker(name, config(settings, clock));
        since.put(name, clock.instant());
        breaker.getEventPublisher().onStateTransition(event -> {
            CircuitBreaker.StateTransition transition = event.getStateTransition();
            String from = name(transition.getFromState());
            String to = name(transition.getToState());
            String reason = reason(transition);
            log.info("Circuit breaker of {}: {} -> {} ({})", name, from, to, reason);
            // One moment: the status page shows it as the state's since and as the change's at.
            Instant at = clock.instant();
            since.put(name, at);
            transitions.moved(name, from, to, reason, at);
        });
        return breaker;
    }

    public void remove(String name) {
        registry.remove(name);
        since.remove(name);
    }

    /** When the breaker of {@code name} last changed state, or was created; null for none. */
    public Instant since(String name) {
        return since.get(name);
    }

    /** Why the breaker is being moved by hand, for the transition's log line (listeners run on the mover's thread). */
    private static final ThreadLocal<String> MOVED_BECAUSE = new ThreadLocal<>();

    /** Opens {@code breaker} now, unless it already is open, for {@code reason}; true when it moved. */
    public static boolean open(CircuitBreaker breaker, String reason) {
        if (breaker.getState() == CircuitBreaker.State.OPEN) {
            return false;
        }
        return move(breaker, reason, breaker::transitionToOpenState);
    }

    /** Closes {@code breaker} now, unless it already is closed, for {@code reason}; true when it moved. */
    public static boolean close(CircuitBreaker breaker, String reason) {
        if (breaker.getState() == CircuitBreaker.State.CLOSED) {
            return false;
        }
        return move(breaker, reason, breaker::transitionToClosedState);
    }

    private static boolean move(CircuitBreaker breaker, String reason, Runnable transition) {
        MOVED_BECAUSE.set(reason);
        try {
            transition.run();
            return true;
        } catch (io.github.resilience4j.circuitbreaker.IllegalStateTransitionException e) {
            return false; // moved by another thread meanwhile
        } finally {
            MOVED_BECAUSE.remove();
        }
    }

    static CircuitBreakerConfig config(PoolDocument.CircuitBreaker s, Clock clock) {
        return CircuitBreakerConfig.custom()
                .failureRateThreshold(s.failureRateThreshold())
                .slidingWindowType(CircuitBreakerConfig.SlidingWindowType.COUNT_BASED)
                .slidingWindowSize(s.slidingWindowSize())
                .minimumNumberOfCalls(s.minimumNumberOfCalls())
                .waitDurationInOpenState(s.waitDurationInOpenState())
                .permittedNumberOfCallsInHalfOpenState(s.permittedNumberOfCallsInHalfOpenState())
                // Open -> half-open happens on the first pick after the wait: no timer thread per breaker.
                .automaticTransitionFromOpenToHalfOpenEnabled(false)
                .recordException(t -> true)
                .clock(clock)
                .build();
    }

    /** A state as the transition lines write it: {@code half-open}. */
    public static String name(CircuitBreaker.State state) {
        return state.toString().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
    }

    /** Why the breaker moved: the mover's reason, or what its own rules decided. */
    private static String reason(CircuitBreaker.StateTransition t) {
        String reason = MOVED_BECAUSE.get();
        if (reason != null) {
            return reason;
        }
        return switch (t.getToState()) {
            case OPEN ->
                t.getFromState() == CircuitBreaker.State.HALF_OPEN ? "probe failed" : "failure rate over threshold";
            case HALF_OPEN -> "probing";
            case CLOSED -> "recovered";
            default -> "";
        };
    }
}
