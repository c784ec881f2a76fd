package dev.roundhouse.testing.apiserver;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.javaoperatorsdk.operator.api.config.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import java.lang.reflect.Proxy;

/**
 * A JOSDK {@link Context} with just what {@code SSABasedGenericKubernetesResourceMatcher.matches} reads in 5.2.3:
 * {@code getControllerConfiguration().fieldManager()} and {@code getClient()}. Anything else fails loudly.
 */
final class JosdkContexts {

    private JosdkContexts() {}

    @SuppressWarnings("unchecked")
    static Context<HasMetadata> forFieldManager(KubernetesClient client, String fieldManager) {
        ControllerConfiguration<HasMetadata> configuration =
                proxy(ControllerConfiguration.class, name -> switch (name) {
                    case "fieldManager", "getName" -> fieldManager;
                    default -> throw new UnsupportedOperationException(name);
                });
        return proxy(Context.class, name -> switch (name) {
            case "getControllerConfiguration" -> configuration;
            case "getClient" -> client;
            default -> throw new UnsupportedOperationException(name);
        });
    }

    private interface Answer {
        Object answer(String methodName);
    }

    @SuppressWarnings("rawtypes")
    private static <T> T proxy(Class type, Answer answer) {
        @SuppressWarnings("unchecked")
        T proxy = (T) Proxy.newProxyInstance(
                JosdkContexts.class.getClassLoader(),
                new Class<?>[] {type},
                (self, method, args) -> switch (method.getName()) {
                    case "toString" -> type.getSimpleName() + " for tests";
                    case "hashCode" -> System.identityHashCode(self);
                    case "equals" -> self == args[0];
                    default -> answer.answer(method.getName());
                });
        return proxy;
    }
}
