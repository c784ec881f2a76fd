package dev.roundhouse.testing.apiserver;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinitionVersion;
import io.fabric8.kubernetes.client.utils.KubernetesVersionPriority;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Legacy (non-aggregated) discovery documents, so that kubectl and Fabric8's generic resources can map kinds to
 * resources: {@code /version}, {@code /api}, {@code /api/v1}, {@code /apis}, {@code /apis/<group>} and
 * {@code /apis/<group>/<version>}. Custom resources come from the CustomResourceDefinitions stored at request time.
 */
final class Discovery {

    /** One resource of one group version. {@code group} is "" for the core group. */
    record Resource(
            String group,
            String version,
            String plural,
            String singular,
            String kind,
            boolean namespaced,
            List<String> shortNames,
            boolean statusSubresource) {}

    /** The built-in kinds this server knows (it stores any kind; these are the ones it advertises). */
    static final List<Resource> BUILT_IN = List.of(
            new Resource("", "v1", "configmaps", "configmap", "ConfigMap", true, List.of("cm"), false),
            new Resource("", "v1", "endpoints", "endpoints", "Endpoints", true, List.of("ep"), false),
            new Resource("", "v1", "events", "event", "Event", true, List.of("ev"), false),
            new Resource("", "v1", "namespaces", "namespace", "Namespace", false, List.of("ns"), true),
            new Resource("", "v1", "pods", "pod", "Pod", true, List.of("po"), true),
            new Resource("", "v1", "secrets", "secret", "Secret", true, List.of(), false),
            new Resource("", "v1", "serviceaccounts", "serviceaccount", "ServiceAccount", true, List.of("sa"), false),
            new Resource("", "v1", "services", "service", "Service", true, List.of("svc"), true),
            new Resource("apps", "v1", "deployments", "deployment", "Deployment", true, List.of("deploy"), true),
            new Resource("rbac.authorization.k8s.io", "v1", "roles", "role", "Role", true, List.of(), false),
            new Resource(
                    "rbac.authorization.k8s.io",
                    "v1",
                    "rolebindings",
                    "rolebinding",
                    "RoleBinding",
                    true,
                    List.of(),
                    false),
            new Resource(
                    "rbac.authorization.k8s.io",
                    "v1",
                    "clusterroles",
                    "clusterrole",
                    "ClusterRole",
                    false,
                    List.of(),
                    false),
            new Resource(
                    "rbac.authorization.k8s.io",
                    "v1",
                    "clusterrolebindings",
                    "clusterrolebinding",
                    "ClusterRoleBinding",
                    false,
                    List.of(),
                    false),
            new Resource(
                    "discovery.k8s.io",
                    "v1",
                    "endpointslices",
                    "endpointslice",
                    "EndpointSlice",
                    true,
                    List.of(),
                    false),
            new Resource("coordination.k8s.io", "v1", "leases", "lease", "Lease", true, List.of(), false),
            new Resource(
                    "policy",
                    "v1",
                    "poddisruptionbudgets",
                    "poddisruptionbudget",
                    "PodDisruptionBudget",
                    true,
                    List.of("pdb"),
                    true),
            new Resource(
                    "apiextensions.k8s.io",
                    "v1",
                    "customresourcedefinitions",
                    "customresourcedefinition",
                    "CustomResourceDefinition",
                    false,
                    List.of("crd", "crds"),
                    true));

    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
    private static final List<String> VERBS =
            List.of("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch");

    private Discovery() {}

    /** Built-in resources followed by those of every served version of every stored CRD. */
    static List<Resource> resources(List<CustomResourceDefinition> crds) {
        List<Resource> all = new ArrayList<>(BUILT_IN);
        for (CustomResourceDefinition crd : crds) {
            var spec = crd.getSpec();
            var names = spec.getNames();
            for (CustomResourceDefinitionVersion version : spec.getVersions()) {
                if (Boolean.FALSE.equals(version.getServed())) {
                    continue;
                }
                boolean status = version.getSubresources() != null
                        && version.getSubresources().getStatus() != null;
                all.add(new Resource(
                        spec.getGroup(),
                        version.getName(),
                        names.getPlural(),
                        names.getSingular() == null ? names.getKind().toLowerCase() : names.getSingular(),
                        names.getKind(),
                        "Namespaced".equals(spec.getScope()),
                        names.getShortNames() == null ? List.of() : names.getShortNames(),
                        status));
            }
        }
        return all;
    }

    /** Whether {@code path} (no query) is one of the discovery paths {@link #answer} serves. */
    static boolean isDiscoveryPath(String path) {
        return path.equals("/version")
                || path.equals("/api")
                || path.equals("/api/v1")
                || path.equals("/apis")
                || path.matches("/apis/[^/]+(/[^/]+)?");
    }

