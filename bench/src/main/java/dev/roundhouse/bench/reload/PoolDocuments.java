package dev.roundhouse.bench.reload;

import dev.roundhouse.poolformat.PoolDocument;
import dev.roundhouse.poolformat.PoolDocumentCodec;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Map;

/** Pool documents for a list of backend names, in the canonical form the operator writes. */
final class PoolDocuments {

    private PoolDocuments() {}

    /** The document for {@code pool}: each name's URL from {@code urls}, weight 1, every section at its defaults. */
    static String text(List<String> pool, Map<String, String> urls) {
        List<PoolDocument.BackendEntry> entries = pool.stream()
                .map(name -> {
                    String url = urls.get(name);
                    if (url == null) {
                        throw new IllegalArgumentException("no --backend " + name + "=URL given");
                    }
                    return new PoolDocument.BackendEntry(url, PoolDocument.BackendEntry.DEFAULT_WEIGHT);
                })
                .toList();
        return PoolDocumentCodec.write(PoolDocument.of(entries));
    }

    /** Writes {@code text} to {@code file} atomically: a temporary file in the same directory, then a rename. */
    static void writeAtomically(Path file, String text) throws IOException {
        Path dir = file.toAbsolutePath().getParent();
        Path tmp = Files.createTempFile(dir, "." + file.getFileName(), ".tmp");
        try {
            Files.writeString(tmp, text, StandardCharsets.UTF_8);
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }
}
