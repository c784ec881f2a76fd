package dev.roundhouse.operator.metrics;

import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.config.MeterFilter;
import java.util.Map;

/**
 * Help texts for the Java Operator SDK's meters, which it registers without any: Prometheus shows the
 * text as {@code # HELP}, and {@code promtool check metrics} flags a family without one. Names the
 * SDK adds later get a generic text rather than none.
 */
public final class SdkMetricDescriptions implements MeterFilter {

    private static final String PREFIX = "operator.sdk.";

    private static final Map<String, String> TEXTS = Map.ofEntries(
            Map.entry(
                    "operator.sdk.reconciliations.started", "Reconciles started (retry number 0 for a first attempt)"),
            Map.entry("operator.sdk.reconciliations.success", "Reconciles that finished"),
            Map.entry("operator.sdk.reconciliations.failed", "Reconciles that threw"),
            Map.entry("operator.sdk.reconciliations.executions.loadbalancer", "LoadBalancer reconciles running now"),
            Map.entry("operator.sdk.reconciliations.queue.size.loadbalancer", "LoadBalancers waiting to be reconciled"),
            Map.entry("operator.sdk.controllers.execution.reconcile", "Duration of LoadBalancer reconciles"),
            Map.entry(
                    "operator.sdk.controllers.execution.reconcile.success",
                    "Finished reconciles, by what they patched"),
            Map.entry("operator.sdk.controllers.execution.reconcile.failure", "Reconciles that threw, by exception"),
            Map.entry("operator.sdk.controllers.execution.cleanup", "Duration of LoadBalancer clean-ups"),
            Map.entry("operator.sdk.events.received", "Events that triggered reconciles"),
            Map.entry("operator.sdk.events.delete", "LoadBalancers deleted"));

    @Override
    public Meter.Id map(Meter.Id id) {
        if (id.getDescription() != null || !id.getName().startsWith(PREFIX)) {
            return id;
        }
        String text = TEXTS.getOrDefault(id.getName(), "Java Operator SDK meter " + id.getName());
        return new Meter.Id(
                id.getName(),
                io.micrometer.core.instrument.Tags.of(id.getTagsAsIterable()),
                id.getBaseUnit(),
                text,
                id.getType());
    }
}
