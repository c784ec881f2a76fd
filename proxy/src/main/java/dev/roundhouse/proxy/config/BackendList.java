package dev.roundhouse.proxy.config;

import dev.roundhouse.poolformat.BackendProtocol;
import dev.roundhouse.poolformat.BackendUrls;
import dev.roundhouse.poolformat.PoolDocument;
import java.util.ArrayList;
import java.util.List;

/**
 * Parses {@code BACKENDS}: comma-separated URLs, each optionally followed by {@code ;weight=N} and
 * {@code ;protocol=P} ({@code http/1.1}, {@code h2c} or {@code h2}), e.g.
 * {@code http://a:3000;weight=3,http://b:50051;protocol=h2c}.
 */
public final class BackendList {

    private BackendList() {}

    public static List<PoolDocument.BackendEntry> parse(String text) {
        List<PoolDocument.BackendEntry> entries = new ArrayList<>();
        String[] items = text.split(",", -1);
        for (int i = 0; i < items.length; i++) {
            String item = items[i].trim();
            String where = "entry " + (i + 1) + " ('" + item + "')";
            if (item.isEmpty()) {
                throw new IllegalArgumentException(where + ": empty entry");
            }
            String[] parts = item.split(";", -1);
            String url = parts[0].trim();
            int weight = PoolDocument.BackendEntry.DEFAULT_WEIGHT;
            BackendProtocol protocol = BackendProtocol.DEFAULT;
            for (int p = 1; p < parts.length; p++) {
                String option = parts[p].trim();
                if (option.startsWith("protocol=")) {
                    String name = option.substring("protocol=".length()).trim();
                    protocol = BackendProtocol.named(name);
                    if (protocol == null) {
                        throw new IllegalArgumentException(where + ": protocol must be one of "
                                + BackendProtocol.names() + ", got '" + name + "'");
                    }
                    continue;
                }
                if (!option.startsWith("weight=")) {
                    throw new IllegalArgumentException(
                            where + ": unknown option '" + option + "' (weight=N or protocol=P)");
                }
                try {
                    weight = Integer.parseInt(
                            option.substring("weight=".length()).trim());
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException(where + ": weight must be an integer 1..1000");
                }
                if (weight < 1 || weight > 1000) {
                    throw new IllegalArgumentException(where + ": weight must be between 1 and 1000, got " + weight);
                }
            }
            String scheme;
            try {
                scheme = BackendUrls.parse(url).getScheme();
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(where + ": " + e.getMessage());
            }
            if (!protocol.fits(scheme)) {
                throw new IllegalArgumentException(
                        where + ": protocol " + protocol.wireName() + " needs an " + protocol.scheme() + " URL");
            }
            entries.add(new PoolDocument.BackendEntry(BackendUrls.key(url), weight, protocol));
        }
        return entries;
    }
}
