package dev.roundhouse.bench.load;

import java.util.ArrayList;
import java.util.List;

/**
 * The requests of one connection, in order, in chunks of primitive arrays so that recording allocates only once per
 * {@value #CHUNK} requests.
 */
final class EventLog {

    private static final int CHUNK = 16384;

    private final List<long[]> dues = new ArrayList<>();
    private final List<long[]> sents = new ArrayList<>();
    private final List<long[]> dones = new ArrayList<>();
    private final List<int[]> metas = new ArrayList<>();
    private int size;

    void add(long due, long sent, long done, int backend, Outcome outcome, int status) {
        int slot = size % CHUNK;
        if (slot == 0) {
            dues.add(new long[CHUNK]);
            sents.add(new long[CHUNK]);
            dones.add(new long[CHUNK]);
            metas.add(new int[CHUNK]);
        }
        int chunk = size / CHUNK;
        dues.get(chunk)[slot] = due;
        sents.get(chunk)[slot] = sent;
        dones.get(chunk)[slot] = done;
        metas.get(chunk)[slot] = (Math.min(status, 0xFFFF) << 16) | (outcome.ordinal() << 8) | Math.min(backend, 0xFF);
        size++;
    }

    int size() {
        return size;
    }

    void addTo(int connection, List<RequestEvent> out) {
        for (int i = 0; i < size; i++) {
            int chunk = i / CHUNK;
            int slot = i % CHUNK;
            int meta = metas.get(chunk)[slot];
            out.add(new RequestEvent(
                    connection,
                    dues.get(chunk)[slot],
                    sents.get(chunk)[slot],
                    dones.get(chunk)[slot],
                    meta & 0xFF,
                    Outcome.of((meta >>> 8) & 0xFF),
                    meta >>> 16));
        }
    }
}
