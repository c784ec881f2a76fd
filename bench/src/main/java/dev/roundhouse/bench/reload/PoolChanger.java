package dev.roundhouse.bench.reload;

import java.util.List;

/** Gives the target a new pool: the backends named, by whatever mechanism the target reloads through. */
interface PoolChanger extends AutoCloseable {

    /** Applies {@code pool}; returns when the write (or command) is done, not when the target has picked it up. */
    void apply(List<String> pool) throws Exception;

    /** One line saying how. */
    String describe();

    @Override
    default void close() throws Exception {}
}
