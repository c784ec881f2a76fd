package dev.roundhouse.e2e.chart;

import static dev.roundhouse.e2e.chart.ChartFixture.NAMESPACE;
import static dev.roundhouse.e2e.chart.ChartFixture.ofType;
import static dev.roundhouse.e2e.chart.ChartFixture.only;
import static dev.roundhouse.e2e.chart.ChartFixture.render;
import static dev.roundhouse.e2e.chart.ChartFixture.template;
import static org.assertj.core.api.Assertions.assertThat;

import dev.roundhouse.e2e.chart.OperatorPermissions.Needs;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.ServiceAccount;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.rbac.ClusterRole;
import io.fabric8.kubernetes.api.model.rbac.ClusterRoleBinding;
import io.fabric8.kubernetes.api.model.rbac.Role;
import io.fabric8.kubernetes.api.model.rbac.RoleBinding;
import java.io.IOException;
import java.nio.file.Files;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The chart's RBAC gives the operator exactly what its code calls (OperatorPermissions derives that from the
 * operator's JOSDK configuration): nothing missing, nothing spare, cluster-wide or only in watchNamespaces.
 */
class ChartRbacTest {

    private static Needs needs;

    @BeforeAll
    static void derive() {
        needs = OperatorPermissions.needs();
    }

    @Test
    void watchingAllNamespacesGrantsExactlyWhatTheOperatorCallsClusterWide() {
        assertExactly(render(template()), List.of(), true);
    }

    @Test
    void watchNamespacesGrantExactlyWhatTheOperatorCallsInThoseNamespacesOnly() {
        List<HasMetadata> objects =
                render(template().set("watchNamespaces[0]", "team-a").set("watchNamespaces[1]", "team-b"));
        assertExactly(objects, List.of("team-a", "team-b"), true);
        // the namespaced permissions reach the operator through one RoleBinding per watched namespace
        assertThat(ofType(objects, RoleBinding.class))
                .extracting(b -> b.getMetadata().getNamespace())
                .containsExactlyInAnyOrder("team-a", "team-b", NAMESPACE);
    }

    @Test
    void watchingTheReleaseNamespaceItselfKeepsTheLeaseApart() {
        assertExactly(render(template().set("watchNamespaces[0]", NAMESPACE)), List.of(NAMESPACE), true);
    }

    @Test
    void twoReleasesInOneNamespaceElectTheirLeadersWithLeasesOfTheirOwn() {
        List<HasMetadata> first = render(template().withName("edge"));
        List<HasMetadata> second = render(template().withName("internal"));
        String firstLease = OperatorPermissions.leaseName(only(first, Deployment.class));
        String secondLease = OperatorPermissions.leaseName(only(second, Deployment.class));
        assertThat(firstLease).isEqualTo("edge-roundhouse-leader");
        assertThat(secondLease).isEqualTo("internal-roundhouse-leader");
        // Each release's Role grants its operator its own Lease only (assertExactly derives the name from the env).
        assertExactly(first, List.of(), true);
        assertExactly(second, List.of(), true);
        assertThat(only(first, Role.class).getRules())
                .flatExtracting(r -> r.getResourceNames())
                .containsOnly(firstLease);
    }

    @Test
    void withoutLeaderElectionThereIsNoLeasePermission() {
        List<HasMetadata> objects =
                render(template().set("leaderElection", "false").set("replicas", "1"));
        assertExactly(objects, List.of(), false);
        assertThat(objects).noneMatch(o -> o instanceof Role);
    }

    @Test
    void anExistingServiceAccountGetsTheSamePermissions() {
        List<HasMetadata> objects = render(
                template().set("serviceAccount.create", "false").set("serviceAccount.name", "platform-operator"));
        assertThat(ofType(objects, ServiceAccount.class)).isEmpty();
        assertThat(only(objects, Deployment.class)
                        .getSpec()
                        .getTemplate()
                        .getSpec()
                        .getServiceAccountName())
                .isEqualTo("platform-operator");
        assertExactly(objects, List.of(), true); // granted() follows the Deployment's ServiceAccount
        assertThat(ofType(objects, ClusterRoleBinding.class)).isNotEmpty();
    }

    @Test
    void theOperatorsOwnApiCallsAreTheOnesTheNeedsList() {
        assertThat(OperatorPermissions.directApiCalls())
                .as("calls through the Kubernetes client outside JOSDK, by file: each needs its permission in "
                        + "OperatorPermissions.derive() and in the chart, then an entry in DIRECT_CALLS")
                .isEqualTo(new java.util.TreeMap<>(OperatorPermissions.DIRECT_CALLS));
    }

