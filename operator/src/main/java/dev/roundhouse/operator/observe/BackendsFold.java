package dev.roundhouse.operator.observe;

import dev.roundhouse.operator.api.v1alpha1.BackendHealthStatus;
import dev.roundhouse.poolformat.status.BackendState;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;

/**
 * Folds the ready proxies' reports into one entry per backend of the pool: how many proxies have it in rotation
 * of how many reported on it, the worst state and breaker state among them, and since when. No I/O.
 */
public final class BackendsFold {

    /** Entries kept in the status; the rest are counted. */
    public static final int MAX_ENTRIES = 100;

    public static final String UNKNOWN = "unknown";

    /** States from best to worst. */
    private static final List<String> STATES =
            Arrays.stream(BackendState.values()).map(BackendState::wireName).toList();

    private static final List<String> BREAKERS = List.of("closed", "half-open", "open");

    /**
     * The folded view: the entries (at most {@link #MAX_ENTRIES}, trouble first), how many were left out, the
     * backends in rotation on every proxy that reported, and how many proxies reported at all.
     */
    public record Folded(List<BackendHealthStatus> entries, int notShown, int healthy, int total, int reports) {

        public static final Folded NONE = new Folded(List.of(), 0, 0, 0, 0);

        /** {@code 2/3}; {@code ?/3} before any proxy reported. */
        public String healthyColumn() {
            return (reports == 0 ? "?" : Integer.toString(healthy)) + "/" + total;
        }

        /** Equal but for the times: what decides whether the status must change. */
        public boolean sameStates(Folded other) {
            if (other == null
                    || notShown != other.notShown
                    || healthy != other.healthy
                    || total != other.total
                    || reports != other.reports
                    || entries.size() != other.entries.size()) {
                return false;
            }
            for (int i = 0; i < entries.size(); i++) {
                BackendHealthStatus a = entries.get(i);
                BackendHealthStatus b = other.entries.get(i);
                if (!a.getUrl().equals(b.getUrl())
                        || !Objects.equals(a.getInRotation(), b.getInRotation())
                        || !Objects.equals(a.getProxies(), b.getProxies())
                        || !Objects.equals(a.getState(), b.getState())
                        || !Objects.equals(a.getBreaker(), b.getBreaker())) {
                    return false;
                }
            }
            return true;
        }
    }

    private BackendsFold() {}

    /**
     * @param pool the pool document's backend URLs
     * @param reports the reports of the ready proxies that answered
     */
    public static Folded fold(List<String> pool, Collection<ProxyReport> reports) {
        List<BackendHealthStatus> all = new ArrayList<>(pool.size());
        int healthy = 0;
        for (String url : pool) {
            int proxies = 0;
            int inRotation = 0;
            String state = null;
            String breaker = null;
            String since = null;
            for (ProxyReport report : reports) {
                ProxyReport.Backend b = report.backends().get(url);
                if (b == null) {
                    continue; // a proxy still on an older pool
                }
                proxies++;
                if (b.inRotation()) {
                    inRotation++;
                }
                state = worse(STATES, state, b.state());
                breaker = worse(BREAKERS, breaker, b.breaker());
                if (b.since() != null && (since == null || b.since().compareTo(since) > 0)) {
                    since = b.since(); // RFC 3339 UTC with the same precision: text order is time order
                }
            }
            if (proxies > 0 && inRotation == proxies) {
                healthy++;
            }
            all.add(new BackendHealthStatus(url, inRotation, proxies, proxies == 0 ? UNKNOWN : state, breaker, since));
        }
        all.sort(Comparator.comparingInt(BackendsFold::trouble).thenComparing(BackendHealthStatus::getUrl));
        int shown = Math.min(MAX_ENTRIES, all.size());
        return new Folded(List.copyOf(all.subList(0, shown)), all.size() - shown, healthy, pool.size(), reports.size());
    }

    /** 0: out of rotation everywhere; 1: out on some proxies; 2: not reported on; 3: in rotation everywhere. */
    private static int trouble(BackendHealthStatus b) {
        if (b.getProxies() == 0) {
            return 2;
        }
        if (b.getInRotation() == 0) {
            return 0;
        }
        return b.getInRotation() < b.getProxies() ? 1 : 3;
    }

    /** The worse of two states by {@code order}; a state this operator does not know counts as the worst. */
    private static String worse(List<String> order, String a, String b) {
        if (a == null) {
            return b;
        }
        int ia = order.indexOf(a);
        int ib = order.indexOf(b);
        if (ia < 0) {
            return a;
        }
        return ib < 0 || ib > ia ? b : a;
    }
}
