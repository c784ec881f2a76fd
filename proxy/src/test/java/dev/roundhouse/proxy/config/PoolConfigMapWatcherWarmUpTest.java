package dev.roundhouse.proxy.config;

import dev.roundhouse.poolformat.PoolDocumentCodec;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class PoolConfigMapWatcherWarmUpTest {

    /** The warm-up only helps if it runs the path a real event takes: a typed ConfigMap with a valid pool document. */
    @Test
    void theWarmUpDecodesAPoolConfigMapAsTheWatchDoes() throws Exception {
        Object decoded = PoolConfigMapWatcher.warmUp(new KubernetesSerialization(), 3);

        assertThat(decoded).isInstanceOf(ConfigMap.class);
        ConfigMap configMap = (ConfigMap) decoded;
        assertThat(PoolDocumentCodec.parse(configMap.getData().get(PoolConfigMapWatcher.POOL_KEY)).backends()).hasSize(3);
        assertThat(configMap.getMetadata().getOwnerReferences()).singleElement()
                .satisfies(owner -> assertThat(owner.getKind()).isEqualTo("LoadBalancer"));
    }

    @Test
    void zeroRoundsDecodeNothing() {
        assertThat(PoolConfigMapWatcher.warmUp(new KubernetesSerialization(), 0)).isNull();
    }
}
