package dev.roundhouse.e2e.testing;

import dev.roundhouse.e2e.local.LocalCluster;
import java.nio.file.Path;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * One {@link LocalCluster} for every end-to-end test class of the run (starting the operator takes seconds):
 * injected into test constructors or methods, stopped when the run ends. Each test class works in a namespace
 * of its own, so the classes do not see each other's objects.
 */
public final class SharedCluster implements ParameterResolver {

    @Override
    public boolean supportsParameter(ParameterContext parameter, ExtensionContext context) {
        return parameter.getParameter().getType() == LocalCluster.class;
    }

    @Override
    public Object resolveParameter(ParameterContext parameter, ExtensionContext context) {
        return context.getRoot()
                .getStore(ExtensionContext.Namespace.create(SharedCluster.class))
                .getOrComputeIfAbsent(
                        "cluster",
                        key -> new Holder(LocalCluster.start(LocalCluster.Options.forTests(Path.of("target", "e2e")))),
                        Holder.class)
                .cluster;
    }

    /** Closes the cluster when the root context closes, after the last test class. */
    private record Holder(LocalCluster cluster) implements ExtensionContext.Store.CloseableResource, AutoCloseable {
        @Override
        public void close() {
            cluster.close();
        }
    }
}
