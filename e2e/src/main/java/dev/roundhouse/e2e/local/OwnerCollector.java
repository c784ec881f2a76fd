package dev.roundhouse.e2e.local;

import dev.roundhouse.operator.api.v1alpha1.LoadBalancer;
import dev.roundhouse.operator.model.Labels;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.OwnerReference;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceAccount;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import io.fabric8.kubernetes.api.model.rbac.Role;
import io.fabric8.kubernetes.api.model.rbac.RoleBinding;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The garbage collector a real API server runs, for what the operator creates: the operator leaves deletion of
 * its objects to owner references, and the embedded API server collects nothing. When a LoadBalancer goes, this
 * deletes the objects it owned.
 */
final class OwnerCollector implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(OwnerCollector.class);

    /** The kinds the operator creates for a LoadBalancer (a ServiceMonitor needs a CRD the local mode lacks). */
    private static final List<Class<? extends HasMetadata>> OWNED_KINDS = List.of(
            Deployment.class,
            Service.class,
            ConfigMap.class,
            RoleBinding.class,
            Role.class,
            ServiceAccount.class,
            PodDisruptionBudget.class);

    private final KubernetesClient client;
    private final ScheduledExecutorService loop = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread thread = new Thread(r, "local-garbage-collector");
        thread.setDaemon(true);
        return thread;
    });
    private SharedIndexInformer<LoadBalancer> loadBalancers;

    OwnerCollector(KubernetesClient client) {
        this.client = client;
    }

    OwnerCollector start() {
        loadBalancers = client.resources(LoadBalancer.class).inAnyNamespace().inform(new ResourceEventHandler<>() {
            @Override
            public void onAdd(LoadBalancer lb) {}

            @Override
            public void onUpdate(LoadBalancer before, LoadBalancer after) {}

            @Override
            public void onDelete(LoadBalancer lb, boolean unknownFinalState) {
                loop.execute(OwnerCollector.this::collectSafely);
            }
        });
        // A periodic sweep too, for a deletion the informer saw before the dependents were listed.
        loop.scheduleWithFixedDelay(this::collectSafely, 2, 2, TimeUnit.SECONDS);
        return this;
    }

    private void collectSafely() {
        try {
            collect();
        } catch (KubernetesClientException e) {
            log.debug("Garbage collection failed, retrying: {}", e.getMessage());
        }
    }

    private void collect() {
        for (Class<? extends HasMetadata> kind : OWNED_KINDS) {
            // Dependents first, owners second: an owner created after this list cannot own what it holds.
            List<? extends HasMetadata> dependents = client.resources(kind)
                    .inAnyNamespace()
                    .withLabel(Labels.MANAGED_BY, "roundhouse-operator")
                    .list()
                    .getItems();
            if (dependents.isEmpty()) {
                continue;
            }
            Set<String> owners = client.resources(LoadBalancer.class).inAnyNamespace().list().getItems().stream()
                    .map(lb -> lb.getMetadata().getUid())
                    .collect(Collectors.toSet());
            for (HasMetadata dependent : dependents) {
                List<OwnerReference> refs =
                        Objects.requireNonNullElse(dependent.getMetadata().getOwnerReferences(), List.of());
                boolean orphaned = !refs.isEmpty()
                        && refs.stream()
                                        .filter(ref -> "LoadBalancer".equals(ref.getKind()))
                                        .count()
                                == refs.size()
                        && refs.stream().noneMatch(ref -> owners.contains(ref.getUid()));
                if (orphaned) {
                    log.info(
                            "Deleting {} {}/{}: its LoadBalancer is gone",
                            dependent.getKind(),
                            dependent.getMetadata().getNamespace(),
                            dependent.getMetadata().getName());
                    client.resource(dependent).delete();
                }
            }
        }
    }

    @Override
    public void close() {
        loop.shutdownNow();
        if (loadBalancers != null) {
            loadBalancers.close();
        }
    }
}
