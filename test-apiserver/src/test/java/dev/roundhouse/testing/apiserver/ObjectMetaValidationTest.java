package dev.roundhouse.testing.apiserver;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.ServiceAccountBuilder;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.Status;
import io.fabric8.kubernetes.api.model.rbac.RoleBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Names, labels and annotations a real API server refuses are refused here too, on create, update, merge patch and
 * server-side apply, with its wording; so an operator that derives an invalid name fails locally as it would on a
 * cluster.
 */
class ObjectMetaValidationTest {

    private static EmbeddedApiServer server;
    private static KubernetesClient client;

    @BeforeAll
    static void start() {
        server = new EmbeddedApiServer().start();
        client = server.client();
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    @ParameterizedTest
    @ValueSource(
            strings = {"1shop", "shop.v2", "Shop", "a-name-of-sixty-four-characters-is-one-more-than-a-label-takes-xx"})
    void aServiceNameMustBeADns1035Label(String name) {
        Status status = Refused.asInvalid(() -> client.services()
                .inNamespace("default")
                .resource(new ServiceBuilder()
                        .withNewMetadata()
                        .withName(name)
                        .endMetadata()
                        .withNewSpec()
                        .addNewPort()
                        .withPort(80)
                        .endPort()
                        .endSpec()
                        .build())
                .create());

        assertThat(status.getMessage())
                .startsWith("Service \"" + name + "\" is invalid: ")
                .contains("metadata.name");
        assertThat(status.getDetails().getCauses())
                .allSatisfy(c -> assertThat(c.getField()).isEqualTo("metadata.name"));
    }

    @Test
    void otherNamesAreDns1123SubdomainsAndRbacNamesPathSegments() {
        client.configMaps()
                .inNamespace("default")
                .resource(new ConfigMapBuilder()
                        .withNewMetadata()
                        .withName("shop.v2-pool")
                        .endMetadata()
                        .build())
                .create();
        client.rbac()
                .roles()
                .inNamespace("default")
                .resource(new RoleBuilder()
                        .withNewMetadata()
                        .withName("system:Shop_Role")
                        .endMetadata()
                        .build())
                .create();

        Status status = Refused.asInvalid(() -> client.configMaps()
                .inNamespace("default")
                .resource(new ConfigMapBuilder()
                        .withNewMetadata()
                        .withName("Bad_Name")
                        .endMetadata()
                        .build())
                .create());
        assertThat(status.getMessage()).contains("a lowercase RFC 1123 subdomain must consist of");
        Refused.asInvalid(() -> client.rbac()
                .roles()
                .inNamespace("default")
                .resource(new RoleBuilder()
                        .withNewMetadata()
                        .withName("a/b")
                        .endMetadata()
                        .build())
                .create());
    }

    @Test
    void labelKeysAndValuesAndAnnotationKeysAreChecked() {
        Status longValue = Refused.asInvalid(() -> client.serviceAccounts()
                .inNamespace("default")
                .resource(new ServiceAccountBuilder()
                        .withNewMetadata()
                        .withName("sa1")
                        .withLabels(Map.of("app.kubernetes.io/instance", "x".repeat(64)))
                        .endMetadata()
                        .build())
                .create());
        assertThat(longValue.getMessage()).contains("metadata.labels").contains("must be no more than 63 characters");

        Refused.asInvalid(() -> client.serviceAccounts()
                .inNamespace("default")
                .resource(new ServiceAccountBuilder()
                        .withNewMetadata()
                        .withName("sa2")
                        .withLabels(Map.of("bad key", "v"))
                        .endMetadata()
                        .build())
                .create());
        Refused.asInvalid(() -> client.serviceAccounts()
                .inNamespace("default")
                .resource(new ServiceAccountBuilder()
                        .withNewMetadata()
                        .withName("sa3")
                        .withLabels(Map.of("k", "-starts-with-a-dash"))
                        .endMetadata()
                        .build())
                .create());
        Status annotation = Refused.asInvalid(() -> client.serviceAccounts()
                .inNamespace("default")
                .resource(new ServiceAccountBuilder()
                        .withNewMetadata()
                        .withName("sa4")
                        .withAnnotations(Map.of("not a key!", "v"))
                        .endMetadata()
                        .build())
                .create());
        assertThat(annotation.getMessage()).contains("metadata.annotations").contains("name part must consist of");

        client.serviceAccounts()
                .inNamespace("default")
                .resource(new ServiceAccountBuilder()
                        .withNewMetadata()
                        .withName("sa5")
                        .withLabels(Map.of("example.com/Part_1.x", "My_Value-1", "empty", ""))
                        .withAnnotations(Map.of("Mixed.Case/Key", "any value at all: spaces, / and ünicode"))
                        .endMetadata()
                        .build())
                .create();
    }

    @Test
    void patchesAndAppliesAreCheckedToo() {
        client.serviceAccounts()
                .inNamespace("default")
                .resource(new ServiceAccountBuilder()
                        .withNewMetadata()
                        .withName("patched")
                        .endMetadata()
                        .build())
                .create();

        Refused.asInvalid(() -> client.serviceAccounts()
                .inNamespace("default")
                .withName("patched")
                .edit(sa -> new ServiceAccountBuilder(sa)
                        .editMetadata()
                        .addToLabels("k", "bad value")
                        .endMetadata()
                        .build()));
        Refused.asInvalid(() -> client.serviceAccounts()
                .inNamespace("default")
                .resource(new ServiceAccountBuilder()
                        .withNewMetadata()
                        .withName("applied")
                        .addToLabels("k", "bad value")
                        .endMetadata()
                        .build())
                .fieldManager("test")
                .forceConflicts()
                .serverSideApply());
    }
}
