package dev.roundhouse.testing.apiserver;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ConditionBuilder;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ManagedFieldsEntry;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.javaoperatorsdk.operator.Operator;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import io.javaoperatorsdk.operator.api.reconciler.Workflow;
import io.javaoperatorsdk.operator.api.reconciler.dependent.Dependent;
import io.javaoperatorsdk.operator.processing.dependent.kubernetes.CRUDKubernetesDependentResource;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A real JOSDK 5.2.3 operator in its default modes (SSA for dependents and for the primary's status) against the
 * embedded server: once everything is in place, a reconcile must write nothing; a spec change must be applied.
 */
class OperatorNoOpReconcileTest {

    private static final String CONTROLLER = "widget-controller";

    private EmbeddedApiServer server;
    private KubernetesClient client;

    @BeforeEach
    void start() {
        server = new EmbeddedApiServer().start();
        client = server.client();
        server.applyCrds(TestFiles.WIDGET_CRD);
    }

    @AfterEach
    void stop() {
        server.close();
    }

    @Test
    void aReconcileOfAnUnchangedWidgetWritesNothing() throws InterruptedException {
        client.resource(Widget.named("shop", 8080)).create();

        // First operator: creates the dependents and writes the status.
        WidgetReconciler first = new WidgetReconciler();
        Operator operator = start(first);
        try {
            client.resources(Widget.class)
                    .withName("shop")
                    .waitUntilCondition(w -> w != null && w.getStatus() != null, 30, TimeUnit.SECONDS);
        } finally {
            operator.stop();
        }
        Deployment deployment = client.apps().deployments().withName("shop").get();
        Service service = client.services().withName("shop").get();
        assertThat(client.configMaps().withName("shop").get()).isNotNull();
        assertThat(deployment.getMetadata().getManagedFields())
                .extracting(ManagedFieldsEntry::getManager)
                .containsExactly(CONTROLLER);
        assertThat(service.getMetadata().getManagedFields())
                .extracting(ManagedFieldsEntry::getManager)
                .containsExactly(CONTROLLER);
        assertThat(deployment.getMetadata().getOwnerReferences())
                .singleElement()
                .satisfies(o -> assertThat(o.getName()).isEqualTo("shop"));

        // Second operator: its start-up reconcile finds everything as desired.
        server.resetWriteCount();
        WidgetReconciler second = new WidgetReconciler();
        operator = start(second);
        try {
            second.await("noUpdate shop");
            assertThat(server.writes()).as("writes of a no-op reconcile").isEmpty();

            // A spec change is applied to the Service with SSA, and nothing else is written.
            client.resources(Widget.class).withName("shop").edit(w -> {
                w.getSpec().setPort(9090);
                return w;
            });
            client.services()
                    .withName("shop")
                    .waitUntilCondition(
                            s -> s.getSpec().getPorts().get(0).getTargetPort().getIntVal() == 9090,
                            30,
                            TimeUnit.SECONDS);
            second.await("noUpdate shop");
        } finally {
            operator.stop();
        }
        assertThat(server.writes())
                .extracting(Write::method, Write::path)
                .containsExactly(
                        org.assertj.core.groups.Tuple.tuple(
                                "PATCH", "/apis/test.roundhouse.dev/v1/namespaces/default/widgets/shop"),
                        org.assertj.core.groups.Tuple.tuple(
                                "PATCH",
                                "/api/v1/namespaces/default/services/shop?fieldManager=" + CONTROLLER + "&force=true"));
    }

    private Operator start(WidgetReconciler reconciler) {
        Operator operator =
                new Operator(o -> o.withKubernetesClient(server.newClient()).withCloseClientOnStop(true));
        operator.register(reconciler);
        operator.start();
        return operator;
    }

    @ControllerConfiguration(name = CONTROLLER)
    @Workflow(
            dependents = {
                @Dependent(type = WidgetConfigMap.class),
                @Dependent(type = WidgetDeployment.class),
                @Dependent(type = WidgetService.class)
            })
    public static class WidgetReconciler implements Reconciler<Widget> {

        private final BlockingQueue<String> outcomes = new LinkedBlockingQueue<>();

        @Override
        public UpdateControl<Widget> reconcile(Widget widget, Context<Widget> context) {
            Widget.Status wanted = new Widget.Status();
            wanted.setBackends(widget.getSpec().getBackends().size());
            wanted.setConditions(List.of(
                    new ConditionBuilder().withType("Ready").withStatus("True").build()));
            String name = widget.getMetadata().getName();
            if (sameStatus(widget.getStatus(), wanted)) {
                outcomes.add("noUpdate " + name);
                return UpdateControl.noUpdate();
            }
            Widget patch = new Widget();
            patch.getMetadata().setName(name);
            patch.getMetadata().setNamespace(widget.getMetadata().getNamespace());
            patch.setStatus(wanted);
            outcomes.add("patchStatus " + name);
            return UpdateControl.patchStatus(patch);
        }

        private static boolean sameStatus(Widget.Status actual, Widget.Status wanted) {
            if (actual == null
                    || actual.getConditions() == null
                    || actual.getConditions().size() != 1) {
                return false;
            }
            Condition condition = actual.getConditions().get(0);
            return wanted.getBackends().equals(actual.getBackends())
                    && "Ready".equals(condition.getType())
                    && "True".equals(condition.getStatus());
        }

        void await(String outcome) throws InterruptedException {
            for (int i = 0; i < 100; i++) {
                String next = outcomes.poll(30, TimeUnit.SECONDS);
                assertThat(next)
                        .as("reconcile outcome, waiting for %s", outcome)
                        .isNotNull();
                if (next.equals(outcome)) {
                    return;
                }
            }
            throw new AssertionError("no " + outcome);
        }
    }

    public static class WidgetConfigMap extends CRUDKubernetesDependentResource<ConfigMap, Widget> {
        public WidgetConfigMap() {
            super(ConfigMap.class);
        }

        @Override
        protected ConfigMap desired(Widget widget, Context<Widget> context) {
            ConfigMap cm = Desired.configMap(widget.getMetadata().getName());
            cm.getMetadata().setNamespace(widget.getMetadata().getNamespace());
            return cm;
        }
    }

    public static class WidgetDeployment extends CRUDKubernetesDependentResource<Deployment, Widget> {
        public WidgetDeployment() {
            super(Deployment.class);
        }

        @Override
        protected Deployment desired(Widget widget, Context<Widget> context) {
            Deployment deployment = Desired.deployment(widget.getMetadata().getName());
            deployment.getMetadata().setNamespace(widget.getMetadata().getNamespace());
            return deployment;
        }
    }

    public static class WidgetService extends CRUDKubernetesDependentResource<Service, Widget> {
        public WidgetService() {
            super(Service.class);
        }

        @Override
        protected Service desired(Widget widget, Context<Widget> context) {
            Service service = Desired.service(widget.getMetadata().getName());
            service.getMetadata().setNamespace(widget.getMetadata().getNamespace());
            service.getSpec()
                    .getPorts()
                    .get(0)
                    .setTargetPort(new io.fabric8.kubernetes.api.model.IntOrString(
                            widget.getSpec().getPort()));
            return service;
        }
    }
}
