package dev.roundhouse.testing.apiserver;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.client.KubernetesClient;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class WriteCountTest {

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

    @Test
    void everyRequestButGetIsAWrite() {
        server.resetWriteCount();

        client.resource(Desired.configMap("counted")).create();
        client.configMaps().withName("counted").get();
        client.configMaps().list();
        client.configMaps().withName("counted").edit(cm -> {
            cm.getData().put("extra", "1");
            return cm;
        });
        client.resource(Desired.configMap("counted"))
                .fieldManager("x")
                .forceConflicts()
                .serverSideApply();
        client.resource(Desired.configMap("counted")).update();
        client.configMaps().withName("counted").delete();

        assertThat(server.writeCount()).isEqualTo(5);
        assertThat(server.writes())
                .extracting(Write::method)
                .containsExactly("POST", "PATCH", "PATCH", "PUT", "DELETE");
        assertThat(server.writes().get(0).path()).isEqualTo("/api/v1/namespaces/default/configmaps");
        assertThat(server.writes().get(1).contentType()).startsWith("application/json-patch+json");
        assertThat(server.writes().get(2).path()).endsWith("/configmaps/counted?fieldManager=x&force=true");
        assertThat(server.writes().get(2).contentType()).startsWith("application/apply-patch+yaml");
    }

    @Test
    void aNoOpApplyIsStillARequestSoTestsCanCatchIt() {
        ConfigMap desired = Desired.configMap("noop");
        client.resource(desired).fieldManager("x").forceConflicts().serverSideApply();
        server.resetWriteCount();
        assertThat(server.writeCount()).isZero();

        client.configMaps().withName("noop").get();
        assertThat(server.writes()).isEmpty();

        client.resource(Desired.configMap("noop"))
                .fieldManager("x")
                .forceConflicts()
                .serverSideApply();
        assertThat(server.writeCount()).isEqualTo(1);

        server.resetWriteCount();
        assertThat(server.writes()).isEmpty();
    }
}
