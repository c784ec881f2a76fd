package dev.roundhouse.poolformat;

import java.util.ArrayList;
import java.util.List;

/**
 * Collects "path: reason" problems. Only the first problem at a path (or above it) is kept: once a value
 * has the wrong type, the range checks that run later on its placeholder would only repeat the news.
 */
final class Problems {

    private final List<String> paths = new ArrayList<>();
    private final List<String> messages = new ArrayList<>();

    void add(String path, String reason) {
        for (String known : paths) {
            if (path.equals(known) || path.startsWith(known + ".") || path.startsWith(known + "[")) {
                return;
            }
        }
        paths.add(path);
        messages.add(path + ": " + reason);
    }

    boolean isEmpty() {
        return messages.isEmpty();
    }

    void throwIfAny() throws InvalidPoolDocumentException {
        if (!messages.isEmpty()) {
            throw new InvalidPoolDocumentException(messages);
        }
    }

    static String child(String parent, String name) {
        return parent.isEmpty() ? name : parent + "." + name;
    }
}
