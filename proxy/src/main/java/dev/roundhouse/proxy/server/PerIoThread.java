package dev.roundhouse.proxy.server;

import java.util.Arrays;
import java.util.function.Consumer;
import java.util.function.Function;
import org.xnio.XnioIoThread;

/**
 * One value per I/O thread, found by the thread's number in an array: no {@link ThreadLocal} or map lookup on
 * the request path. Each thread reads and writes only its own entry; the array grows under a lock.
 */
public final class PerIoThread<T> {

    private record Entry(Thread owner, Object value) {}

    private final Function<XnioIoThread, T> create;
    private volatile Entry[] entries = new Entry[0];

    public PerIoThread(Function<XnioIoThread, T> create) {
        this.create = create;
    }

    /**
     * The calling I/O thread's value, created on its first call, or null when the thread's number belongs to
     * another thread (one of another worker) that came first.
     */
    @SuppressWarnings("unchecked")
    public T get(XnioIoThread io) {
        int n = io.getNumber();
        Entry[] all = entries;
        Entry entry = n < all.length ? all[n] : null;
        if (entry == null) {
            entry = add(io, n);
        }
        return entry.owner == io ? (T) entry.value : null;
    }

    /** Every value created so far. */
    @SuppressWarnings("unchecked")
    public synchronized void forEach(Consumer<T> action) {
        for (Entry entry : entries) {
            if (entry != null) {
                action.accept((T) entry.value);
            }
        }
    }

    private synchronized Entry add(XnioIoThread io, int n) {
        Entry[] all = entries;
        if (n >= all.length) {
            all = Arrays.copyOf(all, n + 1);
        }
        if (all[n] == null) {
            all[n] = new Entry(io, create.apply(io));
            entries = all;
        }
        return all[n];
    }
}
