package dev.roundhouse.testing.apiserver;

import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.Namespaced;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.model.annotation.Group;
import io.fabric8.kubernetes.model.annotation.ShortNames;
import io.fabric8.kubernetes.model.annotation.Version;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** The test custom resource of src/test/resources/crds/widgets.test.roundhouse.dev-v1.yml. */
@Group("test.roundhouse.dev")
@Version("v1")
@ShortNames("wg")
public class Widget extends CustomResource<Widget.Spec, Widget.Status> implements Namespaced {

    static Widget named(String name, int port, String... tags) {
        Widget widget = new Widget();
        widget.getMetadata().setName(name);
        widget.getMetadata().setLabels(new HashMap<>(Map.of("app", name)));
        Spec spec = new Spec();
        spec.setPort(port);
        spec.setTags(new ArrayList<>(List.of(tags)));
        spec.setBackends(new ArrayList<>(List.of(new Backend("a", "10.0.0.1"), new Backend("b", "10.0.0.2"))));
        widget.setSpec(spec);
        return widget;
    }

    public static class Spec {
        private Integer port;
        private List<String> tags;
        private List<Backend> backends;

        public Integer getPort() {
            return port;
        }

        public void setPort(Integer port) {
            this.port = port;
        }

        public List<String> getTags() {
            return tags;
        }

        public void setTags(List<String> tags) {
            this.tags = tags;
        }

        public List<Backend> getBackends() {
            return backends;
        }

        public void setBackends(List<Backend> backends) {
            this.backends = backends;
        }
    }

    public static class Backend {
        private String name;
        private String address;

        public Backend() {}

        Backend(String name, String address) {
            this.name = name;
            this.address = address;
        }

        public String getName() {
            return name;
        }

        public void setName(String name) {
            this.name = name;
        }

        public String getAddress() {
            return address;
        }

        public void setAddress(String address) {
            this.address = address;
        }
    }

    public static class Status {
        private Integer backends;
        private List<Condition> conditions;

        public Integer getBackends() {
            return backends;
        }

        public void setBackends(Integer backends) {
            this.backends = backends;
        }

        public List<Condition> getConditions() {
            return conditions;
        }

        public void setConditions(List<Condition> conditions) {
            this.conditions = conditions;
        }
    }
}
