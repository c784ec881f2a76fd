package dev.roundhouse.bench.scale;

import dev.roundhouse.testing.apiserver.EmbeddedApiServer;
import dev.roundhouse.testing.apiserver.Write;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Counts the embedded API server's writes by who made them and what they were ("configmaps apply",
 * "loadbalancers/status apply", ...).
 *
 * <p>The server keeps only its latest 10,000 writes but counts them all; a thousand LoadBalancers make more than
 * that. So this reads the record often ({@link #poll()}) and takes only what is new since the last read: it reads
 * the count, the record, and the count again, and trusts the record only when no write came in between (then its
 * last {@code count - counted} entries are the new ones). Polled at least every few hundred milliseconds, the server
 * would need over 10,000 writes in between to lose any, which {@link #poll()} reports as an error rather than
 * undercount.
 */
public final class WriteTally {

    /** Who wrote: the benchmark itself (creating LoadBalancers, playing the kubelet) or the operator. */
    public enum Writer {
        BENCH,
        OPERATOR
    }

    private final EmbeddedApiServer server;
    private final Map<String, Long> operator = new TreeMap<>();
    private final Map<String, Long> bench = new TreeMap<>();
    private int counted;

    public WriteTally(EmbeddedApiServer server) {
        this.server = server;
        this.counted = server.writeCount();
    }

    /** Takes in the writes made since the last poll (or since construction). */
    public synchronized void poll() {
        for (int attempt = 0; attempt < 1000; attempt++) {
            int before = server.writeCount();
            List<Write> record = server.writes();
            int after = server.writeCount();
            if (before != after) {
                continue; // a write came in while copying: read again
            }
            int fresh = after - counted;
            if (fresh < 0) {
                throw new IllegalStateException("the server's write count was reset under the tally");
            }
            if (fresh > record.size()) {
                throw new IllegalStateException((fresh - record.size()) + " writes were dropped from the server's "
                        + "record before they were counted: poll more often");
            }
            for (Write w : record.subList(record.size() - fresh, record.size())) {
                add(w);
            }
            counted = after;
            return;
        }
        throw new IllegalStateException("the server never stood still long enough to read its writes");
    }

    synchronized void add(Write w) {
        String what = describe(w);
        (writer(w) == Writer.BENCH ? bench : operator).merge(what, 1L, Long::sum);
    }

    /** The operator's writes so far, by {@link #describe}. */
    public synchronized Map<String, Long> operatorWrites() {
        return Map.copyOf(operator);
    }

    /** The benchmark's own writes so far, by {@link #describe}. */
    public synchronized Map<String, Long> benchWrites() {
        return Map.copyOf(bench);
    }

    /** Writes counted so far, by both writers. */
    public synchronized long total() {
        return operator.values().stream().mapToLong(Long::longValue).sum()
                + bench.values().stream().mapToLong(Long::longValue).sum();
    }

    /**
     * The benchmark writes only three things: LoadBalancers (created with POST), Deployment status (as a kubelet
     * would) and EndpointSlices (as the EndpointSlice controller would). The operator does none of them (it applies
     * everything it writes, reads Deployment status and EndpointSlices).
     */
    public static Writer writer(Write w) {
        String what = describe(w);
        return what.equals("loadbalancers create")
                        || what.startsWith("deployments/status ")
                        || what.startsWith("endpointslices ")
                ? Writer.BENCH
                : Writer.OPERATOR;
    }

    /**
     * "resource[/subresource] verb", e.g. "configmaps apply", "loadbalancers/status apply", "events create",
     * "deployments/status merge-patch". Verb: create (POST), update (PUT), delete (DELETE), or for PATCH the
     * patch type: apply, merge-patch, strategic-merge-patch, json-patch.
     */
    public static String describe(Write w) {
        String path = w.path();
        int q = path.indexOf('?');
        if (q >= 0) {
            path = path.substring(0, q);
        }
        String[] s = path.replaceAll("^/+|/+$", "").split("/");
        // /api/v1/[namespaces/<ns>/]<resource>[/<name>[/<sub>]] or /apis/<group>/<version>/...
        int i = "api".equals(s[0]) ? 2 : 3;
        if (s.length > i + 1 && "namespaces".equals(s[i]) && s.length > i + 2) {
            i += 2;
        }
        String resource = i < s.length ? s[i] : path;
        String sub = s.length > i + 2 ? "/" + s[i + 2] : "";
        return resource + sub + " " + verb(w);
    }

    static String verb(Write w) {
        String type = w.contentType() == null ? "" : w.contentType();
        return switch (w.method()) {
            case "POST" -> "create";
            case "PUT" -> "update";
            case "DELETE" -> "delete";
            case "PATCH" ->
                type.startsWith("application/apply-patch")
                        ? "apply"
                        : type.startsWith("application/merge-patch")
                                ? "merge-patch"
                                : type.startsWith("application/strategic-merge-patch")
                                        ? "strategic-merge-patch"
                                        : "json-patch";
            default -> w.method().toLowerCase(java.util.Locale.ROOT);
        };
    }
}
