package dev.roundhouse.proxy.config;

import dev.roundhouse.poolformat.InvalidPoolDocumentException;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchEvent;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Follows {@code POOL_FILE}. File-system events on its directory (inotify on Linux) trigger a read
 * at once, so a change is applied within milliseconds; a read on a fixed interval backs them up,
 * since events can be lost (queue overflow, network file systems) and polling sees every way a
 * file can be replaced. A read (20 ms after the first event of a burst) reloads only when the bytes changed. Watching the directory rather
 * than the file also catches the symlink swap Kubernetes uses for mounted ConfigMaps ({@code ..data}).
 * All reads run on one thread, so documents are applied in the order they were read.
 */
public final class PoolFileWatcher implements AutoCloseable {

    private static final Logger log = LogManager.getLogger(PoolFileWatcher.class);
    /**
     * How long a read waits after the first event of a burst: a file rewritten in place (truncate, then
     * write) sends several events, and reading at the first could see it half written.
     */
    static final long SETTLE_MILLIS = 20;

    private final Path file;
    private final PoolReloader reloader;
    private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor(r -> daemon(r, "pool-file"));
    private final AtomicBoolean readPending = new AtomicBoolean();
    /** For tests: batches of directory events handled, and how many of them concerned the file. */
    private final AtomicLong eventBatches = new AtomicLong();
    private final AtomicLong concerningBatches = new AtomicLong();
    private WatchService events;
    private byte[] lastSeen;
    private boolean unreadable;

    public PoolFileWatcher(Path file, PoolReloader reloader) {
        this.file = file;
        this.reloader = reloader;
    }

    private static Thread daemon(Runnable r, String name) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        return t;
    }

    /** Loads the file once; start-up fails with a clear message when it is missing or invalid. */
    public void loadInitial() throws IOException, InvalidPoolDocumentException {
        byte[] bytes = Files.readAllBytes(file);
        lastSeen = bytes;
        reloader.apply(file.toString(), new String(bytes, StandardCharsets.UTF_8));
    }

    /** Starts following the file: on its directory's events, and every {@code interval} in any case. */
    public void start(Duration interval) {
        scheduler.scheduleWithFixedDelay(this::poll, interval.toMillis(), interval.toMillis(), TimeUnit.MILLISECONDS);
        Path dir = file.toAbsolutePath().getParent();
        try {
            events = dir.getFileSystem().newWatchService();
            dir.register(events, StandardWatchEventKinds.ENTRY_CREATE, StandardWatchEventKinds.ENTRY_MODIFY,
                    StandardWatchEventKinds.ENTRY_DELETE);
            daemon(this::followEvents, "pool-file-events").start();
        } catch (IOException | UnsupportedOperationException e) {
            log.warn("No file-system events for {} ({}); changes are seen by reading it every {} ms",
                    dir, e.toString(), interval.toMillis());
        }
    }

    /**
     * Turns each burst of events that concern the file into one read: events naming the file, the
     * kubelet's {@code ..}-prefixed entries (its {@code ..data} symlink swap), and lost events. Other
     * files in the directory are ignored, so a busy directory does not cause reads.
     */
    private void followEvents() {
        String name = file.getFileName().toString();
        try {
            while (true) {
                WatchKey key = events.take();
                boolean concerned = false;
                for (WatchEvent<?> event : key.pollEvents()) {
                    Object context = event.context();
                    concerned |= event.kind() == StandardWatchEventKinds.OVERFLOW || context == null
                            || context.toString().equals(name) || context.toString().startsWith("..");
                }
                if (concerned) {
                    concerningBatches.incrementAndGet();
                    if (readPending.compareAndSet(false, true)) {
                        scheduler.schedule(() -> {
                            readPending.set(false);
                            poll();
                        }, SETTLE_MILLIS, TimeUnit.MILLISECONDS);
                    }
                }
                eventBatches.incrementAndGet();
                if (!key.reset()) {
                    log.warn("Directory of {} no longer watchable; changes are seen by the interval read only", file);
                    return;
                }
            }
        } catch (InterruptedException | ClosedWatchServiceException | RejectedExecutionException e) {
            // closed
        }
    }

    long eventBatches() {
        return eventBatches.get();
    }

    long concerningBatches() {
        return concerningBatches.get();
    }

    private void poll() {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
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

    @Override
    public void close() {
        scheduler.shutdownNow();
        if (events != null) {
            try {
                events.close();
            } catch (IOException ignored) {
                // nothing to do at shutdown
            }
        }
    }
}
