package dev.roundhouse.operator.observe;

import dev.roundhouse.operator.api.v1alpha1.LoadBalancer;
import io.javaoperatorsdk.operator.processing.event.Event;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import io.javaoperatorsdk.operator.processing.event.source.AbstractEventSource;
import io.javaoperatorsdk.operator.processing.event.source.ResourceEventAware;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Waits on every ready proxy's {@code /status} (a long poll: the proxy answers when its state changes, or after
 * {@link #WAIT}) and tells the controller when a LoadBalancer's folded view of its backends changed, at most once
 * every {@code minInterval} (10 s) however often backends flap: a change within that time is published when it
 * ends, as it stands then. The proxies need no permission: the operator reaches them as Prometheus does, at the
 * endpoints of their metrics Service.
 */
public final class ProxyStatusWatch extends AbstractEventSource<BackendsFold.Folded, LoadBalancer>
        implements ResourceEventAware<LoadBalancer> {

    private static final Logger log = LoggerFactory.getLogger(ProxyStatusWatch.class);

    /** How many deleted LoadBalancers' uids are remembered: far more than can be deleted during one reconcile. */
    private static final int DELETED_REMEMBERED = 4096;
    /** How long a proxy holds a status request when nothing changes. */
    static final Duration WAIT = Duration.ofSeconds(30);
    /** How soon an unreachable proxy is asked again. */
    static final Duration RETRY = Duration.ofSeconds(5);
    /** How long a proxy may take to answer a request it answers at once (the first, and after a failure). */
    static final Duration FIRST_ANSWER = Duration.ofSeconds(5);
    /**
     * How long a newly watched proxy that fails to answer holds the view back before it is left out: a restarted
     * operator asking 1,000 proxies at once sees some first requests time out, and a view without them would rewrite
     * the status for nothing.
     */
    static final Duration GRACE = Duration.ofSeconds(15);
    /** The least time between two requests to one proxy, whatever it answers. */
    static final Duration MIN_GAP = Duration.ofSeconds(1);

    public static final Duration MIN_INTERVAL = Duration.ofSeconds(10);

    private final Duration minInterval;
    private final Map<ResourceID, Watched> watched = new ConcurrentHashMap<>();
    /**
     * The uids of the LoadBalancers deleted lately (a bounded number; a uid is never reused), so that a reconcile
     * that ends after its LoadBalancer's delete does not watch its proxies again.
     */
    private final Map<String, Boolean> deleted = new LinkedHashMap<>() {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Boolean> eldest) {
            return size() > DELETED_REMEMBERED;
        }
    };

    private final ScheduledExecutorService timers;
    private final ExecutorService callbacks;
    private final HttpClient http;

    public ProxyStatusWatch() {
        this(MIN_INTERVAL);
    }

    public ProxyStatusWatch(Duration minInterval) {
        super(BackendsFold.Folded.class, "proxy-status");
        this.minInterval = minInterval;
        this.timers = Executors.newSingleThreadScheduledExecutor(daemon("proxy-status-timer"));
        this.callbacks = Executors.newFixedThreadPool(2, daemon("proxy-status"));
        this.http = HttpClient.newBuilder()
                .connectTimeout(Duration.ofSeconds(2))
                .executor(callbacks)
                .version(HttpClient.Version.HTTP_1_1)
                .build();
    }

    private static java.util.concurrent.ThreadFactory daemon(String name) {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, name + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }

    /**
     * Watches {@code proxies} (the base URLs of the ready proxies' admin ports) for the LoadBalancer {@code id}
     * whose pool holds {@code pool}; stops watching proxies no longer listed. Called on every reconcile: cheap when
     * nothing changed.
     */
    public void track(LoadBalancer lb, List<URI> proxies, List<String> pool) {
        Watched w;
        synchronized (deleted) {
            // A reconcile still under way when its LoadBalancer went (the deletes of what it owned trigger some)
            // must not start watching again: nothing would stop those pollers.
            if (!isRunning() || deleted.containsKey(lb.getMetadata().getUid())) {
                return;
            }
            w = watched.computeIfAbsent(ResourceID.fromResource(lb), Watched::new);
        }
        w.update(Set.copyOf(proxies), List.copyOf(pool));
    }

    /** The view last published for {@code id}, or null before the first. */
    public BackendsFold.Folded published(ResourceID id) {
        Watched w = watched.get(id);
        return w == null ? null : w.published();
    }

    @Override
    public Set<BackendsFold.Folded> getSecondaryResources(LoadBalancer lb) {
        BackendsFold.Folded folded = published(ResourceID.fromResource(lb));
        return folded == null ? Set.of() : Set.of(folded);
    }

    @Override
    public void onResourceDeleted(LoadBalancer lb) {
        Watched w;
        synchronized (deleted) {
            deleted.put(lb.getMetadata().getUid(), Boolean.TRUE);
            w = watched.remove(ResourceID.fromResource(lb));
        }
        if (w != null) {
            w.stop();
        }
    }

    @Override
    public void stop() {
        super.stop();
        watched.values().forEach(Watched::stop);
        watched.clear();
        timers.shutdownNow();
        callbacks.shutdownNow();
    }

    /** One LoadBalancer's proxies, their last reports, and what was published of them. */
    private final class Watched {
        private final ResourceID id;
        private final Map<URI, Poller> pollers = new HashMap<>();
        private final Map<URI, ProxyReport> reports = new HashMap<>();
        private List<String> pool = List.of();
        private BackendsFold.Folded published;
        private long publishedAt = Long.MIN_VALUE;
        /** When the re-evaluation scheduled soonest is due (nanoTime), or Long.MAX_VALUE for none. */
        private long recheckAt = Long.MAX_VALUE;

        private boolean stopped;

        Watched(ResourceID id) {
            this.id = id;
        }

        synchronized BackendsFold.Folded published() {
            return published;
        }

        synchronized void update(Set<URI> proxies, List<String> pool) {
            if (stopped) {
                return;
            }
            pollers.entrySet().removeIf(e -> {
                if (proxies.contains(e.getKey())) {
                    return false;
                }
                e.getValue().stopped = true;
                reports.remove(e.getKey());
                return true;
            });
            for (URI proxy : proxies) {
                pollers.computeIfAbsent(proxy, p -> {
                    Poller poller = new Poller(this, p);
                    callbacks.execute(poller::poll);
                    return poller;
                });
            }
            this.pool = pool;
            changed();
        }

        /** A poller's answer, or null for its failure; {@code firstFailure} when it never answered before. */
        synchronized void report(Poller from, ProxyReport report, boolean firstFailure) {
            if (stopped || from.stopped) {
                return;
            }
            ProxyReport before = report == null ? reports.remove(from.base) : reports.put(from.base, report);
            if (report == null && before == null && !firstFailure) {
                return;
            }
            changed();
        }

        /**
         * Publishes the fold if it changed, now or when {@code minInterval} since the last publication ends. Not while
         * a proxy has yet to answer for the first time: a fold of some proxies only would show a backend out of
         * rotation "everywhere" that another proxy has in rotation.
         */
        private void changed() {
            long nanos = System.nanoTime();
            for (Poller p : pollers.values()) {
                if (p.succeeded) {
                    continue;
                }
                if (!p.answered) {
                    return; // its answer, or its failure, calls this again
                }
                long waited = nanos - p.created;
                if (waited < GRACE.toNanos()) {
                    recheckIn(GRACE.toNanos() - waited);
                    return;
                }
            }
            BackendsFold.Folded now = BackendsFold.fold(pool, reports.values());
            if (now.sameStates(published)) {
                return;
            }
            long elapsed = nanos - publishedAt;
            // The first report after none is not held back: only changes between reports are rate-limited.
            if (published == null || published.reports() == 0 || elapsed >= minInterval.toNanos()) {
                published = now;
                publishedAt = nanos;
                if (getEventHandler() != null && isRunning()) {
                    getEventHandler().handleEvent(new Event(id));
                }
            } else {
                recheckIn(minInterval.toNanos() - elapsed);
            }
        }

        /** Evaluates {@link #changed()} again in {@code nanos}, unless an evaluation is due sooner already. */
        private void recheckIn(long nanos) {
            long at = System.nanoTime() + nanos;
            if (at >= recheckAt) {
                return;
            }
            recheckAt = at;
            timers.schedule(
                    () -> {
                        synchronized (this) {
                            recheckAt = Long.MAX_VALUE;
                            if (!stopped) {
                                changed();
                            }
                        }
                    },
                    nanos,
                    TimeUnit.NANOSECONDS);
        }

        synchronized void stop() {
            stopped = true;
            pollers.values().forEach(p -> p.stopped = true);
            pollers.clear();
        }
    }

    /** The long poll of one proxy: one request at a time, the next as soon as one is answered. */
    private final class Poller {
        private final Watched owner;
        private final URI base;
        private volatile boolean stopped;
        /** Answered, or failed to, at least once. */
        private volatile boolean answered;
        /** Answered with a status document at least once. */
        private volatile boolean succeeded;

        private final long created = System.nanoTime();
        private long after = -1;

        Poller(Watched owner, URI base) {
            this.owner = owner;
            this.base = base;
        }

        /** Asks once; whatever happens, asks again (after {@link #MIN_GAP}, or {@link #RETRY} after a failure). */
        void poll() {
            if (stopped) {
                return;
            }
            long started = System.nanoTime();
            // at once unless it is waiting for a change after one it told
            Duration timeout = after < 0 ? FIRST_ANSWER : WAIT.plus(FIRST_ANSWER);
            try {
                HttpRequest request = HttpRequest.newBuilder(
                                base.resolve("/status?after=" + after + "&wait=" + WAIT.toSeconds()))
                        .timeout(timeout)
                        .header("User-Agent", "roundhouse-operator")
                        .build();
                http.sendAsync(request, HttpResponse.BodyHandlers.ofByteArray())
                        // the client's own timeout covers the wait for the head; this, everything
                        .orTimeout(timeout.plus(FIRST_ANSWER).toMillis(), TimeUnit.MILLISECONDS)
                        .whenComplete((response, error) -> answered(response, error, started));
            } catch (RuntimeException e) {
                log.warn("Could not ask proxy {} of {} for its status: {}", base, owner.id, e.toString());
                schedule(RETRY.toNanos());
            }
        }

        private void answered(HttpResponse<byte[]> response, Throwable error, long started) {
            if (stopped) {
                return;
            }
            long next = RETRY.toNanos();
            try {
                ProxyReport report = null;
                String problem = null;
                if (error != null) {
                    problem = error.getClass().getSimpleName();
                } else if (response.statusCode() != 200) {
                    problem = "status " + response.statusCode();
                } else {
                    try {
                        report = ProxyReport.parse(response.body());
                    } catch (java.io.IOException | RuntimeException e) {
                        problem = "unreadable status: " + e.getMessage();
                    }
                }
                if (report == null) {
                    log.debug("Proxy {} of {} did not report ({}); asking again in {}", base, owner.id, problem, RETRY);
                    after = -1;
                    boolean first = !answered;
                    answered = true;
                    owner.report(this, null, first);
                    return;
                }
                after = report.lastChange();
                answered = true;
                succeeded = true;
                owner.report(this, report, false);
                next = MIN_GAP.toNanos() - (System.nanoTime() - started);
            } catch (RuntimeException e) {
                log.warn("Handling the status of proxy {} of {} failed: {}", base, owner.id, e.toString());
            } finally {
                schedule(next); // a poller that stopped asking would leave its LoadBalancer's view stale for good
            }
        }

        private void schedule(long delayNanos) {
            try {
                if (delayNanos <= 0) {
                    callbacks.execute(this::poll);
                } else {
                    timers.schedule(() -> callbacks.execute(this::poll), delayNanos, TimeUnit.NANOSECONDS);
                }
            } catch (java.util.concurrent.RejectedExecutionException shutDown) {
                // the operator is stopping
            }
        }
    }
}
