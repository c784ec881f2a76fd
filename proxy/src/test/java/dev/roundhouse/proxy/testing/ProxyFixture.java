package dev.roundhouse.proxy.testing;

import dev.roundhouse.proxy.RoundhouseProxy;
import dev.roundhouse.proxy.config.ProxySettings;
import dev.roundhouse.testing.Http;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.net.http.HttpResponse;
import java.time.Clock;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Supplier;

/** Starts the real proxy in-process on ephemeral loopback ports. */
public final class ProxyFixture {

    private ProxyFixture() {}

    /** Environment for a proxy on ephemeral loopback ports; callers add BACKENDS, POOL_FILE or POOL_CONFIGMAP. */
    public static Map<String, String> env(String... keyValues) {
        Map<String, String> env = new HashMap<>();
        env.put("PORT", "0");
        env.put("METRICS_PORT", "0");
        env.put("BIND_ADDRESS", "127.0.0.1");
        env.put("SHUTDOWN_TIMEOUT", "10s");
        env.put("SHUTDOWN_DELAY", "0s"); // tests of the delay set it
        for (int i = 0; i < keyValues.length; i += 2) {
            env.put(keyValues[i], keyValues[i + 1]);
        }
        return env;
    }

    public static RoundhouseProxy start(Map<String, String> env) {
        return start(env, Clock.systemUTC());
    }

    public static RoundhouseProxy start(Map<String, String> env, Clock clock) {
        try {
            return RoundhouseProxy.start(ProxySettings.fromEnvironment(env), clock);
        } catch (Exception e) {
            throw new IllegalStateException("proxy did not start: " + e.getMessage(), e);
        }
    }

    /** With POOL_CONFIGMAP: the proxy takes (and closes) a client from {@code kubernetesClients}. */
    public static RoundhouseProxy start(Map<String, String> env, Supplier<KubernetesClient> kubernetesClients) {
        try {
            return RoundhouseProxy.start(ProxySettings.fromEnvironment(env), Clock.systemUTC(), kubernetesClients);
        } catch (Exception e) {
            throw new IllegalStateException("proxy did not start: " + e.getMessage(), e);
        }
    }

    public static String url(RoundhouseProxy proxy, String path) {
        return "http://127.0.0.1:" + proxy.port() + path;
    }

    public static HttpResponse<String> get(RoundhouseProxy proxy, String path) {
        return Http.get(url(proxy, path));
    }

    public static String metrics(RoundhouseProxy proxy) {
        return Http.get("http://127.0.0.1:" + proxy.metricsPort() + "/metrics").body();
    }
}
