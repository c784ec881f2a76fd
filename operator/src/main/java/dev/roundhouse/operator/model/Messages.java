package dev.roundhouse.operator.model;

import java.util.List;

/**
 * Condition and Event messages short enough to read at a glance, in {@code kubectl describe}, Argo CD and Flux: a list
 * names its first items and counts the rest, and no message is longer than {@link #MAX} characters (the API server
 * would take 32 KiB, no reader wants it).
 */
public final class Messages {

    /** The longest message the operator writes into a condition or an Event. */
    public static final int MAX = 1024;

    /** What a list of problems may take of a message, leaving room for the words around it. */
    public static final int LIST_BUDGET = 768;

    private Messages() {}

    /**
     * The items joined by {@code separator}, as many from the start as fit in {@code budget} characters together with
     * a closing {@code "and N more"}; at least the first item (cut to the budget), so the message is never empty.
     */
    public static String list(List<String> items, String separator, int budget) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < items.size(); i++) {
            String gap = i == 0 ? "" : separator;
            int rest = items.size() - i - 1;
            String more = rest == 0 ? "" : separator + "and " + rest + " more";
            if (out.length() + gap.length() + items.get(i).length() + more.length() > budget) {
                if (i > 0) {
                    // out plus the previous item's "and N more" fitted: that is what this is
                    return out + separator + "and " + (items.size() - i) + " more";
                }
                out.append(cap(items.get(i), Math.max(3, budget - more.length())));
                continue;
            }
            out.append(gap).append(items.get(i));
        }
        return out.toString();
    }

    /** {@code message} cut to {@link #MAX} characters (ending in "..." when cut). */
    public static String cap(String message) {
        return cap(message, MAX);
    }

    /** {@code message} cut to {@code max} characters (ending in "..." when cut). */
    public static String cap(String message, int max) {
        if (message == null || message.length() <= max) {
            return message;
        }
        return message.substring(0, max - 3) + "...";
    }
}
