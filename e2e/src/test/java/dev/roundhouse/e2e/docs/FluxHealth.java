package dev.roundhouse.e2e.docs;

import com.fasterxml.jackson.databind.JsonNode;
import dev.cel.common.CelOptions;
import dev.cel.common.CelValidationException;
import dev.cel.common.types.SimpleType;
import dev.cel.common.values.NullValue;
import dev.cel.compiler.CelCompiler;
import dev.cel.compiler.CelCompilerFactory;
import dev.cel.extensions.CelExtensions;
import dev.cel.parser.CelStandardMacro;
import dev.cel.runtime.CelEvaluationException;
import dev.cel.runtime.CelRuntime;
import dev.cel.runtime.CelRuntimeFactory;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Flux's health check expressions ({@code Kustomization.spec.healthCheckExprs}) evaluated the way
 * kustomize-controller does (fluxcd/pkg runtime/cel StatusEvaluator): InProgress while
 * {@code status.observedGeneration} differs from {@code metadata.generation}; then {@code inProgress},
 * {@code failed} and {@code current} in that order, the first true one wins; none true is InProgress. The
 * expressions see the object's top-level fields as variables. Flux only parses them; CEL for Java runs only
 * checked expressions, so here they are checked with those fields declared dynamic, which accepts what
 * parsing accepts. An expression that fails to evaluate (a field that does not exist yet) is reported here
 * as Error, on which Flux keeps waiting until its timeout.
 */
final class FluxHealth {

    private static final CelOptions OPTIONS =
            CelOptions.current().enableHeterogeneousNumericComparisons(true).build();
    private static final CelCompiler COMPILER = CelCompilerFactory.standardCelCompilerBuilder()
            .setOptions(OPTIONS)
            .setStandardMacros(CelStandardMacro.STANDARD_MACROS)
            .addLibraries(CelExtensions.strings())
            .addVar("apiVersion", SimpleType.DYN)
            .addVar("kind", SimpleType.DYN)
            .addVar("metadata", SimpleType.DYN)
            .addVar("spec", SimpleType.DYN)
            .addVar("status", SimpleType.DYN)
            .build();
    private static final CelRuntime RUNTIME = CelRuntimeFactory.standardCelRuntimeBuilder()
            .setOptions(OPTIONS)
            .addLibraries(CelExtensions.strings())
            .build();

    private final CelRuntime.Program current;
    private final CelRuntime.Program inProgress;
    private final CelRuntime.Program failed;

    FluxHealth(JsonNode healthCheckExpr) {
        current = program(healthCheckExpr.path("current").asText(null));
        inProgress = program(healthCheckExpr.path("inProgress").asText(null));
        failed = program(healthCheckExpr.path("failed").asText(null));
        if (current == null) {
            throw new IllegalArgumentException("a health check expression needs `current`: " + healthCheckExpr);
        }
    }

    private static CelRuntime.Program program(String expression) {
        if (expression == null || expression.isBlank()) {
            return null;
        }
        try {
            return RUNTIME.createProgram(COMPILER.compile(expression).getAst());
        } catch (CelValidationException | CelEvaluationException e) {
            throw new IllegalArgumentException("not a CEL expression Flux accepts: " + expression, e);
        }
    }

    /** Current, InProgress, Failed, or Error when an expression cannot be evaluated on this object. */
    String evaluate(JsonNode object) {
        JsonNode observed = object.path("status").path("observedGeneration");
        JsonNode generation = object.path("metadata").path("generation");
        if (observed.isIntegralNumber()
                && generation.isIntegralNumber()
                && observed.longValue() != generation.longValue()) {
            return "InProgress";
        }
        @SuppressWarnings("unchecked")
        Map<String, Object> variables = (Map<String, Object>) toCel(object);
        Object[][] order = {{inProgress, "InProgress"}, {failed, "Failed"}, {current, "Current"}};
        for (Object[] step : order) {
            CelRuntime.Program program = (CelRuntime.Program) step[0];
            if (program == null) {
                continue;
            }
            Object result;
            try {
                result = program.eval(variables);
            } catch (CelEvaluationException e) {
                return "Error";
            }
            if (!(result instanceof Boolean)) {
                return "Error";
            }
            if ((Boolean) result) {
                return (String) step[1];
            }
        }
        return "InProgress";
    }

    private static Object toCel(JsonNode value) {
        switch (value.getNodeType()) {
            case OBJECT -> {
                Map<String, Object> map = new LinkedHashMap<>();
                value.properties().forEach(e -> map.put(e.getKey(), toCel(e.getValue())));
                return map;
            }
            case ARRAY -> {
                List<Object> list = new ArrayList<>();
                value.forEach(e -> list.add(toCel(e)));
                return list;
            }
            case STRING -> {
                return value.asText();
            }
            case BOOLEAN -> {
                return value.asBoolean();
            }
            case NUMBER -> {
                return value.isIntegralNumber() && value.canConvertToLong()
                        ? (Object) value.longValue()
                        : (Object) value.doubleValue();
            }
            default -> {
                return NullValue.NULL_VALUE;
            }
        }
    }
}
