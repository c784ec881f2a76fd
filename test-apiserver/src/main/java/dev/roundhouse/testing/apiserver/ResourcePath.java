package dev.roundhouse.testing.apiserver;

import java.util.Arrays;
import java.util.Set;

/**
 * The parts of a resource path, {@code /api/v1/namespaces/default/services/web/status} or
 * {@code /apis/roundhouse.dev/v1alpha1/namespaces/default/loadbalancers/demo/scale}, so that a subresource can be
 * told apart from the object itself (the base class reads both as the object).
 *
 * @param group "" for the core group
 * @param namespace null for a cluster-scoped resource
 * @param name null for a collection
 * @param subresource null for the object or collection itself
 */
record ResourcePath(String group, String version, String namespace, String plural, String name, String subresource) {

    private static final Set<String> NAMESPACE_SUBRESOURCES = Set.of("status", "finalize");

    /** The parts of {@code path} (no query), or null when it is not a resource path (discovery, legacy watch). */
    static ResourcePath parse(String path) {
        String[] parts =
                Arrays.stream(path.split("/")).filter(p -> !p.isEmpty()).toArray(String[]::new);
        String group;
        int at;
        if (parts.length >= 3 && parts[0].equals("api")) {
            group = "";
            at = 2;
        } else if (parts.length >= 4 && parts[0].equals("apis")) {
            group = parts[1];
            at = 3;
        } else {
            return null;
        }
        String version = parts[at - 1];
        String[] rest = Arrays.copyOfRange(parts, at, parts.length);
        if (rest[0].equals("watch")) {
            return null;
        }
        String namespace = null;
        if (rest[0].equals("namespaces")
                && rest.length >= 3
                && !(rest.length == 3 && NAMESPACE_SUBRESOURCES.contains(rest[2]))) {
            namespace = rest[1];
            rest = Arrays.copyOfRange(rest, 2, rest.length);
        }
        return new ResourcePath(
                group,
                version,
                namespace,
                rest[0],
                rest.length > 1 ? rest[1] : null,
                rest.length > 2 ? String.join("/", Arrays.copyOfRange(rest, 2, rest.length)) : null);
    }
}
