package dev.roundhouse.operator.model;

import static dev.roundhouse.operator.model.TestLoadBalancers.assertOwnMetadata;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.entry;

import dev.roundhouse.operator.api.v1alpha1.LoadBalancer;
import io.fabric8.kubernetes.api.model.ConfigMap;
import org.junit.jupiter.api.Test;

class PoolConfigMapsTest {

    @Test
    void holdsTheDocumentUnderPoolJson() throws Exception {
        LoadBalancer lb = TestLoadBalancers.web();
        String text = PoolDocuments.render(PoolDocuments.fromSpec(lb.getSpec(), null));

        ConfigMap cm = PoolConfigMaps.desired(lb, text);

        assertThat(cm.getApiVersion()).isEqualTo("v1");
        assertThat(cm.getKind()).isEqualTo("ConfigMap");
        assertOwnMetadata(cm, lb, "web-pool");
        assertThat(cm.getMetadata().getLabels()).containsExactlyEntriesOf(Labels.all(lb));
        assertThat(cm.getData()).containsExactly(entry("pool.json", text));
        assertThat(cm.getBinaryData()).isNullOrEmpty();
    }
}
