package dev.roundhouse.testing.apiserver;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.mockwebserver.crud.Attribute;
import io.fabric8.mockwebserver.crud.AttributeSet;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.junit.jupiter.api.Test;

/**
 * A cluster's garbage collector reads an object again and deletes it with a uid precondition, so an object written or
 * created again under the name since it was judged garbage stays. The collector here judges a snapshot of the store
 * and deletes by path: the object at the path must still be the one it judged.
 */
class GarbageCollectorRaceTest {

    private static AttributeSet key(String name) {
        return new AttributeSet(new Attribute("name", name));
    }

    private static String configMap(String name, String uid, String ownerUid) {
        return """
                {"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"%s","namespace":"default","uid":"%s",\
                "ownerReferences":[{"apiVersion":"v1","kind":"ConfigMap","name":"owner","uid":"%s"}]}}""".formatted(name, uid, ownerUid);
    }

    @Test
    void anObjectCreatedAgainUnderTheNameSinceItWasJudgedGarbageStays() {
        Map<AttributeSet, String> store = new HashMap<>();
        store.put(key("owner"), """
                {"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"owner","namespace":"default","uid":"o-2"}}""");
        // Two dependents of an owner that is gone (uid o-1; the one named "owner" now is another object, o-2).
        store.put(key("a"), configMap("a", "a-1", "o-1"));
        store.put(key("b"), configMap("b", "b-1", "o-1"));
        ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
        List<String> deleted = new ArrayList<>();
        GarbageCollector collector = new GarbageCollector(store, lock, () -> Discovery.BUILT_IN, path -> {
            String name = path.substring(path.lastIndexOf('/') + 1);
            deleted.add(name);
            store.remove(key(name));
            // Meanwhile, whichever of the two is still there is deleted by its user and created again, owned by the
            // owner that exists.
            String other = name.equals("a") ? "b" : "a";
            if (store.containsKey(key(other))) {
                store.put(key(other), configMap(other, other + "-2", "o-2"));
            }
        });

        collector.collect();

        assertThat(deleted).as("deleted").hasSize(1);
        String survivor = deleted.get(0).equals("a") ? "b" : "a";
        assertThat(store.get(key(survivor))).contains("\"uid\":\"" + survivor + "-2\"");
        collector.close();
    }
}
