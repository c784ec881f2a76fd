package dev.roundhouse.proxy.config;

import dev.roundhouse.poolformat.InvalidPoolDocumentException;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Follows {@code POOL_FILE}. It reads the file on a short interval and reloads when the bytes
 * change: polling a small file is cheap, and unlike file-system events it sees every way a file
 * can be replaced, including the symlink swap Kubernetes uses for mounted ConfigMaps.
 */
public final class PoolFileWatcher implements AutoCloseable {

    private static final Logger log = LogManager.getLogger(PoolFileWatcher.class);

    private final Path file;
    private final PoolReloader reloader;
    private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "pool-file");
        t.setDaemon(true);
        return t;
    });
    private byte[] lastSeen;
    private boolean unreadable;

    public PoolFileWatcher(Path file, PoolReloader reloader) {
        this.file = file;
        this.reloader = reloader;
    }

    /** Loads the file once; start-up fails with a clear message when it is missing or invalid. */
    public void loadInitial() throws IOException, InvalidPoolDocumentException {
        byte[] bytes = Files.readAllBytes(file);
        lastSeen = bytes;
        reloader.apply(file.toString(), new String(bytes, StandardCharsets.UTF_8));
    }

    public void start(Duration interval) {
        scheduler.scheduleWithFixedDelay(this::poll, interval.toMillis(), interval.toMillis(), TimeUnit.MILLISECONDS);
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
    }
}
