package dev.roundhouse.e2e.chart;

import static org.assertj.core.api.Assertions.assertThat;

import com.marcnuri.helm.Helm;
import com.marcnuri.helm.TemplateCommand;
import dev.roundhouse.e2e.chart.OperatorPermissions.Permission;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.rbac.ClusterRole;
import io.fabric8.kubernetes.api.model.rbac.ClusterRoleBinding;
import io.fabric8.kubernetes.api.model.rbac.PolicyRule;
import io.fabric8.kubernetes.api.model.rbac.Role;
import io.fabric8.kubernetes.api.model.rbac.RoleBinding;
import io.fabric8.kubernetes.api.model.rbac.RoleRef;
import io.fabric8.kubernetes.api.model.rbac.Subject;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The chart in charts/roundhouse, rendered through helm-java (Helm 3 as a native library) and parsed into typed
 * Fabric8 objects. Tests run in e2e/, so the repository is "..".
 */
public final class ChartFixture {

    public static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
    public static final Path CHART = ROOT.resolve("charts/roundhouse");
    public static final String RELEASE = "rh";
    public static final String NAMESPACE = "roundhouse-system";

    private static final KubernetesSerialization SERIALIZATION = new KubernetesSerialization();

    private ChartFixture() {}

    /** The oldest Kubernetes the chart's kubeVersion admits: what the tests render for. */
    public static final String OLDEST_KUBERNETES = "1.25.0";

    /** helm template rh charts/roundhouse -n roundhouse-system, to which a test adds --set values. */
    public static TemplateCommand template() {
        return template(CHART);
    }

    public static TemplateCommand template(Path chart) {
        return new Helm(chart)
                .template()
                .withName(RELEASE)
                .withNamespace(NAMESPACE)
                .withKubeVersion(OLDEST_KUBERNETES);
    }

    /** Renders and parses: each document a typed Kubernetes object with no field its model does not know. */
    public static List<HasMetadata> render(TemplateCommand template) {
        List<HasMetadata> objects = parseAll(template.call());
        assertThat(objects).isNotEmpty();
        return objects;
    }

    /** Each YAML document as a typed Fabric8 object, with no field the model does not know. */
    public static List<HasMetadata> parseAll(String yaml) {
        List<HasMetadata> objects = new ArrayList<>();
        for (String document : yaml.split("(?m)^---\\s*$")) {
            if (document.lines().allMatch(l -> l.isBlank() || l.trim().startsWith("#"))) {
                continue;
            }
            Object parsed = SERIALIZATION.unmarshal(document);
            assertThat(parsed)
                    .as("a typed Kubernetes object:%n%s", document)
                    .isInstanceOf(HasMetadata.class)
                    .isNotInstanceOf(GenericKubernetesResource.class);
            assertNoUnknownFields(parsed, ((HasMetadata) parsed).getKind());
            objects.add((HasMetadata) parsed);
        }
        return objects;
    }

    public static <T> List<T> ofType(List<HasMetadata> objects, Class<T> type) {
        return objects.stream().filter(type::isInstance).map(type::cast).toList();
    }

    public static <T> T only(List<HasMetadata> objects, Class<T> type) {
        List<T> found = ofType(objects, type);
        assertThat(found).as("exactly one %s", type.getSimpleName()).hasSize(1);
        return found.get(0);
    }

    /**
     * Every permission the rendered RBAC gives the operator's ServiceAccount (the Deployment's), one per verb,
     * resource and object name, where it applies: {@link OperatorPermissions#CLUSTER_WIDE} for a
     * ClusterRoleBinding, the binding's namespace for a RoleBinding. Fails on what would make this incomplete or
     * misleading: a wildcard, a binding of another subject, a binding to a role the chart does not render, or a
     * role nothing binds.
     */
    public static Set<Permission> granted(List<HasMetadata> objects) {
        Deployment deployment = only(objects, Deployment.class);
        String serviceAccount = deployment.getSpec().getTemplate().getSpec().getServiceAccountName();
        String namespace = deployment.getMetadata().getNamespace();
        Set<Permission> granted = new TreeSet<>();
        Set<String> boundRoles = new HashSet<>();
        for (ClusterRoleBinding binding : ofType(objects, ClusterRoleBinding.class)) {
            assertBindsOnly(binding, binding.getSubjects(), serviceAccount, namespace);
            for (PolicyRule rule : rulesOf(objects, binding.getRoleRef(), null, boundRoles)) {
                expand(rule, OperatorPermissions.CLUSTER_WIDE, granted);
            }
        }
        for (RoleBinding binding : ofType(objects, RoleBinding.class)) {
            assertBindsOnly(binding, binding.getSubjects(), serviceAccount, namespace);
            String scope = binding.getMetadata().getNamespace();
            for (PolicyRule rule : rulesOf(objects, binding.getRoleRef(), scope, boundRoles)) {
                expand(rule, scope, granted);
            }
        }
        for (ClusterRole role : ofType(objects, ClusterRole.class)) {
            if (aggregated(role)) {
                continue; // the users' rights, folded into view, edit and admin: not the operator's
            }
            assertThat(boundRoles)
                    .as("ClusterRole %s is bound", role.getMetadata().getName())
                    .contains("ClusterRole/" + role.getMetadata().getName());
        }
        for (Role role : ofType(objects, Role.class)) {
            assertThat(boundRoles)
                    .as("Role %s is bound", role.getMetadata().getName())
                    .contains("Role/" + role.getMetadata().getNamespace() + "/"
                            + role.getMetadata().getName());
        }
        return granted;
    }

