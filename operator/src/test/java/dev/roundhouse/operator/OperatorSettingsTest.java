package dev.roundhouse.operator;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The settings the operator reads from its environment: valid values as docs/install.md lists them, nothing else. */
class OperatorSettingsTest {

    private static final String NAMESPACE_RULE = "(a DNS-1123 label: at most 63 lower-case letters, digits and '-', "
            + "starting and ending with a letter or digit)";

    /** The problems {@link OperatorSettings#fromEnvironment} reports for {@code env}, none when it accepts it. */
    static List<String> problems(Map<String, String> env) {
        try {
            OperatorSettings.fromEnvironment(env);
            return List.of();
        } catch (InvalidSettingsException e) {
            return e.problems();
        }
    }

    @Test
    void defaultsWithNothingSet() {
        OperatorSettings s = OperatorSettings.fromEnvironment(Map.of());

        assertThat(s.watchesAllNamespaces()).isTrue();
        assertThat(s.proxyImage()).isEqualTo(OperatorSettings.DEFAULT_PROXY_IMAGE);
        assertThat(s.logLevel()).isEqualTo("info");
        assertThat(s.logFormat()).isEqualTo("text");
        assertThat(s.libraryLogLevel()).isNull();
        assertThat(s.httpPort()).isEqualTo(8081);
        assertThat(s.leaderElection()).isTrue();
        assertThat(s.leaseNamespace()).isEqualTo("default");
        assertThat(s.leaseName()).isEqualTo(OperatorSettings.DEFAULT_LEASE_NAME);
    }

    @Test
    void theLeaseIsAnyObjectName() {
        assertThat(OperatorSettings.fromEnvironment(Map.of("LEADER_ELECTION_LEASE", " edge.roundhouse-leader "))
                        .leaseName())
                .isEqualTo("edge.roundhouse-leader");
        assertThat(problems(Map.of("LEADER_ELECTION_LEASE", "Roundhouse_Leader")))
                .singleElement()
                .asString()
                .startsWith("LEADER_ELECTION_LEASE: 'Roundhouse_Leader' is not a Lease name (a DNS-1123 subdomain");
        assertThat(problems(Map.of("LEADER_ELECTION_LEASE", "a".repeat(254)))).hasSize(1);
    }

    @Test
    void blankMeansUnset() {
        Map<String, String> env = new HashMap<>();
        for (String name : List.of(
                "WATCH_NAMESPACES",
                "PROXY_IMAGE",
                "LOG_LEVEL",
                "LOG_FORMAT",
                "LIBRARY_LOG_LEVEL",
                "HTTP_PORT",
                "LEADER_ELECTION",
                "LEADER_ELECTION_LEASE",
                "POD_NAMESPACE")) {
            env.put(name, " ");
        }
        assertThat(OperatorSettings.fromEnvironment(env)).isEqualTo(OperatorSettings.fromEnvironment(Map.of()));
    }

    @Test
    void logFormatIsTextOrJson() {
        assertThat(problems(Map.of("LOG_FORMAT", "xml")))
                .containsExactly("LOG_FORMAT: must be text or json, got 'xml'");
        assertThat(OperatorSettings.fromEnvironment(Map.of("LOG_FORMAT", " JSON "))
                        .logFormat())
                .isEqualTo("json");
        assertThat(OperatorSettings.fromEnvironment(Map.of("LOG_FORMAT", "text"))
                        .logFormat())
                .isEqualTo("text");
    }

    @Test
    void leaderElectionIsTrueOrFalse() {
        assertThat(problems(Map.of("LEADER_ELECTION", "maybe")))
                .containsExactly("LEADER_ELECTION: must be true or false, got 'maybe'");
        assertThat(problems(Map.of("LEADER_ELECTION", "1"))).hasSize(1);
        assertThat(problems(Map.of("LEADER_ELECTION", "yes"))).hasSize(1);
        assertThat(OperatorSettings.fromEnvironment(Map.of("LEADER_ELECTION", "FALSE"))
                        .leaderElection())
                .isFalse();
        assertThat(OperatorSettings.fromEnvironment(Map.of("LEADER_ELECTION", " True "))
                        .leaderElection())
                .isTrue();
    }

    @Test
    void watchNamespacesAreNamespaceNames() {
        assertThat(OperatorSettings.fromEnvironment(Map.of("WATCH_NAMESPACES", " shop , payments,team-a1 "))
                        .watchNamespaces())
                .containsExactlyInAnyOrder("shop", "payments", "team-a1");
        String longest = "a".repeat(63);
        assertThat(OperatorSettings.fromEnvironment(Map.of("WATCH_NAMESPACES", longest))
                        .watchNamespaces())
                .containsExactly(longest);

        assertThat(problems(Map.of("WATCH_NAMESPACES", "shop, Bad_NS")))
                .containsExactly("WATCH_NAMESPACES: 'Bad_NS' is not a namespace name " + NAMESPACE_RULE);
        assertThat(problems(Map.of("WATCH_NAMESPACES", "a".repeat(64))))
                .singleElement()
                .asString()
                .startsWith("WATCH_NAMESPACES: '" + "a".repeat(64) + "' is not a namespace name");
        assertThat(problems(Map.of("WATCH_NAMESPACES", "-shop,shop-,sh.op,shop")))
                .hasSize(3);
        assertThat(problems(Map.of("WATCH_NAMESPACES", "shop,,payments")))
                .containsExactly("WATCH_NAMESPACES: an empty name in 'shop,,payments'");
    }

