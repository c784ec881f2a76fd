package dev.roundhouse.bench.reload;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/** Rewrites {@code POOL_FILE} atomically (write a temporary file, rename it over the old one). */
final class FilePoolChanger implements PoolChanger {

    private final Path file;
    private final Map<String, String> urls;

    FilePoolChanger(Path file, Map<String, String> urls) {
        this.file = file;
        this.urls = urls;
    }

    @Override
    public void apply(List<String> pool) throws Exception {
        PoolDocuments.writeAtomically(file, PoolDocuments.text(pool, urls));
    }

    @Override
    public String describe() {
        return "POOL_FILE " + file + " rewritten atomically (temporary file + rename)";
    }
}
