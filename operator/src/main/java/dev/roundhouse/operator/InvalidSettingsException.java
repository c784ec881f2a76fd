package dev.roundhouse.operator;

import java.util.List;

/** Settings the operator cannot start with: one problem per entry, each naming its variable and the bad value. */
public final class InvalidSettingsException extends IllegalArgumentException {

    private final List<String> problems;

    public InvalidSettingsException(List<String> problems) {
        super("invalid configuration: " + String.join("; ", problems));
        this.problems = List.copyOf(problems);
    }

    public List<String> problems() {
        return problems;
    }
}
