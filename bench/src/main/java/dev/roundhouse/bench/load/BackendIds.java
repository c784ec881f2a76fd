package dev.roundhouse.bench.load;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Small ids (1, 2, ...) for the values of the header that names the backend (e.g. {@code X-Backend: b2}), so that
 * recording which backend answered costs no allocation. 0 means "no such header". Shared by all connections;
 * lookups read an immutable array, and only a value never seen before takes the lock.
 */
public final class BackendIds {

    private volatile byte[][] values = new byte[0][];

    /** The id of the value in {@code bytes[offset, offset + length)}, registering it when new. */
    int id(byte[] bytes, int offset, int length) {
        byte[][] known = values;
        for (int i = 0; i < known.length; i++) {
            if (Arrays.equals(known[i], 0, known[i].length, bytes, offset, offset + length)) {
                return i + 1;
            }
        }
        return register(Arrays.copyOfRange(bytes, offset, offset + length));
    }

    /** The id of {@code value}, registering it when new (so that names can be looked up before any response). */
    public int id(String value) {
        byte[] bytes = value.getBytes(StandardCharsets.US_ASCII);
        return id(bytes, 0, bytes.length);
    }

    private synchronized int register(byte[] value) {
        byte[][] known = values;
        for (int i = 0; i < known.length; i++) {
            if (Arrays.equals(known[i], value)) {
                return i + 1;
            }
        }
        byte[][] grown = Arrays.copyOf(known, known.length + 1);
        grown[known.length] = value;
        values = grown;
        return grown.length;
    }

    /** The value of {@code id}, "-" for 0. */
    public String name(int id) {
        if (id == 0) {
            return "-";
        }
        return new String(values[id - 1], StandardCharsets.US_ASCII);
    }

    /** All values seen, in id order. */
    public List<String> names() {
        List<String> names = new ArrayList<>();
        for (byte[] v : values) {
            names.add(new String(v, StandardCharsets.US_ASCII));
        }
        return names;
    }
}