    /**
     * OperatorPermissions derives with JOSDK's default configuration service; RoundhouseOperator must not change
     * what decides the verbs (server-side apply or not, for dependents and for the status). How long its stop waits
     * for its executors, what it does when an informer stops, and how it copies an object for a reconcile decide none.
     */
    @Test
    void theOperatorKeepsJosdksDefaultWriteModes() throws IOException {
        String source = Files.readString(
                ChartFixture.ROOT.resolve("operator/src/main/java/dev/roundhouse/operator/RoundhouseOperator.java"));
        Matcher overrides = Pattern.compile("\\bo\\.(with\\w+)\\(").matcher(source);
        Set<String> found = new TreeSet<>();
        while (overrides.find()) {
            found.add(overrides.group(1));
        }
        assertThat(found)
                .as("ConfigurationServiceOverrider calls in RoundhouseOperator")
                .isNotEmpty()
                .isSubsetOf(
                        "withMetrics",
                        "withKubernetesClient",
                        "withLeaderElectionConfiguration",
                        "withReconciliationTerminationTimeout",
                        "withInformerStoppedHandler",
                        "withResourceCloner");
    }

    @Test
    void derivedNeedsFollowHowJosdkWritesEachDependent() {
        // What the workflow's dependents need, without the operator's own calls (Ownership relabels by patch).
        Set<String> watched = needs.watched().stream()
                .filter(n -> !n.why().startsWith("Ownership."))
                .map(n -> n.verb() + " " + n.resource())
                .collect(Collectors.toSet());
        // server-side apply: create and patch, never update
        assertThat(watched)
                .contains("create deployments", "patch deployments", "create roles", "patch roles")
                .doesNotContain("update deployments", "update roles");
        // ConfigMaps: JOSDK writes them without SSA by default
        assertThat(watched).contains("create configmaps", "update configmaps").doesNotContain("patch configmaps");
        // only the ServiceMonitor and the PodDisruptionBudget have a reconcile precondition, so only they are
        // deleted by the operator
        assertThat(watched.stream().filter(v -> v.startsWith("delete ")))
                .containsExactlyInAnyOrder("delete servicemonitors", "delete poddisruptionbudgets");
        // the serviceRef informers
        assertThat(watched).contains("watch endpointslices", "watch services");
        // one CRD, read by name, by JOSDK's activation condition and by ServiceMonitorCrd
        assertThat(needs.clusterScoped()).hasSize(2).allSatisfy(n -> {
            assertThat(n.verb()).isEqualTo("get");
            assertThat(n.resource()).isEqualTo("customresourcedefinitions");
            assertThat(n.resourceName()).isEqualTo("servicemonitors.monitoring.coreos.com");
        });
    }

    @Test
    void teamsWithTheBuiltInRolesMayUseLoadBalancersInTheirNamespaces() {
        List<ClusterRole> aggregated = ofType(render(template()), ClusterRole.class).stream()
                .filter(ChartFixture::aggregated)
                .toList();

        assertThat(aggregated)
                .extracting(r -> r.getMetadata().getName().replaceAll(".*-", ""))
                .containsExactlyInAnyOrder("view", "edit");
        ClusterRole view = aggregated.stream()
                .filter(r -> r.getMetadata().getName().endsWith("-view"))
                .findFirst()
                .orElseThrow();
        ClusterRole edit = aggregated.stream()
                .filter(r -> r.getMetadata().getName().endsWith("-edit"))
                .findFirst()
                .orElseThrow();
        assertThat(view.getMetadata().getLabels())
                .containsEntry("rbac.authorization.k8s.io/aggregate-to-view", "true")
                .doesNotContainKeys("rbac.authorization.k8s.io/aggregate-to-edit");
        assertThat(edit.getMetadata().getLabels())
                .containsEntry("rbac.authorization.k8s.io/aggregate-to-edit", "true")
                .containsEntry("rbac.authorization.k8s.io/aggregate-to-admin", "true");
        assertThat(verbs(view, "loadbalancers")).containsExactlyInAnyOrder("get", "list", "watch");
        assertThat(verbs(edit, "loadbalancers")).contains("create", "update", "patch", "delete", "get", "list");
        // The status is the operator's to write.
        assertThat(verbs(edit, "loadbalancers/status")).doesNotContain("create", "update", "patch", "delete");
        assertThat(aggregated)
                .allSatisfy(r -> assertThat(r.getRules())
                        .allSatisfy(rule -> assertThat(rule.getApiGroups()).containsExactly("roundhouse.dev")));

        assertThat(ofType(render(template().set("createAggregateRoles", "false")), ClusterRole.class))
                .noneMatch(ChartFixture::aggregated);
    }

    private static Set<String> verbs(ClusterRole role, String resource) {
        return role.getRules().stream()
                .filter(r -> r.getResources().contains(resource))
                .flatMap(r -> r.getVerbs().stream())
                .collect(Collectors.toSet());
    }

    private static void assertExactly(List<HasMetadata> objects, List<String> watchNamespaces, boolean leaderElection) {
        OperatorPermissions.assertGrantsExactly(objects, watchNamespaces, leaderElection);
    }
}
