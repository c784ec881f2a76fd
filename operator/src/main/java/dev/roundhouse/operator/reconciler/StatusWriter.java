package dev.roundhouse.operator.reconciler;

import dev.roundhouse.operator.api.v1alpha1.BackendHealthStatus;
import dev.roundhouse.operator.api.v1alpha1.LoadBalancer;
import dev.roundhouse.operator.api.v1alpha1.LoadBalancerStatus;
import dev.roundhouse.operator.model.Conditions;
import dev.roundhouse.operator.model.Labels;
import dev.roundhouse.operator.model.Messages;
import dev.roundhouse.operator.model.ProxyDeployments;
import dev.roundhouse.operator.model.Reason;
import dev.roundhouse.operator.observe.BackendsFold;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Derives a LoadBalancer's status from what the cluster shows. Conditions keep their transition
 * times unless their status changes, so an unchanged cluster gives an equal status and no write.
 */
final class StatusWriter {

    private final Clock clock;

    StatusWriter(Clock clock) {
        this.clock = clock;
    }

    LoadBalancerStatus next(
            LoadBalancer lb,
            PoolResolution pool,
            TlsSecrets tls,
            Deployment deployment,
            /* with a pool problem: backends of the pool in place (0: none, or an empty one) */ int inPlace,
            boolean serviceMonitorMissing,
            /* null before the ready proxies answered this operator */ BackendsFold.Folded observed) {
        int wanted = ProxyDeployments.replicas(lb.getSpec());
        int ready = readyReplicas(deployment);
        Integer backends = pool.document() == null
                ? currentBackends(lb)
                : Integer.valueOf(pool.document().backends().size());

        List<Condition> desired = new ArrayList<>();
        if (pool.problem() != null) {
            desired.add(Conditions.condition(Conditions.READY, false, pool.problemReason(), pool.problemMessage()));
            desired.add(Conditions.condition(
                    Conditions.DEGRADED,
                    true,
                    pool.problemReason(),
                    pool.problemMessage()
                            // From the pool in place, not from the status: a LoadBalancer that never had a pool
                            // with backends has no last good one to keep.
                            + (inPlace == 0
                                    ? "; the pool is empty until then"
                                    : "; the proxies keep the last good pool (" + inPlace
                                            + (inPlace == 1 ? " backend)" : " backends)"))));
        } else if (tls.problem() != null) {
            desired.add(Conditions.condition(Conditions.READY, false, Reason.TLS_SECRET_UNAVAILABLE, tls.problem()));
            desired.add(Conditions.condition(
                    Conditions.DEGRADED,
                    true,
                    Reason.TLS_SECRET_UNAVAILABLE,
                    tls.problem()
                            + (ready > 0
                                    ? "; the proxies running keep their pod template and certificates until then"
                                    : "; the proxies start once it is fixed")));
        } else if (backends == 0) {
            String why = lb.getSpec().getServiceRef() != null
                    ? "Service " + lb.getSpec().getServiceRef().getName() + " has no ready endpoints"
                    : "the pool has no backends";
            desired.add(Conditions.condition(
                    Conditions.READY, false, Reason.NO_BACKENDS, why + "; the proxies answer 503"));
            desired.add(Conditions.condition(Conditions.DEGRADED, true, Reason.NO_BACKENDS, why));
        } else {
            if (wanted == 0) {
                desired.add(Conditions.condition(Conditions.READY, false, Reason.SCALED_TO_ZERO, "spec.replicas is 0"));
            } else if (ready == 0) {
                desired.add(Conditions.condition(
                        Conditions.READY, false, Reason.PROXIES_NOT_READY, "no proxy pod is ready yet"));
            } else {
                desired.add(Conditions.condition(
                        Conditions.READY,
                        true,
                        Reason.PROXIES_READY,
                        ready + " of " + wanted + " proxies ready, " + backends + " backends"));
            }
            if (serviceMonitorMissing) {
                desired.add(
                        Conditions.condition(
                                Conditions.DEGRADED,
                                true,
                                Reason.SERVICE_MONITOR_UNAVAILABLE,
                                "metrics.serviceMonitor.enabled is true but the monitoring.coreos.com ServiceMonitor CRD is not installed"));
            } else {
                desired.add(Conditions.condition(Conditions.DEGRADED, false, Reason.AS_EXPECTED, "no problem found"));
            }
        }
        boolean rolling = deployment == null
                || ready < wanted
                || !deploymentObserved(deployment)
                || updatedReplicas(deployment) < wanted;
        desired.add(
                rolling
                        ? Conditions.condition(
                                Conditions.PROGRESSING,
                                true,
                                Reason.ROLLING_OUT,
                                ready + " of " + wanted + " proxies ready")
                        : Conditions.condition(
                                Conditions.PROGRESSING, false, Reason.STABLE, "the proxies run the current spec"));

        LoadBalancerStatus status = new LoadBalancerStatus();
        LoadBalancerStatus old = lb.getStatus();
        Condition heard = old == null ? null : find(old.getConditions(), Conditions.BACKENDS_HEALTHY);
        if (observed == null && heard != null) {
            // The proxies have not answered this operator yet: what the status says of them stands.
            desired.add(heard);
            status.setHealthy(old.getHealthy());
            status.setBackendHealth(old.getBackendHealth());
            status.setBackendHealthNotShown(old.getBackendHealthNotShown());
        } else {
            BackendsFold.Folded view = observed != null ? observed : BackendsFold.fold(pool.backendKeys(), List.of());
            desired.add(backendsHealthy(view));
            status.setHealthy(view.healthyColumn());
            status.setBackendHealth(view.entries().isEmpty() ? null : view.entries());
            status.setBackendHealthNotShown(view.notShown() == 0 ? null : view.notShown());
        }
        status.setObservedGeneration(lb.getMetadata().getGeneration());
        status.setConditions(Conditions.merge(current(lb), desired, nowInstant(), generation(lb)));
        status.setBackends(backends);
        status.setReadyReplicas(ready);
        status.setReplicas(replicas(deployment));
        status.setSelector(selector(lb));
        return status;
    }

