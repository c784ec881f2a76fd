package dev.roundhouse.testing.apiserver;

import com.fasterxml.jackson.databind.JsonNode;
import dev.cel.common.CelAbstractSyntaxTree;
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
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One {@code x-kubernetes-validations} rule of a CRD schema, compiled once: a CEL expression over {@code self}, the
 * value at the rule's place in the object.
 *
 * <p>{@code self} is declared dynamic rather than typed from the schema, so a rule that names a field the schema
 * lacks compiles here and fails when evaluated (a real API server refuses such a CRD).
 */
final class CelRule {

    private static final Logger LOG = LoggerFactory.getLogger(CelRule.class);

    // Kubernetes' CEL compares ints with doubles (self.ratio > 0) and has the string extension library.
    private static final CelOptions OPTIONS =
            CelOptions.current().enableHeterogeneousNumericComparisons(true).build();
    private static final CelCompiler COMPILER = CelCompilerFactory.standardCelCompilerBuilder()
            .setOptions(OPTIONS)
            .setStandardMacros(CelStandardMacro.STANDARD_MACROS)
            .addLibraries(CelExtensions.strings())
            .addVar("self", SimpleType.DYN)
            .build();
    private static final CelRuntime RUNTIME = CelRuntimeFactory.standardCelRuntimeBuilder()
            .setOptions(OPTIONS)
            .addLibraries(CelExtensions.strings())
            .build();

    private final String rule;
    private final String message;
    private final FieldError.Type type;
    private final String fieldPath;
    private final CelRuntime.Program program;

    private CelRule(JsonNode validation, CelRuntime.Program program) {
        this.rule = validation.path("rule").asText();
        this.message = validation.path("message").asText("failed rule: " + rule);
        this.type = FieldError.Type.ofReason(validation.path("reason").asText(""));
        this.fieldPath = validation.path("fieldPath").asText("");
        this.program = program;
    }

    /**
     * The rules of one schema node. A rule that does not compile is logged and skipped, so that a CRD this server
     * cannot fully check never blocks writes; so are transition rules (they need {@code oldSelf}).
     */
    static List<CelRule> compile(JsonNode schema) {
        List<CelRule> rules = new ArrayList<>();
        for (JsonNode validation : schema.path("x-kubernetes-validations")) {
            String rule = validation.path("rule").asText("");
            if (rule.contains("oldSelf")) {
                LOG.warn("Skipping the transition rule {}: oldSelf is not supported here", rule);
                continue;
            }
            try {
                CelAbstractSyntaxTree ast = COMPILER.compile(rule).getAst();
                rules.add(new CelRule(validation, RUNTIME.createProgram(ast)));
            } catch (CelValidationException | CelEvaluationException e) {
                LOG.warn(
                        "Skipping the x-kubernetes-validations rule {}: it does not compile: {}", rule, e.getMessage());
            }
        }
        return rules;
    }

    /**
     * The problem when {@code value} breaks the rule, else null.
     *
     * @param path where {@code value} is, e.g. {@code spec}
     * @param schemaType the schema's type there, which Kubernetes shows as the bad value ("object")
     */
    FieldError check(JsonNode value, String path, String schemaType) {
        Object result;
        try {
            result = program.eval(Map.of("self", toCel(value)));
        } catch (CelEvaluationException e) {
            return new FieldError(
                    FieldError.Type.INVALID, path, schemaType, e.getMessage() + " evaluating rule: " + rule);
        }
        if (Boolean.TRUE.equals(result)) {
            return null;
        }
        if (!(result instanceof Boolean)) {
            return new FieldError(
                    FieldError.Type.INVALID, path, schemaType, "rule did not evaluate to a bool: " + rule);
        }
        return new FieldError(type, field(path), schemaType, message);
    }

    /** The path the rule reports on: its own place, or the relative {@code fieldPath} it names. */
    private String field(String path) {
        if (fieldPath.isEmpty()) {
            return path;
        }
        return path.isEmpty() && fieldPath.startsWith(".") ? fieldPath.substring(1) : path + fieldPath;
    }

    /** JSON as CEL values: maps, lists, int (long), double, string, bool and null. */
    static Object toCel(JsonNode value) {
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
