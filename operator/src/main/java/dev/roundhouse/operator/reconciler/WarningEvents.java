package dev.roundhouse.operator.reconciler;

import dev.roundhouse.operator.api.v1alpha1.LoadBalancer;
import dev.roundhouse.operator.model.Messages;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.EventBuilder;
import io.fabric8.kubernetes.api.model.ObjectReferenceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.util.Locale;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One Warning Event per LoadBalancer and reason, aggregated as Kubernetes' own recorders aggregate them: the Event
 * has a name made of the LoadBalancer's and the reason, so recording the same reason again raises its count and
 * moves its last timestamp rather than adding another Event.
 */
final class WarningEvents {

    private static final Logger log = LoggerFactory.getLogger(WarningEvents.class);

    private WarningEvents() {}

    static void record(KubernetesClient client, LoadBalancer lb, String reason, String message, String now) {
        record(client, lb, "Warning", reason, message, now);
    }

    /** An Event of {@code type} (Warning or Normal), aggregated by reason as above. */
    static void record(
            KubernetesClient client, LoadBalancer lb, String type, String reason, String message, String now) {
        String namespace = lb.getMetadata().getNamespace();
        String uid = Objects.requireNonNullElse(lb.getMetadata().getUid(), "");
        // name.uid-prefix.reason: one per reason and per incarnation of the LoadBalancer (a DNS subdomain)
        String name = lb.getMetadata().getName() + "." + uid.substring(0, Math.min(8, uid.length())) + "."
                + reason.toLowerCase(Locale.ROOT);
        try {
            try {
                client.v1()
                        .events()
                        .inNamespace(namespace)
                        .resource(new EventBuilder()
                                .withNewMetadata()
                                .withName(name)
                                .withNamespace(namespace)
                                .endMetadata()
                                .withInvolvedObject(new ObjectReferenceBuilder()
                                        .withApiVersion(lb.getApiVersion())
                                        .withKind(lb.getKind())
                                        .withName(lb.getMetadata().getName())
                                        .withNamespace(namespace)
                                        .withUid(uid)
                                        .build())
                                .withType(type)
                                .withReason(reason)
                                .withMessage(Messages.cap(message))
                                .withFirstTimestamp(now)
                                .withLastTimestamp(now)
                                .withCount(1)
                                .withNewSource("roundhouse-operator", null)
                                .build())
                        .create();
            } catch (KubernetesClientException e) {
                if (e.getCode() != 409) {
                    throw e;
                }
                client.v1().events().inNamespace(namespace).withName(name).edit((Event event) -> {
                    event.setCount(Objects.requireNonNullElse(event.getCount(), 1) + 1);
                    event.setLastTimestamp(now);
                    event.setMessage(Messages.cap(message));
                    return event;
                });
            }
        } catch (RuntimeException e) {
            log.warn(
                    "Could not record a {} event for {}/{}: {}",
                    reason,
                    namespace,
                    lb.getMetadata().getName(),
                    e.toString());
        }
    }
}
