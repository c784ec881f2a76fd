package dev.roundhouse.testing.apiserver;

import java.net.URISyntaxException;
import java.nio.file.Path;

/** Files under src/test/resources. */
final class TestFiles {

    static final Path WIDGET_CRD = resource("crds/widgets.test.roundhouse.dev-v1.yml");
    static final Path SERVICE_MONITOR_CRD = resource("crds/servicemonitors.monitoring.coreos.com-v1.yml");
    static final Path GADGET_CRD = resource("crds/gadgets.test.roundhouse.dev-v1.yml");
    /** The project's own CRD and sample, as users apply them (Surefire runs in the module's directory). */
    static final Path LOAD_BALANCER_CRD = Path.of("..", "crds", "loadbalancers.roundhouse.dev-v1.yml");

    static final Path LOAD_BALANCER_SAMPLE = Path.of("..", "samples", "loadbalancer.yaml");

    private TestFiles() {}

    static Path resource(String name) {
        try {
            return Path.of(TestFiles.class.getClassLoader().getResource(name).toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }
}