    /** The Event when a backend left rotation on every ready proxy (Warning); not a condition's reason. */
    static final String BACKEND_OUT_OF_ROTATION = "BackendOutOfRotation";
    /** The Event when a backend out of rotation everywhere is back on one proxy at least (Normal). */
    static final String BACKEND_BACK_IN_ROTATION = "BackendBackInRotation";

    /** Most backends a condition message names; the rest are counted. */
    static final int NAMED_IN_MESSAGE = 5;

    /** BackendsHealthy, from the proxies' folded view. */
    static Condition backendsHealthy(BackendsFold.Folded observed) {
        if (observed.reports() == 0) {
            return Conditions.unknown(
                    Conditions.BACKENDS_HEALTHY, Reason.NO_PROXY_REPORT, "no ready proxy has reported yet");
        }
        List<String> out = observed.entries().stream()
                .filter(BackendHealthStatus::outEverywhere)
                .map(BackendHealthStatus::getUrl)
                .toList();
        if (out.isEmpty()) {
            return Conditions.condition(
                    Conditions.BACKENDS_HEALTHY,
                    true,
                    Reason.BACKENDS_IN_ROTATION,
                    observed.healthy() + " of " + observed.total() + " backends in rotation on every ready proxy ("
                            + observed.reports() + ")");
        }
        String named = String.join(", ", out.subList(0, Math.min(NAMED_IN_MESSAGE, out.size())))
                + (out.size() > NAMED_IN_MESSAGE ? " and " + (out.size() - NAMED_IN_MESSAGE) + " more" : "");
        return Conditions.condition(
                Conditions.BACKENDS_HEALTHY,
                false,
                Reason.BACKENDS_OUT_OF_ROTATION,
                "out of rotation on every ready proxy: " + named);
    }

