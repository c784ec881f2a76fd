package dev.roundhouse.e2e.observability;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A small PromQL reader, enough to find the series selectors of an expression: each metric name with its label
 * matchers. It tokenizes (strings, numbers and durations, identifiers, punctuation), skips ranges and subqueries
 * ({@code [5m]}, {@code [1h:1m]}), label lists ({@code by (...)}, {@code on (...)}, {@code group_left(...)}),
 * function and aggregation names (identifiers followed by {@code (}), keywords and Grafana variables
 * outside strings ({@code [$__rate_interval]}, {@code ${x}}, {@code [[x]]}); strings stay as written, so a
 * matcher's value may hold one ({@code job=~"$job"}). Every other identifier is a metric name. It is not a
 * validator: {@code promtool} checks the syntax.
 */
final class PromQl {

    /** A label matcher of a selector: {@code label op "value"}. */
    record LabelMatcher(String label, String op, String value) {}

    /** A series selector: a metric name (null for {@code {__name__=...}} without {@code =}) and its matchers. */
    record Selector(String metric, List<LabelMatcher> matchers) {}

    private static final Set<String> LABEL_LIST_KEYWORDS =
            Set.of("by", "without", "on", "ignoring", "group_left", "group_right");
    /** PromQL's keywords: binary operators, modifiers and the aggregation operators ({@code sum by (x) (...)}). */
    private static final Set<String> KEYWORDS = Set.of(
            "and",
            "or",
            "unless",
            "bool",
            "offset",
            "inf",
            "nan",
            "atan2",
            "sum",
            "min",
            "max",
            "avg",
            "group",
            "stddev",
            "stdvar",
            "count",
            "count_values",
            "bottomk",
            "topk",
            "quantile",
            "limitk",
            "limit_ratio");
    /** A Grafana variable outside a string: {@code $x}, {@code ${x}}, {@code ${x:format}}. */
    private static final Pattern GRAFANA_VARIABLE = Pattern.compile("\\$(\\{[^}]*}|\\w+)");
    /** Grafana's variable query {@code label_values(selector, label)}: only the selector names a metric. */
    private static final Pattern LABEL_VALUES =
            Pattern.compile("^\\s*label_values\\((.*),\\s*(\\w+)\\s*\\)\\s*$", Pattern.DOTALL);

    private static final Pattern LABEL_VALUES_ONE = Pattern.compile("^\\s*label_values\\(\\s*(\\w+)\\s*\\)\\s*$");

    private enum Kind {
        IDENT,
        STRING,
        NUMBER,
        PUNCT
    }

    private record Token(Kind kind, String text) {}

    private PromQl() {}

    /** The selectors of a PromQL expression (Grafana variables allowed). */
    static List<Selector> selectors(String expression) {
        return new Reader(tokens(expression)).read();
    }

    /**
     * The selectors of a Grafana Prometheus variable query: {@code label_values(selector, label)} or a PromQL
     * expression ({@code query_result(...)} included); {@code label_values(label)} names no metric.
     */
    static List<Selector> variableQuerySelectors(String query) {
        if (LABEL_VALUES_ONE.matcher(query).matches()) {
            return List.of();
        }
        Matcher m = LABEL_VALUES.matcher(query);
        return selectors(m.matches() ? m.group(1) : query);
    }

    /** The metric names of an expression, in order of appearance, without duplicates. */
    static List<String> metricNames(String expression) {
        return selectors(expression).stream()
                .map(Selector::metric)
                .filter(n -> n != null)
                .distinct()
                .toList();
    }

    private static List<Token> tokens(String s) {
        List<Token> out = new ArrayList<>();
        int i = 0;
        int n = s.length();
        while (i < n) {
            char c = s.charAt(i);
            if (Character.isWhitespace(c)) {
                i++;
            } else if (c == '#') { // comment to the end of the line
                while (i < n && s.charAt(i) != '\n') {
                    i++;
                }
            } else if (c == '"' || c == '\'' || c == '`') {
                StringBuilder value = new StringBuilder();
                int j = i + 1;
                while (j < n && s.charAt(j) != c) {
                    if (s.charAt(j) == '\\' && c != '`' && j + 1 < n) {
                        j++;
                    }
                    value.append(s.charAt(j));
                    j++;
                }
                if (j >= n) {
                    throw new IllegalArgumentException("unterminated string at " + i + " in: " + s);
                }
                out.add(new Token(Kind.STRING, value.toString()));
                i = j + 1;
            } else if (Character.isDigit(c) || (c == '.' && i + 1 < n && Character.isDigit(s.charAt(i + 1)))) {
                int j = i;
                while (j < n && (Character.isLetterOrDigit(s.charAt(j)) || s.charAt(j) == '.' || s.charAt(j) == '_')) {
                    j++;
                }
                out.add(new Token(Kind.NUMBER, s.substring(i, j)));
                i = j;
            } else if (Character.isLetter(c) || c == '_' || c == ':') {
                int j = i;
                while (j < n && (Character.isLetterOrDigit(s.charAt(j)) || s.charAt(j) == '_' || s.charAt(j) == ':')) {
                    j++;
                }
                out.add(new Token(Kind.IDENT, s.substring(i, j)));
                i = j;
            } else if (c == '$') {
                Matcher variable = GRAFANA_VARIABLE.matcher(s).region(i, n);
                if (!variable.lookingAt()) {
                    throw new IllegalArgumentException("cannot read $ at " + i + " in: " + s);
                }
                i = variable.end();
            } else if (c == '[') { // range or subquery (durations, a colon, variables), or Grafana's [[x]]
                int j = s.startsWith("[[", i) ? s.indexOf("]]", i) : s.indexOf(']', i);
                if (j < 0) {
                    throw new IllegalArgumentException("unterminated [ at " + i + " in: " + s);
                }
                i = j + (s.startsWith("]]", j) && s.startsWith("[[", i) ? 2 : 1);
            } else {
                String two = i + 1 < n ? s.substring(i, i + 2) : "";
                if (Set.of("=~", "!~", "!=", "==", "<=", ">=").contains(two)) {
                    out.add(new Token(Kind.PUNCT, two));
                    i += 2;
                } else {
                    out.add(new Token(Kind.PUNCT, String.valueOf(c)));
                    i++;
                }
            }
        }
        return out;
    }

    private static final class Reader {
        private final List<Token> tokens;
        private final List<Selector> selectors = new ArrayList<>();
        private int pos;

        Reader(List<Token> tokens) {
            this.tokens = tokens;
        }

        List<Selector> read() {
            while (pos < tokens.size()) {
                Token t = tokens.get(pos);
                if (t.kind == Kind.IDENT) {
                    String word = t.text.toLowerCase(Locale.ROOT);
                    pos++;
                    if (LABEL_LIST_KEYWORDS.contains(word)) {
                        if (is("(")) {
                            skipParenthesised();
                        }
                    } else if (KEYWORDS.contains(word) || is("(")) {
                        // an operator keyword, or a function / aggregation name: its arguments follow
                    } else {
                        selectors.add(new Selector(t.text, is("{") ? matchers() : List.of()));
                    }
                } else if (t.kind == Kind.PUNCT && t.text.equals("{")) {
                    List<LabelMatcher> matchers = matchers();
                    String name = matchers.stream()
                            .filter(m -> m.label.equals("__name__") && m.op.equals("="))
                            .map(LabelMatcher::value)
                            .findFirst()
                            .orElse(null);
                    selectors.add(new Selector(name, matchers));
                } else {
                    pos++;
                }
            }
            return selectors;
        }

        private boolean is(String punct) {
            return pos < tokens.size()
                    && tokens.get(pos).kind == Kind.PUNCT
                    && tokens.get(pos).text.equals(punct);
        }

        private void skipParenthesised() {
            int depth = 0;
            do {
                if (is("(")) {
                    depth++;
                } else if (is(")")) {
                    depth--;
                }
                pos++;
            } while (depth > 0 && pos < tokens.size());
        }

        /** Reads {@code {label op "value", ...}} from the opening brace. */
        private List<LabelMatcher> matchers() {
            List<LabelMatcher> out = new ArrayList<>();
            pos++; // {
            while (pos < tokens.size() && !is("}")) {
                if (is(",")) {
                    pos++;
                    continue;
                }
                Token label = tokens.get(pos);
                if (pos + 2 >= tokens.size()
                        || label.kind != Kind.IDENT
                        || tokens.get(pos + 1).kind != Kind.PUNCT
                        || tokens.get(pos + 2).kind != Kind.STRING) {
                    throw new IllegalArgumentException("cannot read label matcher at " + label.text);
                }
                out.add(new LabelMatcher(label.text, tokens.get(pos + 1).text, tokens.get(pos + 2).text));
                pos += 3;
            }
            pos++; // }
            return out;
        }
    }
}