    @Test
    void logLevelsArePlainLevelNames() {
        assertThat(OperatorSettings.fromEnvironment(Map.of("LOG_LEVEL", "DEBUG", "LIBRARY_LOG_LEVEL", " Warn ")))
                .extracting(OperatorSettings::logLevel, OperatorSettings::libraryLogLevel)
                .containsExactly("debug", "warn");
        assertThat(problems(Map.of("LOG_LEVEL", "chatty")))
                .containsExactly("LOG_LEVEL: must be one of trace, debug, info, warn, error, off, got 'chatty'");
        assertThat(problems(Map.of("LIBRARY_LOG_LEVEL", "verbose")))
                .containsExactly(
                        "LIBRARY_LOG_LEVEL: must be one of trace, debug, info, warn, error, off, got 'verbose'");
    }

    @Test
    void httpPortIsAPortNumber() {
        assertThat(OperatorSettings.fromEnvironment(Map.of("HTTP_PORT", "9000")).httpPort())
                .isEqualTo(9000);
        assertThat(problems(Map.of("HTTP_PORT", "x"))).containsExactly("HTTP_PORT: must be an integer, got 'x'");
        assertThat(problems(Map.of("HTTP_PORT", "65536")))
                .containsExactly("HTTP_PORT: must be between 0 and 65535, got '65536'");
    }

    @Test
    void proxyImagePullSecretsAreSecretNames() {
        assertThat(OperatorSettings.fromEnvironment(Map.of()).proxyImagePullSecrets())
                .isEmpty();
        assertThat(OperatorSettings.fromEnvironment(
                                Map.of("PROXY_IMAGE_PULL_SECRETS", " regcred, mirror.example ," + "regcred,"))
                        .proxyImagePullSecrets())
                .containsExactly("regcred", "mirror.example");
        assertThat(problems(Map.of("PROXY_IMAGE_PULL_SECRETS", "regcred,Reg_Cred")))
                .containsExactly("PROXY_IMAGE_PULL_SECRETS: 'Reg_Cred' is not a Secret name (a DNS-1123 subdomain: "
                        + "lower-case letters, digits, '-' and '.', starting and ending with a letter or digit)");
    }

    @Test
    void proxyImageAndPodNamespace() {
        assertThat(OperatorSettings.fromEnvironment(
                        Map.of("PROXY_IMAGE", " registry.example/proxy:2 ", "POD_NAMESPACE", "roundhouse-system")))
                .extracting(OperatorSettings::proxyImage, OperatorSettings::leaseNamespace)
                .containsExactly("registry.example/proxy:2", "roundhouse-system");
        assertThat(problems(Map.of("PROXY_IMAGE", "registry.example/proxy :2")))
                .containsExactly("PROXY_IMAGE: must not contain whitespace, got 'registry.example/proxy :2'");
        assertThat(problems(Map.of("POD_NAMESPACE", "Roundhouse")))
                .containsExactly("POD_NAMESPACE: 'Roundhouse' is not a namespace name " + NAMESPACE_RULE);
    }

    @Test
    void everyProblemIsReportedEachOnItsOwn() {
        Map<String, String> env = Map.of(
                "WATCH_NAMESPACES",
                "shop,Bad_NS",
                "PROXY_IMAGE",
                "a b",
                "LOG_LEVEL",
                "chatty",
                "LOG_FORMAT",
                "xml",
                "LIBRARY_LOG_LEVEL",
                "loud",
                "HTTP_PORT",
                "-1",
                "LEADER_ELECTION",
                "maybe",
                "POD_NAMESPACE",
                "_");

        List<String> problems = problems(env);

        assertThat(problems).hasSize(8);
        assertThat(problems)
                .extracting(p -> p.substring(0, p.indexOf(':')))
                .containsExactly(
                        "WATCH_NAMESPACES",
                        "PROXY_IMAGE",
                        "LOG_LEVEL",
                        "LOG_FORMAT",
                        "LIBRARY_LOG_LEVEL",
                        "HTTP_PORT",
                        "LEADER_ELECTION",
                        "POD_NAMESPACE");
        assertThat(problems).allSatisfy(p -> assertThat(p).doesNotContain("\n"));
        assertThat(problems)
                .zipSatisfy(
                        List.of("Bad_NS", "a b", "chatty", "xml", "loud", "-1", "maybe", "_"),
                        (problem, value) -> assertThat(problem).contains("'" + value + "'"));
    }
}
