package dev.roundhouse.proxy.config;

import dev.roundhouse.poolformat.InvalidPoolDocumentException;
import dev.roundhouse.poolformat.PoolDocument;
import dev.roundhouse.poolformat.PoolDocumentCodec;
import dev.roundhouse.proxy.metrics.MetricNames;
import dev.roundhouse.proxy.metrics.ProxyMetrics;
import dev.roundhouse.proxy.pool.BackendPool;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * The one path every pool document takes, whatever its source (environment, file, ConfigMap):
 * parse and validate, then apply to the pool, or keep the last good pool and say why.
 */
public final class PoolReloader {

    private static final Logger log = LogManager.getLogger(PoolReloader.class);

    private final BackendPool pool;
    private final ProxyMetrics metrics;
    private final Consumer<BackendPool.Change> onApplied;
    private String lastInvalidHash;
    private final Outcomes outcomes;

    /** Told of every document applied or refused, with what or why, after the fact. */
    @FunctionalInterface
    public interface Outcomes {
        Outcomes NONE = (applied, reason) -> {};

        void reloaded(boolean applied, String reason);
    }

    private volatile Applied applied;
    private volatile Rejected rejected;

    /** The live document as the status page shows it. */
    public record Applied(int version, String hash, String source, Instant at) {}

    /** A document refused after the live one, and why. */
    public record Rejected(String source, Instant at, String reason) {}

    /**
     * Runs the document path (hash, parse, validate) {@code rounds} times on a sample document, before the
     * proxy serves. A reload runs that code a few times per change, too rarely for the JIT to compile it, so
     * without this it runs interpreted and gets compiled a method at a time, over hundreds of reloads, on
     * the CPU the requests are served on (measured in docs/benchmark-history.md). Returns the rounds run.
     */
    public static int warmUp(int rounds) {
        List<PoolDocument.BackendEntry> backends = new ArrayList<>();
        for (int i = 1; i <= 3; i++) {
            backends.add(
                    new PoolDocument.BackendEntry("http://192.0.2." + i + ":8080", 1)); // TEST-NET-1: never dialled
        }
        String text = PoolDocumentCodec.write(PoolDocument.of(backends));
        int done = 0;
        try {
            for (; done < rounds; done++) {
                PoolDocumentCodec.contentHash(text);
                PoolDocumentCodec.parse(text);
            }
        } catch (InvalidPoolDocumentException e) {
            throw new IllegalStateException("the sample document is valid", e);
        }
        return done;
    }

    public PoolReloader(BackendPool pool, ProxyMetrics metrics, Consumer<BackendPool.Change> onApplied) {
        this(pool, metrics, onApplied, Outcomes.NONE);
    }

    public PoolReloader(
            BackendPool pool, ProxyMetrics metrics, Consumer<BackendPool.Change> onApplied, Outcomes outcomes) {
        this.outcomes = outcomes;
        this.pool = pool;
        this.metrics = metrics;
        this.onApplied = onApplied;
    }

    /**
     * Applies the document text from {@code source}.
     *
     * @throws InvalidPoolDocumentException when it is invalid; the pool is left as it was
     */
    public synchronized BackendPool.Change apply(String source, String text) throws InvalidPoolDocumentException {
        String hash = PoolDocumentCodec.contentHash(text);
        PoolDocument document;
        try {
            document = PoolDocumentCodec.parse(text);
        } catch (InvalidPoolDocumentException e) {
            metrics.reload(MetricNames.RELOAD_INVALID);
            if (!hash.equals(lastInvalidHash)) { // say it once per bad version, not on every poll
                lastInvalidHash = hash;
                rejected = new Rejected(source, Instant.now(), e.getMessage());
                outcomes.reloaded(false, source + ": " + e.getMessage());
                log.error(
                        "Pool document from {} rejected, {}: {}",
                        source,
                        pool.loaded()
                                ? "keeping the last good pool"
                                : "no pool is loaded yet (answering 503 until one is)",
                        e.getMessage());
            }
            throw e;
        }
        return apply(source, document, hash);
    }

    /** Applies an already validated document (built from environment variables). */
    public synchronized BackendPool.Change apply(String source, PoolDocument document) {
        return apply(source, document, PoolDocumentCodec.contentHash(PoolDocumentCodec.write(document)));
    }

    /** The live document, null before the first. */
    public Applied applied() {
        return applied;
    }

    /** The last document refused since the live one was applied, or null. */
    public Rejected rejected() {
        return rejected;
    }

    private BackendPool.Change apply(String source, PoolDocument document, String hash) {
        BackendPool.Change change = pool.apply(document, hash);
        if (change.unchanged()) {
            return change;
        }
        lastInvalidHash = null;
        applied = new Applied(document.version(), hash, source, Instant.now());
        rejected = null;
        outcomes.reloaded(
                true,
                source + ": " + document.backends().size() + " backends ("
                        + change.added().size() + " added, " + change.removed().size() + " removed)");
        metrics.reload(MetricNames.RELOAD_APPLIED);
        metrics.configApplied(hash);
        log.info(
                "Pool from {} applied: {} backends ({} added, {} removed), document {}",
                source,
                document.backends().size(),
                change.added().size(),
                change.removed().size(),
                hash.substring(0, 12));
        onApplied.accept(change);
        return change;
    }
}