    /**
     * Events for backends that left rotation on every proxy, or came back, between the status stored and
     * {@code next}: one per change of the LoadBalancer's view (which changes at most every 10 s), not per proxy.
     */
    void recordBackendEvents(LoadBalancer lb, LoadBalancerStatus next, KubernetesClient client) {
        List<BackendHealthStatus> before =
                lb.getStatus() == null ? null : lb.getStatus().getBackendHealth();
        List<BackendHealthStatus> after = next.getBackendHealth();
        if (after == null || Objects.equals(before, after)) {
            return;
        }
        java.util.Map<String, BackendHealthStatus> was = new java.util.HashMap<>();
        if (before != null) {
            before.forEach(b -> was.put(b.getUrl(), b));
        }
        List<String> left = new ArrayList<>();
        List<String> back = new ArrayList<>();
        for (BackendHealthStatus b : after) {
            BackendHealthStatus old = was.get(b.getUrl());
            boolean wasOut = old != null && old.outEverywhere();
            if (b.outEverywhere() && !wasOut) {
                left.add(b.getUrl() + " (" + b.getState() + " on " + b.getProxies() + " of " + b.getProxies()
                        + " ready proxies)");
            } else if (wasOut && !b.outEverywhere() && b.getProxies() > 0) {
                back.add(b.getUrl() + " (in rotation on " + b.getInRotation() + " of " + b.getProxies() + ")");
            }
        }
        if (!left.isEmpty()) {
            WarningEvents.record(
                    client,
                    lb,
                    "Warning",
                    BACKEND_OUT_OF_ROTATION,
                    "out of rotation on every ready proxy: " + Messages.list(left, ", ", Messages.LIST_BUDGET),
                    now());
        }
        if (!back.isEmpty()) {
            WarningEvents.record(
                    client,
                    lb,
                    "Normal",
                    BACKEND_BACK_IN_ROTATION,
                    "back in rotation: " + Messages.list(back, ", ", Messages.LIST_BUDGET),
                    now());
        }
    }

    /** Status after a reconcile failed with an exception: Ready=False with the error, in a line or two. */
    LoadBalancerStatus failed(LoadBalancer lb, Exception e) {
        String message = shortMessage(e);
        return withProblem(
                lb,
                null,
                List.of(
                        Conditions.condition(Conditions.READY, false, Reason.RECONCILE_FAILED, message),
                        Conditions.condition(Conditions.DEGRADED, true, Reason.RECONCILE_FAILED, message)));
    }

    /**
     * Status while the spec is invalid: nothing of it is applied (no pool change, no rollout), and the conditions say
     * which generation is held and why.
     *
     * @param applied whether an earlier, valid spec was applied (the proxies run it), or nothing exists yet
     */
    LoadBalancerStatus held(LoadBalancer lb, PoolResolution pool, Deployment deployment, boolean applied) {
        String message = "generation " + generation(lb) + " of the spec is invalid: " + pool.problemMessage() + "; "
                + (applied
                        ? "nothing was changed, the proxies run the last valid spec"
                        : "nothing is created until it is valid");
        return withProblem(
                lb,
                deployment,
                List.of(
                        Conditions.condition(Conditions.READY, false, Reason.INVALID_SPEC, message),
                        Conditions.condition(Conditions.DEGRADED, true, Reason.INVALID_SPEC, message),
                        Conditions.condition(
                                Conditions.PROGRESSING,
                                false,
                                Reason.SPEC_HELD,
                                "generation " + generation(lb) + " is held until the spec is valid")));
    }