    /** A ClusterRole the API server folds into a built-in one (view, edit, admin). */
    public static boolean aggregated(ClusterRole role) {
        Map<String, String> labels = role.getMetadata().getLabels();
        return labels != null
                && labels.keySet().stream().anyMatch(k -> k.startsWith("rbac.authorization.k8s.io/aggregate-to-"));
    }

    private static void assertBindsOnly(HasMetadata binding, List<Subject> subjects, String name, String namespace) {
        assertThat(subjects)
                .as(
                        "subjects of %s %s",
                        binding.getKind(), binding.getMetadata().getName())
                .isNotEmpty()
                .allSatisfy(s -> {
                    assertThat(s.getKind()).isEqualTo("ServiceAccount");
                    assertThat(s.getName()).isEqualTo(name);
                    assertThat(s.getNamespace()).isEqualTo(namespace);
                });
    }

    private static List<PolicyRule> rulesOf(
            List<HasMetadata> objects, RoleRef ref, String namespace, Set<String> boundRoles) {
        assertThat(ref.getApiGroup()).isEqualTo("rbac.authorization.k8s.io");
        List<PolicyRule> rules;
        if (ref.getKind().equals("ClusterRole")) {
            List<ClusterRole> roles = ofType(objects, ClusterRole.class).stream()
                    .filter(r -> r.getMetadata().getName().equals(ref.getName()))
                    .toList();
            assertThat(roles)
                    .as("ClusterRole %s rendered by the chart", ref.getName())
                    .hasSize(1);
            boundRoles.add("ClusterRole/" + ref.getName());
            rules = roles.get(0).getRules();
        } else {
            assertThat(ref.getKind()).isEqualTo("Role");
            assertThat(namespace).as("a Role is bound by a RoleBinding").isNotNull();
            List<Role> roles = ofType(objects, Role.class).stream()
                    .filter(r -> r.getMetadata().getName().equals(ref.getName())
                            && namespace.equals(r.getMetadata().getNamespace()))
                    .toList();
            assertThat(roles)
                    .as("Role %s/%s rendered by the chart", namespace, ref.getName())
                    .hasSize(1);
            boundRoles.add("Role/" + namespace + "/" + ref.getName());
            rules = roles.get(0).getRules();
        }
        return rules == null ? List.of() : rules;
    }

    private static void expand(PolicyRule rule, String scope, Set<Permission> into) {
        assertThat(rule.getNonResourceURLs()).as("nonResourceURLs in %s", rule).isNullOrEmpty();
        List<String> names =
                rule.getResourceNames() == null || rule.getResourceNames().isEmpty()
                        ? List.of(OperatorPermissions.ANY)
                        : rule.getResourceNames();
        for (List<String> values : List.of(rule.getApiGroups(), rule.getResources(), rule.getVerbs(), names)) {
            assertThat(values).as("rule %s", rule).isNotEmpty().doesNotContain("*");
        }
        for (String group : rule.getApiGroups()) {
            for (String resource : rule.getResources()) {
                for (String verb : rule.getVerbs()) {
                    for (String name : names) {
                        into.add(new Permission(scope, group, resource, verb, name));
                    }
                }
            }
        }
    }

    /** Fabric8 keeps fields it does not know (a misspelt key, a wrong indent) in additionalProperties. */
    private static void assertNoUnknownFields(Object object, String path) {
        if (object == null
                || object instanceof String
                || object instanceof Number
                || object instanceof Boolean
                || object instanceof Enum<?>) {
            return;
        }
        if (object instanceof Collection<?> items) {
            int i = 0;
            for (Object item : items) {
                assertNoUnknownFields(item, path + "[" + i++ + "]");
            }
            return;
        }
        if (object instanceof Map<?, ?> map) {
            map.forEach((k, v) -> assertNoUnknownFields(v, path + "." + k));
            return;
        }
        if (!object.getClass().getPackageName().startsWith("io.fabric8")) {
            return;
        }
        for (Method getter : object.getClass().getMethods()) {
            if (getter.getParameterCount() != 0
                    || Modifier.isStatic(getter.getModifiers())
                    || !getter.getName().startsWith("get")
                    || getter.getDeclaringClass() == Object.class) {
                continue;
            }
            Object value;
            try {
                value = getter.invoke(object);
            } catch (ReflectiveOperationException e) {
                throw new AssertionError(e);
            }
            if (getter.getName().equals("getAdditionalProperties")) {
                assertThat((Map<?, ?>) value)
                        .as("fields the Kubernetes model does not know at %s", path)
                        .isEmpty();
            } else {
                assertNoUnknownFields(value, path + "." + getter.getName().substring(3));
            }
        }
    }
}
