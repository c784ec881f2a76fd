package dev.roundhouse.proxy.config;

import dev.roundhouse.poolformat.InvalidPoolDocumentException;
import dev.roundhouse.poolformat.PoolDocumentCodec;
import java.io.FileInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.Path;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchEvent;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * Follows {@code POOL_FILE}. File-system events on its directory (inotify on Linux) trigger a read
 * at once, so a change is applied within milliseconds; a read on a fixed interval backs them up,
 * since events can be lost (queue overflow, network file systems) and polling sees every way a
 * file can be replaced. A read (20 ms after the first event of a burst) reloads only when the bytes
 * changed. Watching the directory rather than the file also catches the symlink swap Kubernetes uses
 * for mounted ConfigMaps ({@code ..data}).
 *
 * <p>One thread ({@code pool-file}) waits for both the events and the interval, and reads and applies
 * the file itself, so documents are applied in the order they were read, and a change wakes one thread
 * of ours instead of two: on the CPU that serves the requests, each hand-off costs them time.
 */
public final class PoolFileWatcher implements AutoCloseable {

    private static final Logger log = LogManager.getLogger(PoolFileWatcher.class);
    /**
     * How long a read waits after the first event of a burst: a file rewritten in place (truncate, then
     * write) sends several events, and reading at the first could see it half written.
     */
    static final long SETTLE_MILLIS = 20;

    private final Path file;
    private final String name;
    private final PoolReloader reloader;
    /** For tests: batches of directory events handled, and how many of them concerned the file. */
    private final AtomicLong eventBatches = new AtomicLong();

    private final AtomicLong concerningBatches = new AtomicLong();
    private volatile WatchService events; // null when the directory cannot be (or no longer is) watched
    private volatile boolean closed;
    private Thread thread;
    private byte[] lastSeen;
    private boolean unreadable;

    public PoolFileWatcher(Path file, PoolReloader reloader) {
        this.file = file;
        this.name = file.getFileName().toString();
        this.reloader = reloader;
    }

    /**
     * Reads and validates the pool file as start-up will, without applying it.
     *
     * @throws InvalidSettingsException naming POOL_FILE, the file and what is wrong with it
     */
    public static void checkInitial(Path file) throws InvalidSettingsException {
        String problem;
        try {
            PoolDocumentCodec.parse(new String(read(file), StandardCharsets.UTF_8));
            return;
        } catch (java.nio.file.NoSuchFileException | java.io.FileNotFoundException e) {
            problem = java.nio.file.Files.exists(file) ? "cannot be read (" + e.getMessage() + ")" : "no such file";
        } catch (IOException e) {
            problem = "cannot be read: " + e.getMessage();
        } catch (InvalidPoolDocumentException e) {
            problem = e.getMessage();
        }
        throw new InvalidSettingsException(List.of("POOL_FILE: " + file + ": " + problem));
    }

    /** Loads the file once; start-up fails with a clear message when it is missing or invalid. */
    public void loadInitial() throws IOException, InvalidPoolDocumentException {
        byte[] bytes = read(file);
        lastSeen = bytes;
        reloader.apply(file.toString(), new String(bytes, StandardCharsets.UTF_8));
    }

    /** Starts following the file: on its directory's events, and every {@code interval} in any case. */
    public void start(Duration interval) {
        Path dir = file.toAbsolutePath().getParent();
        try {
            WatchService watch = dir.getFileSystem().newWatchService();
            events = watch;
            dir.register(
                    watch,
                    StandardWatchEventKinds.ENTRY_CREATE,
                    StandardWatchEventKinds.ENTRY_MODIFY,
                    StandardWatchEventKinds.ENTRY_DELETE);
        } catch (IOException | UnsupportedOperationException e) {
            stopWatching();
            log.warn(
                    "No file-system events for {} ({}); changes are seen by reading it every {} ms",
                    dir,
                    e.toString(),
                    interval.toMillis());
        }
        thread = new Thread(() -> follow(interval.toNanos()), "pool-file");
        thread.setDaemon(true);
        thread.start();
    }

