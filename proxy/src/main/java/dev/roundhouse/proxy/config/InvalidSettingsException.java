package dev.roundhouse.proxy.config;

import java.util.List;

/** Start-up configuration the proxy cannot run with; the message names every bad setting. */
public final class InvalidSettingsException extends Exception {

    private final List<String> problems;

    public InvalidSettingsException(List<String> problems) {
        super("invalid configuration: " + String.join("; ", problems));
        this.problems = List.copyOf(problems);
    }

    public List<String> problems() {
        return problems;
    }
}
