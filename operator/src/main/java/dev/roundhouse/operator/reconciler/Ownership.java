package dev.roundhouse.operator.reconciler;

import dev.roundhouse.operator.api.v1alpha1.LoadBalancer;
import dev.roundhouse.operator.model.Labels;
import dev.roundhouse.operator.model.Names;
import dev.roundhouse.operator.model.ProxyDisruptionBudgets;
import dev.roundhouse.operator.model.ServiceMonitors;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.OwnerReference;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceAccount;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import io.fabric8.kubernetes.api.model.rbac.Role;
import io.fabric8.kubernetes.api.model.rbac.RoleBinding;
import io.fabric8.openshift.api.model.monitoring.v1.ServiceMonitor;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * Whether each object a LoadBalancer derives is its own, decided by the controller owner reference (never by a label
 * a user can edit) before anything is written. An object of its own that lost its labels (and so dropped out of the
 * operator's label-filtered caches) gets them back; any other object under a derived name is a clash: nothing is
 * created or changed, and the status says which object to delete or rename.
 *
 * <p>"Its own" means exactly what Kubernetes' garbage collector and {@code kubectl} mean by a controller: an owner
 * reference with {@code controller: true}, this LoadBalancer's kind and group, and its uid. One exception, as
 * Kubernetes' own controllers adopt orphans: an object with no controller at all whose owner references include this
 * very LoadBalancer (its uid) is what Roundhouse wrote before it set {@code controller: true}, and is adopted (its
 * reference becomes the controller), so that upgrading the operator leaves every LoadBalancer as it was. A reference
 * to another controller makes an object someone else's whatever else it carries; neither does
 * one to an earlier LoadBalancer of the same name (deleted and created again): the garbage collector deletes that
 * one's objects, and until it has, they are not ours to change. The LoadBalancer waits with {@code NameConflict},
 * looking again every few seconds, and creates its own once they are gone.
 */
final class Ownership {

    /**
     * An object under a derived name that the LoadBalancer does not own.
     *
     * @param leftover whether it is controlled by an earlier LoadBalancer of the same name, which the garbage
     *     collector deletes by itself
     */
    record Clash(String kind, String namespace, String name, boolean leftover) {
        @Override
        public String toString() {
            return kind + " " + namespace + "/" + name;
        }
    }

    /** What the check found: clashes (nothing may be written then), and how many own objects it relabelled. */
    record Result(List<Clash> clashes, int relabelled) {}

    private record Derived(Class<? extends HasMetadata> type, String name, Map<String, String> labels) {

        Derived(Class<? extends HasMetadata> type, String name, LoadBalancer lb) {
            this(type, name, Labels.all(lb));
        }
    }

    private Ownership() {}

    static Result check(LoadBalancer lb, Context<LoadBalancer> context, boolean serviceMonitor) {
        List<Derived> derived = new ArrayList<>(List.of(
                new Derived(ConfigMap.class, Names.poolConfigMap(lb), lb),
                new Derived(ServiceAccount.class, Names.serviceAccount(lb), lb),
                new Derived(Role.class, Names.role(lb), lb),
                new Derived(RoleBinding.class, Names.roleBinding(lb), lb),
                new Derived(Deployment.class, Names.deployment(lb), lb),
                new Derived(Service.class, Names.service(lb), lb),
                new Derived(Service.class, Names.metricsService(lb), Labels.metricsService(lb))));
        if (ProxyDisruptionBudgets.wanted(lb)) {
            derived.add(new Derived(PodDisruptionBudget.class, Names.disruptionBudget(lb), lb));
        }
        if (serviceMonitor && ServiceMonitors.enabled(lb)) {
            derived.add(new Derived(ServiceMonitor.class, Names.serviceMonitor(lb), lb));
        }
        String namespace = lb.getMetadata().getNamespace();
        List<Clash> clashes = new ArrayList<>();
        int relabelled = 0;
        for (Derived d : derived) {
            // In the cache means it carries the operator's labels: the common case, no API call. Labels can be
            // copied, though, so the owner is checked there too.
            HasMetadata cached = cached(context, d);
            if (cached != null) {
                if (writtenBeforeControllerReferences(cached, lb)) {
                    adopt(context, d, namespace, lb);
                    relabelled++;
                } else if (!ownedBy(cached, lb)) {
                    clashes.add(clash(cached, lb));
                }
                continue;
            }
            HasMetadata existing = context.getClient()
                    .resources(d.type())
                    .inNamespace(namespace)
                    .withName(d.name())
                    .get();
            if (existing == null) {
                continue;
            }
            if (writtenBeforeControllerReferences(existing, lb)) {
                adopt(context, d, namespace, lb);
                relabelled++;
            } else if (ownedBy(existing, lb)) {
                relabel(context, d, namespace, lb);
                relabelled++;
            } else {
                clashes.add(clash(existing, lb));
            }
        }
        return new Result(clashes, relabelled);
    }

    private static HasMetadata cached(Context<LoadBalancer> context, Derived d) {
        try {
            return context.getSecondaryResources(d.type()).stream()
                    .filter(o -> d.name().equals(o.getMetadata().getName()))
                    .findFirst()
                    .orElse(null);
        } catch (RuntimeException noEventSourceYet) {
            return null; // the ServiceMonitor's informer starts with the workflow's first run: ask the API server
        }
    }

    private static Clash clash(HasMetadata object, LoadBalancer lb) {
        boolean leftover = controller(object)
                .filter(ref -> isLoadBalancer(ref) && lb.getMetadata().getName().equals(ref.getName()))
                .isPresent();
        return new Clash(
                object.getKind(),
                object.getMetadata().getNamespace(),
                object.getMetadata().getName(),
                leftover);
    }

    /** Owned: its controller owner reference names this very LoadBalancer (kind, group and uid). */
    static boolean ownedBy(HasMetadata object, LoadBalancer lb) {
        return controller(object)
                .filter(ref ->
                        isLoadBalancer(ref) && Objects.equals(lb.getMetadata().getUid(), ref.getUid()))
                .isPresent();
    }

    /**
     * No controller at all, and an owner reference to this very LoadBalancer (kind, group and uid): how Roundhouse
     * marked its objects before it set {@code controller: true}.
     */
    static boolean writtenBeforeControllerReferences(HasMetadata object, LoadBalancer lb) {
        return controller(object).isEmpty()
                && Objects.requireNonNullElse(object.getMetadata().getOwnerReferences(), List.<OwnerReference>of())
                        .stream()
                        .anyMatch(ref -> isLoadBalancer(ref)
                                && Objects.equals(lb.getMetadata().getUid(), ref.getUid()));
    }

    /** The owner reference with {@code controller: true}; the API server allows at most one. */
    private static Optional<OwnerReference> controller(HasMetadata object) {
        return Objects.requireNonNullElse(object.getMetadata().getOwnerReferences(), List.<OwnerReference>of()).stream()
                .filter(ref -> Boolean.TRUE.equals(ref.getController()))
                .findFirst();
    }

    /** A reference to a LoadBalancer of any version of roundhouse.dev: versions of one CRD are one object. */
    private static boolean isLoadBalancer(OwnerReference ref) {
        String apiVersion = Objects.requireNonNullElse(ref.getApiVersion(), "");
        return HasMetadata.getKind(LoadBalancer.class).equals(ref.getKind())
                && apiVersion.startsWith(LoadBalancer.GROUP + "/");
    }

    /** Makes the reference to {@code lb} the object's controller, and puts the operator's labels back. */
    private static void adopt(Context<LoadBalancer> context, Derived d, String namespace, LoadBalancer lb) {
        edit(context, d.type(), namespace, d.name(), object -> {
            for (OwnerReference ref : object.getMetadata().getOwnerReferences()) {
                if (isLoadBalancer(ref) && Objects.equals(lb.getMetadata().getUid(), ref.getUid())) {
                    ref.setController(true);
                }
            }
            Map<String, String> merged = new HashMap<>(
                    Objects.requireNonNullElse(object.getMetadata().getLabels(), Map.of()));
            merged.putAll(d.labels());
            object.getMetadata().setLabels(merged);
        });
    }

    private static <T extends HasMetadata> void edit(
            Context<LoadBalancer> context,
            Class<T> type,
            String namespace,
            String name,
            java.util.function.Consumer<T> change) {
        context.getClient()
                .resources(type)
                .inNamespace(namespace)
                .withName(name)
                .edit(object -> {
                    change.accept(object);
                    return object;
                });
    }

    /** Puts the operator's labels back, so the object is in its cache again and the workflow updates it. */
    private static void relabel(Context<LoadBalancer> context, Derived d, String namespace, LoadBalancer lb) {
        relabel(context, d.type(), namespace, d.name(), d.labels());
    }

    private static <T extends HasMetadata> void relabel(
            Context<LoadBalancer> context, Class<T> type, String namespace, String name, Map<String, String> labels) {
        edit(context, type, namespace, name, object -> {
            Map<String, String> merged = new HashMap<>(
                    Objects.requireNonNullElse(object.getMetadata().getLabels(), Map.of()));
            merged.putAll(labels);
            object.getMetadata().setLabels(merged);
        });
    }
}
