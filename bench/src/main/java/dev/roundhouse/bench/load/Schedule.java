package dev.roundhouse.bench.load;

/**
 * When each request is meant to be sent: {@code rate} requests per second in total, spread evenly over
 * {@code connections} connections and interleaved, so that together they send one request every
 * {@code 1/rate} seconds. Request {@code k} of connection {@code c} is global request {@code g = k * connections + c}
 * and is due {@code g / rate} seconds after the start.
 *
 * <p>A connection that falls behind (its previous response came after its next due time) sends the next request at
 * once, and that request's latency is still measured from its due time: the time it spent waiting for the
 * connection is time a real client would have waited too. That is what makes the measurement free of coordinated
 * omission, as in wrk2.
 */
public final class Schedule {

    private final double rate;
    private final int connections;

    public Schedule(double rate, int connections) {
        if (!(rate > 0) || Double.isInfinite(rate)) {
            throw new IllegalArgumentException("rate must be a positive number of requests per second, got " + rate);
        }
        if (connections < 1) {
            throw new IllegalArgumentException("connections must be at least 1, got " + connections);
        }
        this.rate = rate;
        this.connections = connections;
    }

    public double rate() {
        return rate;
    }

    public int connections() {
        return connections;
    }

    /** Nanoseconds after the start at which request {@code k} (0-based) of connection {@code connection} is due. */
    public long dueNanos(int connection, long k) {
        if (connection < 0 || connection >= connections || k < 0) {
            throw new IllegalArgumentException("no request " + k + " on connection " + connection);
        }
        long global = k * connections + connection;
        return (long) Math.floor(global * 1e9 / rate);
    }

    /** How many requests connection {@code connection} has due strictly before {@code endNanos} after the start. */
    public long countBefore(int connection, long endNanos) {
        if (endNanos <= 0) {
            return 0;
        }
        // Largest g with floor(g * 1e9 / rate) < endNanos, found near the estimate and then checked exactly.
        long g = (long) Math.ceil(endNanos * rate / 1e9) + 1;
        while (g > 0 && (long) Math.floor(g * 1e9 / rate) >= endNanos) {
            g--;
        }
        // g is the last global index due before the end (if floor(0) < end, g >= 0); count those of this connection
        if (g < connection) {
            return 0;
        }
        return (g - connection) / connections + 1;
    }

    /** Total requests due strictly before {@code endNanos}, over all connections. */
    public long totalBefore(long endNanos) {
        long n = 0;
        for (int c = 0; c < connections; c++) {
            n += countBefore(c, endNanos);
        }
        return n;
    }
}