    /**
     * Status while objects the LoadBalancer does not control take names it derives: nothing of it is written. Objects
     * another owner (or none) has are the user's to move; objects of an earlier LoadBalancer of the same name go by
     * themselves (the garbage collector), and the message says so rather than ask for a deletion.
     */
    LoadBalancerStatus nameConflict(LoadBalancer lb, List<Ownership.Clash> clashes, Deployment deployment) {
        List<String> foreign = clashes.stream()
                .filter(c -> !c.leftover())
                .map(Ownership.Clash::toString)
                .toList();
        List<String> leftover = clashes.stream()
                .filter(Ownership.Clash::leftover)
                .map(Ownership.Clash::toString)
                .toList();
        String message;
        if (!foreign.isEmpty()) {
            message = Messages.list(foreign, ", ", Messages.LIST_BUDGET)
                    + (foreign.size() == 1 ? " exists and is not owned" : " exist and are not owned")
                    + " by this LoadBalancer: delete or rename " + (foreign.size() == 1 ? "it" : "them")
                    + ", or give the LoadBalancer another name; until then nothing of it is created or changed"
                    + (leftover.isEmpty()
                            ? ""
                            : "; " + leftover.size()
                                    + " more of an earlier LoadBalancer of this name wait for the garbage collector");
        } else {
            message = Messages.list(leftover, ", ", Messages.LIST_BUDGET)
                    + (leftover.size() == 1 ? " belongs" : " belong")
                    + " to an earlier LoadBalancer of this name, deleted: the garbage collector deletes "
                    + (leftover.size() == 1 ? "it" : "them")
                    + ", then this one's are created; until then nothing of it is created or changed (delete "
                    + (leftover.size() == 1 ? "it" : "them") + " if "
                    + (leftover.size() == 1 ? "it stays" : "they stay")
                    + ")";
        }
        return withProblem(
                lb,
                deployment,
                List.of(
                        Conditions.condition(Conditions.READY, false, Reason.NAME_CONFLICT, message),
                        Conditions.condition(Conditions.DEGRADED, true, Reason.NAME_CONFLICT, message),
                        Conditions.condition(
                                Conditions.PROGRESSING,
                                false,
                                Reason.NAME_CONFLICT,
                                "waiting for "
                                        + Messages.list(
                                                clashes.stream()
                                                        .map(Ownership.Clash::toString)
                                                        .toList(),
                                                ", ",
                                                Messages.LIST_BUDGET)
                                        + " to go")));
    }

    private LoadBalancerStatus withProblem(LoadBalancer lb, Deployment deployment, List<Condition> desired) {
        LoadBalancerStatus status = new LoadBalancerStatus();
        LoadBalancerStatus old = lb.getStatus();
        status.setObservedGeneration(lb.getMetadata().getGeneration());
        status.setBackends(old == null ? null : old.getBackends());
        status.setReadyReplicas(
                deployment != null
                        ? Integer.valueOf(readyReplicas(deployment))
                        : old == null ? null : old.getReadyReplicas());
        status.setReplicas(
                deployment != null ? Integer.valueOf(replicas(deployment)) : old == null ? null : old.getReplicas());
        status.setSelector(selector(lb));
        // What the proxies see of the backends holds whatever the spec's problem: kept as it was.
        List<Condition> kept = new ArrayList<>(desired);
        Condition backendsHealthy = old == null ? null : find(old.getConditions(), Conditions.BACKENDS_HEALTHY);
        if (backendsHealthy != null) {
            kept.add(backendsHealthy);
            status.setHealthy(old.getHealthy());
            status.setBackendHealth(old.getBackendHealth());
            status.setBackendHealthNotShown(old.getBackendHealthNotShown());
        }
        status.setConditions(new ArrayList<>(Conditions.merge(current(lb), kept, nowInstant(), generation(lb))));
        return status;
    }

