package dev.roundhouse.bench.load;

import dev.roundhouse.testing.ResponseReader;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * Picks which backend answered out of a response head, as a {@link BackendIds} id, with no allocation: the value of
 * one chosen field (the backends' own name header), 0 when absent or when no field is chosen.
 */
final class BackendField implements ResponseReader.Fields {

    private final byte[] name;
    private final BackendIds ids;
    private int backend;

    /** @param name the field's name (any case), or null to pick nothing */
    BackendField(String name, BackendIds ids) {
        this.name = name == null ? null : name.toLowerCase(Locale.ROOT).getBytes(StandardCharsets.US_ASCII);
        this.ids = ids;
    }

    /** Forgets the last response's backend. */
    void reset() {
        backend = 0;
    }

    int backend() {
        return backend;
    }

    @Override
    public void field(byte[] buf, int nameFrom, int nameTo, int valueFrom, int valueTo) {
        if (name != null && ResponseReader.nameIs(name, buf, nameFrom, nameTo)) {
            backend = ids.id(buf, valueFrom, valueTo - valueFrom);
        }
    }
}
