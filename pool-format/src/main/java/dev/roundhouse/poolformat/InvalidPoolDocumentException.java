package dev.roundhouse.poolformat;

import java.util.List;

/** A pool document that must not be used, with every problem found, each naming its JSON path. */
public final class InvalidPoolDocumentException extends Exception {

    private final List<String> problems;

    public InvalidPoolDocumentException(List<String> problems) {
        super("invalid pool document: " + String.join("; ", problems));
        this.problems = List.copyOf(problems);
    }

    /** Each entry reads "{@code <json path>: <reason>}", e.g. {@code backends[1].url: scheme must be http or https, got 'ftp'}. */
    public List<String> problems() {
        return problems;
    }
}
