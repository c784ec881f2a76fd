package dev.roundhouse.operator.reconciler;

import dev.roundhouse.operator.api.v1alpha1.LoadBalancer;
import dev.roundhouse.operator.api.v1alpha1.LoadBalancerStatus;
import dev.roundhouse.operator.model.Conditions;
import dev.roundhouse.operator.model.ProxyDeployments;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.EventBuilder;
import io.fabric8.kubernetes.api.model.ObjectReferenceBuilder;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

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

    private static final Logger log = LoggerFactory.getLogger(StatusWriter.class);

    private final Clock clock;

    StatusWriter(Clock clock) {
        this.clock = clock;
    }

    LoadBalancerStatus next(LoadBalancer lb, PoolResolution pool, Deployment deployment, boolean serviceMonitorMissing) {
        int wanted = Objects.requireNonNullElse(lb.getSpec().getReplicas(), ProxyDeployments.DEFAULT_REPLICAS);
        int ready = readyReplicas(deployment);
        Integer backends = pool.document() == null ? currentBackends(lb) : Integer.valueOf(pool.document().backends().size());

        List<Condition> desired = new ArrayList<>();
        if (pool.problem() != null) {
            desired.add(Conditions.condition(Conditions.READY, false, pool.problemReason(), pool.problemMessage()));
            desired.add(Conditions.condition(Conditions.DEGRADED, true, pool.problemReason(),
                    pool.problemMessage() + "; the proxies keep the last good pool"));
        } else if (backends == 0) {
            String why = lb.getSpec().getServiceRef() != null
                    ? "Service " + lb.getSpec().getServiceRef().getName() + " has no ready endpoints"
                    : "the pool has no backends";
            desired.add(Conditions.condition(Conditions.READY, false, "NoBackends", why + "; the proxies answer 503"));
            desired.add(Conditions.condition(Conditions.DEGRADED, true, "NoBackends", why));
        } else {
            if (wanted == 0) {
                desired.add(Conditions.condition(Conditions.READY, false, "ScaledToZero", "spec.replicas is 0"));
            } else if (ready == 0) {
                desired.add(Conditions.condition(Conditions.READY, false, "ProxiesNotReady", "no proxy pod is ready yet"));
            } else {
                desired.add(Conditions.condition(Conditions.READY, true, "ProxiesReady",
                        ready + " of " + wanted + " proxies ready, " + backends + " backends"));
            }
            if (serviceMonitorMissing) {
                desired.add(Conditions.condition(Conditions.DEGRADED, true, "ServiceMonitorUnavailable",
                        "metrics.serviceMonitor.enabled is true but the monitoring.coreos.com ServiceMonitor CRD is not installed"));
            } else {
                desired.add(Conditions.condition(Conditions.DEGRADED, false, "AsExpected", "no problem found"));
            }
        }
        boolean rolling = deployment == null || ready < wanted || !deploymentObserved(deployment)
                || updatedReplicas(deployment) < wanted;
        desired.add(rolling
                ? Conditions.condition(Conditions.PROGRESSING, true, "RollingOut", ready + " of " + wanted + " proxies ready")
                : Conditions.condition(Conditions.PROGRESSING, false, "Stable", "the proxies run the current spec"));

        LoadBalancerStatus status = new LoadBalancerStatus();
        status.setObservedGeneration(lb.getMetadata().getGeneration());
        status.setConditions(Conditions.merge(current(lb), desired, nowInstant(), generation(lb)));
        status.setBackends(backends);
        status.setReadyReplicas(ready);
        return status;
    }

    /** Status after a reconcile failed with an exception: Ready=False with the error. */
    LoadBalancerStatus failed(LoadBalancer lb, Exception e) {
        LoadBalancerStatus status = new LoadBalancerStatus();
        LoadBalancerStatus old = lb.getStatus();
        status.setObservedGeneration(lb.getMetadata().getGeneration());
        status.setBackends(old == null ? null : old.getBackends());
        status.setReadyReplicas(old == null ? null : old.getReadyReplicas());
        String message = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        List<Condition> desired = List.of(
                Conditions.condition(Conditions.READY, false, "ReconcileFailed", message),
                Conditions.condition(Conditions.DEGRADED, true, "ReconcileFailed", message));
        List<Condition> merged = new ArrayList<>(Conditions.merge(current(lb), desired, nowInstant(), generation(lb)));
        status.setConditions(merged);
        return status;
    }

    /** A Kubernetes Event when Ready turns False for a new reason, so `kubectl describe` shows it once. */
    void recordEventIfNewProblem(LoadBalancer lb, LoadBalancerStatus next, Context<LoadBalancer> context) {
        Condition ready = find(next.getConditions(), Conditions.READY);
        if (ready == null || "True".equals(ready.getStatus())) {
            return;
        }
        Condition before = lb.getStatus() == null ? null : find(lb.getStatus().getConditions(), Conditions.READY);
        if (before != null && Objects.equals(before.getReason(), ready.getReason())
                && Objects.equals(before.getStatus(), ready.getStatus())) {
            return;
        }
        if (List.of("ProxiesNotReady", "ScaledToZero").contains(ready.getReason())) {
            return; // normal progress, not a problem worth an event
        }
        String at = now();
        try {
            context.getClient().v1().events().inNamespace(lb.getMetadata().getNamespace()).resource(new EventBuilder()
                    .withNewMetadata()
                    .withGenerateName(lb.getMetadata().getName() + ".")
                    .withNamespace(lb.getMetadata().getNamespace())
                    .endMetadata()
                    .withInvolvedObject(new ObjectReferenceBuilder()
                            .withApiVersion(lb.getApiVersion())
                            .withKind(lb.getKind())
                            .withName(lb.getMetadata().getName())
                            .withNamespace(lb.getMetadata().getNamespace())
                            .withUid(lb.getMetadata().getUid())
                            .build())
                    .withType("Warning")
                    .withReason(ready.getReason())
                    .withMessage(ready.getMessage())
                    .withFirstTimestamp(at)
                    .withLastTimestamp(at)
                    .withCount(1)
                    .withNewSource("roundhouse-operator", null)
                    .build()).create();
        } catch (RuntimeException e) {
            log.warn("Could not record an event for {}/{}: {}", lb.getMetadata().getNamespace(),
                    lb.getMetadata().getName(), e.toString());
        }
    }

    private static Condition find(List<Condition> conditions, String type) {
        if (conditions == null) {
            return null;
        }
        return conditions.stream().filter(c -> type.equals(c.getType())).findFirst().orElse(null);
    }

    private Instant nowInstant() {
        return clock.instant().truncatedTo(ChronoUnit.SECONDS);
    }

    private String now() {
        return nowInstant().toString();
    }

    private static List<Condition> current(LoadBalancer lb) {
        return lb.getStatus() == null || lb.getStatus().getConditions() == null ? List.of() : lb.getStatus().getConditions();
    }

    private static long generation(LoadBalancer lb) {
        return lb.getMetadata().getGeneration() == null ? 0 : lb.getMetadata().getGeneration();
    }

    private static Integer currentBackends(LoadBalancer lb) {
        return lb.getStatus() == null || lb.getStatus().getBackends() == null ? 0 : lb.getStatus().getBackends();
    }

    private static int readyReplicas(Deployment d) {
        return d == null || d.getStatus() == null || d.getStatus().getReadyReplicas() == null
                ? 0 : d.getStatus().getReadyReplicas();
    }

    private static int updatedReplicas(Deployment d) {
        return d == null || d.getStatus() == null || d.getStatus().getUpdatedReplicas() == null
                ? 0 : d.getStatus().getUpdatedReplicas();
    }

    private static boolean deploymentObserved(Deployment d) {
        return d.getStatus() != null && d.getStatus().getObservedGeneration() != null
                && d.getStatus().getObservedGeneration() >= d.getMetadata().getGeneration();
    }
}