    /**
     * What went wrong, in a line: the object that could not be written, and the API server's own message (its
     * Status), or else the innermost cause's first line. Never a stack trace; at most {@link Messages#MAX}.
     */
    static String shortMessage(Throwable e) {
        String what = "";
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof DependentFailure f) {
                what = f.object() + " could not be written: "; // JOSDK may wrap it (its metrics do)
                e = f;
                break;
            }
        }
        String why = null;
        for (Throwable t = e; t != null && why == null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof KubernetesClientException api
                    && api.getStatus() != null
                    && api.getStatus().getMessage() != null
                    && !api.getStatus().getMessage().isBlank()) {
                why = api.getStatus().getMessage();
            }
        }
        if (why == null) {
            Throwable root = e instanceof DependentFailure && e.getCause() != null ? e.getCause() : e;
            while (root.getCause() != null && root.getCause() != root) {
                root = root.getCause();
            }
            why = root.getMessage() == null || root.getMessage().isBlank()
                    ? root.getClass().getSimpleName()
                    : root.getMessage();
        }
        int newline = why.indexOf('\n');
        String line = (what + (newline < 0 ? why : why.substring(0, newline))).strip();
        return Messages.cap(line);
    }

    /** A Kubernetes Event when Ready turns False for a new reason, so `kubectl describe` shows it once. */
    void recordEventIfNewProblem(LoadBalancer lb, LoadBalancerStatus next, KubernetesClient client) {
        Condition ready = find(next.getConditions(), Conditions.READY);
        if (ready == null || "True".equals(ready.getStatus())) {
            return;
        }
        Condition before = lb.getStatus() == null ? null : find(lb.getStatus().getConditions(), Conditions.READY);
        if (before != null
                && Objects.equals(before.getReason(), ready.getReason())
                && Objects.equals(before.getStatus(), ready.getStatus())) {
            return;
        }
        if (List.of(Reason.PROXIES_NOT_READY.value(), Reason.SCALED_TO_ZERO.value())
                .contains(ready.getReason())) {
            return; // normal progress, not a problem worth an event
        }
        WarningEvents.record(client, lb, ready.getReason(), ready.getMessage(), now());
    }

    private static Condition find(List<Condition> conditions, String type) {
        if (conditions == null) {
            return null;
        }
        return conditions.stream()
                .filter(c -> type.equals(c.getType()))
                .findFirst()
                .orElse(null);
    }

    private Instant nowInstant() {
        return clock.instant().truncatedTo(ChronoUnit.SECONDS);
    }

    private String now() {
        return nowInstant().toString();
    }

    private static List<Condition> current(LoadBalancer lb) {
        return lb.getStatus() == null || lb.getStatus().getConditions() == null
                ? List.of()
                : lb.getStatus().getConditions();
    }

    private static long generation(LoadBalancer lb) {
        return lb.getMetadata().getGeneration() == null ? 0 : lb.getMetadata().getGeneration();
    }

    private static Integer currentBackends(LoadBalancer lb) {
        return lb.getStatus() == null || lb.getStatus().getBackends() == null
                ? 0
                : lb.getStatus().getBackends();
    }

    /** The proxy pods there are, ready or not: what an autoscaler compares with what it asked for. */
    private static int replicas(Deployment d) {
        return d == null || d.getStatus() == null || d.getStatus().getReplicas() == null
                ? 0
                : d.getStatus().getReplicas();
    }

    /** The proxies' selector as a label query, as the scale subresource gives it to an autoscaler. */
    static String selector(LoadBalancer lb) {
        return Labels.selector(lb).entrySet().stream()
                .map(e -> e.getKey() + "=" + e.getValue())
                .collect(java.util.stream.Collectors.joining(","));
    }

    private static int readyReplicas(Deployment d) {
        return d == null || d.getStatus() == null || d.getStatus().getReadyReplicas() == null
                ? 0
                : d.getStatus().getReadyReplicas();
    }

    private static int updatedReplicas(Deployment d) {
        return d == null || d.getStatus() == null || d.getStatus().getUpdatedReplicas() == null
                ? 0
                : d.getStatus().getUpdatedReplicas();
    }

    private static boolean deploymentObserved(Deployment d) {
        return d.getStatus() != null
                && d.getStatus().getObservedGeneration() != null
                && d.getStatus().getObservedGeneration() >= d.getMetadata().getGeneration();
    }
}
