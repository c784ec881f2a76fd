package dev.roundhouse.operator.model;

import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ConditionBuilder;
import java.time.Instant;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * Status conditions that only change when something changed: lastTransitionTime moves when a condition's
 * status does, so repeated reconciles write an equal status and cause no update (and no new event).
 */
public final class Conditions {

    public static final String READY = "Ready";
    public static final String PROGRESSING = "Progressing";
    public static final String DEGRADED = "Degraded";
    /** Whether every backend is in rotation on at least one ready proxy (docs/status.md). */
    public static final String BACKENDS_HEALTHY = "BackendsHealthy";

    private Conditions() {}

    /**
     * A condition without times or generation; {@link #merge} fills those in. The message is cut to
     * {@link Messages#MAX}: the builders keep their lists short, this is the guard for whatever they did not foresee.
     */
    public static Condition condition(String type, boolean status, Reason reason, String message) {
        return new ConditionBuilder()
                .withType(type)
                .withStatus(status ? "True" : "False")
                .withReason(reason.value())
                .withMessage(Messages.cap(message))
                .build();
    }

    /** A condition whose status is Unknown, without times or generation. */
    public static Condition unknown(String type, Reason reason, String message) {
        return new ConditionBuilder()
                .withType(type)
                .withStatus("Unknown")
                .withReason(reason.value())
                .withMessage(Messages.cap(message))
                .build();
    }

    /**
     * The conditions to store: exactly the desired ones (current conditions of other types are dropped), ordered
     * by type. Each keeps the current lastTransitionTime when its status is unchanged and gets {@code now} when
     * its status changed or it is new.
     */
    public static List<Condition> merge(
            List<Condition> current, List<Condition> desired, Instant now, long observedGeneration) {
        Map<String, Condition> byType = Objects.requireNonNullElse(current, List.<Condition>of()).stream()
                .collect(Collectors.toMap(Condition::getType, Function.identity(), (first, second) -> first));
        String nowText = DateTimeFormatter.ISO_INSTANT.format(now.truncatedTo(ChronoUnit.SECONDS));
        return desired.stream()
                .map(d -> {
                    Condition old = byType.get(d.getType());
                    boolean unchanged = old != null
                            && Objects.equals(old.getStatus(), d.getStatus())
                            && old.getLastTransitionTime() != null;
                    return new ConditionBuilder(d)
                            .withLastTransitionTime(unchanged ? old.getLastTransitionTime() : nowText)
                            .withObservedGeneration(observedGeneration)
                            .build();
                })
                .sorted(Comparator.comparing(Condition::getType))
                // Mutable, like the list LoadBalancerStatus starts with.
                .collect(Collectors.toCollection(ArrayList::new));
    }
}