    /**
     * The discovery document for {@code path} (no query), or null when {@code path} is not a discovery path. An unknown
     * group or version answers 404, as a real API server does.
     */
    static Answer answer(String path, List<Resource> resources, String serverAddress) {
        String[] parts = path.equals("/") ? new String[0] : path.substring(1).split("/");
        if (parts.length == 1 && parts[0].equals("version")) {
            ObjectNode version = NODES.objectNode();
            version.put("major", "1")
                    .put("minor", "32")
                    .put("gitVersion", "v1.32.0")
                    .put("gitCommit", "roundhouse-embedded")
                    .put("gitTreeState", "clean")
                    .put("buildDate", "2025-01-01T00:00:00Z")
                    .put("goVersion", "go1.23")
                    .put("compiler", "gc")
                    .put("platform", "linux/amd64");
            return new Answer(200, version);
        }
        if (parts.length == 1 && parts[0].equals("api")) {
            ObjectNode versions = NODES.objectNode().put("kind", "APIVersions");
            versions.putArray("versions").add("v1");
            versions.putArray("serverAddressByClientCIDRs")
                    .addObject()
                    .put("clientCIDR", "0.0.0.0/0")
                    .put("serverAddress", serverAddress);
            return new Answer(200, versions);
        }
        if (parts.length == 2 && parts[0].equals("api") && parts[1].equals("v1")) {
            return resourceList("", "v1", resources);
        }
        if (parts.length == 1 && parts[0].equals("apis")) {
            ObjectNode list = NODES.objectNode().put("kind", "APIGroupList").put("apiVersion", "v1");
            ArrayNode groups = list.putArray("groups");
            groupVersions(resources).forEach((group, versions) -> {
                if (!group.isEmpty()) {
                    groups.add(group(group, versions));
                }
            });
            return new Answer(200, list);
        }
        if (parts.length == 2 && parts[0].equals("apis")) {
            List<String> versions = groupVersions(resources).get(parts[1]);
            return versions == null || parts[1].isEmpty()
                    ? notFound()
                    : new Answer(
                            200,
                            group(parts[1], versions).put("kind", "APIGroup").put("apiVersion", "v1"));
        }
        if (parts.length == 3 && parts[0].equals("apis")) {
            return resourceList(parts[1], parts[2], resources);
        }
        return null;
    }

    /** A discovery answer: a status code and its JSON body. */
    record Answer(int code, ObjectNode body) {}

    private static Answer notFound() {
        ObjectNode status = NODES.objectNode()
                .put("kind", "Status")
                .put("apiVersion", "v1")
                .put("status", "Failure")
                .put("reason", "NotFound")
                .put("code", 404)
                .put("message", "the server could not find the requested resource");
        return new Answer(404, status);
    }

    private static Map<String, List<String>> groupVersions(List<Resource> resources) {
        Map<String, List<String>> groups = new LinkedHashMap<>();
        for (Resource r : resources) {
            List<String> versions = groups.computeIfAbsent(r.group(), g -> new ArrayList<>());
            if (!versions.contains(r.version())) {
                versions.add(r.version());
            }
        }
        return groups;
    }

    private static ObjectNode group(String name, List<String> versions) {
        ObjectNode group = NODES.objectNode().put("name", name);
        ArrayNode list = group.putArray("versions");
        versions.forEach(
                v -> list.addObject().put("groupVersion", name + "/" + v).put("version", v));
        // Kubernetes prefers the highest version by its version priority (v2 > v1 > v1beta1...).
        String preferred = KubernetesVersionPriority.highestPriority(versions);
        group.putObject("preferredVersion")
                .put("groupVersion", name + "/" + preferred)
                .put("version", preferred);
        return group;
    }

    private static Answer resourceList(String group, String version, List<Resource> resources) {
        List<Resource> matching = resources.stream()
                .filter(r -> r.group().equals(group) && r.version().equals(version))
                .toList();
        if (matching.isEmpty()) {
            return notFound();
        }
        ObjectNode list = NODES.objectNode()
                .put("kind", "APIResourceList")
                .put("apiVersion", "v1")
                .put("groupVersion", group.isEmpty() ? version : group + "/" + version);
        ArrayNode items = list.putArray("resources");
        for (Resource r : matching) {
            ObjectNode item = items.addObject()
                    .put("name", r.plural())
                    .put("singularName", r.singular())
                    .put("namespaced", r.namespaced())
                    .put("kind", r.kind());
            VERBS.forEach(item.putArray("verbs")::add);
            if (!r.shortNames().isEmpty()) {
                r.shortNames().forEach(item.putArray("shortNames")::add);
            }
            if (r.statusSubresource()) {
                ObjectNode status = items.addObject()
                        .put("name", r.plural() + "/status")
                        .put("singularName", "")
                        .put("namespaced", r.namespaced())
                        .put("kind", r.kind());
                List.of("get", "patch", "update").forEach(status.putArray("verbs")::add);
            }
        }
        return new Answer(200, list);
    }
}