    private void follow(long intervalNanos) {
        long nextRead = System.nanoTime() + intervalNanos;
        try {
            while (!closed) {
                long wait = nextRead - System.nanoTime();
                if (wait > 0 && !readNow(wait)) {
                    continue;
                }
                readAndApply();
                nextRead = System.nanoTime() + intervalNanos;
            }
        } catch (InterruptedException | ClosedWatchServiceException e) {
            // closed
        } catch (RuntimeException e) {
            log.error("Following pool file {} stopped; the pool stays as it is", file, e);
        }
    }

    /**
     * Waits up to {@code nanos} for events; true when the file should be read now: the interval is up, or
     * a burst of events concerning the file has settled.
     */
    private boolean readNow(long nanos) throws InterruptedException {
        WatchService watch = events;
        if (watch == null) {
            TimeUnit.NANOSECONDS.sleep(nanos);
            return true;
        }
        WatchKey key = watch.poll(nanos, TimeUnit.NANOSECONDS);
        if (key == null) {
            return true;
        }
        if (!concernsFile(key)) {
            return false;
        }
        Thread.sleep(SETTLE_MILLIS);
        for (WatchKey more; (watch = events) != null && (more = watch.poll()) != null; ) {
            concernsFile(more); // the rest of the burst: this read covers it
        }
        return true;
    }

    /**
     * Whether a batch of events concerns the file: events naming it, the kubelet's {@code ..}-prefixed
     * entries (its {@code ..data} symlink swap), and lost events. Other files in the directory are
     * ignored, so a busy directory does not cause reads.
     */
    private boolean concernsFile(WatchKey key) {
        boolean concerned = false;
        for (WatchEvent<?> event : key.pollEvents()) {
            Object context = event.context();
            concerned |= event.kind() == StandardWatchEventKinds.OVERFLOW
                    || context == null
                    || context.toString().equals(name)
                    || context.toString().startsWith("..");
        }
        if (concerned) {
            concerningBatches.incrementAndGet();
        }
        eventBatches.incrementAndGet();
        if (!key.reset()) {
            log.warn("Directory of {} no longer watchable; changes are seen by the interval read only", file);
            stopWatching();
        }
        return concerned;
    }

    long eventBatches() {
        return eventBatches.get();
    }

    long concerningBatches() {
        return concerningBatches.get();
    }

    private void readAndApply() {
        byte[] bytes;
        try {
            bytes = read(file);
        } catch (IOException e) {
            if (!unreadable) {
                unreadable = true;
                log.warn("Pool file {} unreadable, keeping the last good pool: {}", file, e.toString());
            }
            return;
        }
        unreadable = false;
        if (Arrays.equals(bytes, lastSeen)) {
            return;
        }
        lastSeen = bytes;
        try {
            reloader.apply(file.toString(), new String(bytes, StandardCharsets.UTF_8));
        } catch (InvalidPoolDocumentException e) {
            // already logged and counted by the reloader
        } catch (RuntimeException e) {
            log.error("Applying pool file {} failed, keeping the last good pool", file, e);
        }
    }

    /**
     * {@link FileInputStream} rather than {@code Files.readAllBytes}: it goes through far less JDK code,
     * and this code runs too rarely to be compiled: 160 µs a read in the proxy, interpreted, through
     * {@code Files} (measured, docs/benchmark-history.md).
     */
    private static byte[] read(Path file) throws IOException {
        try (FileInputStream in = new FileInputStream(file.toFile())) {
            return in.readAllBytes();
        }
    }

    private void stopWatching() {
        WatchService watch = events;
        events = null;
        if (watch != null) {
            try {
                watch.close();
            } catch (IOException ignored) {
                // nothing more to do with it
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        stopWatching();
        if (thread != null) {
            thread.interrupt();
        }
    }
}
