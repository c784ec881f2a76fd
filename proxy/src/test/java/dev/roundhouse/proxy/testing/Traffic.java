package dev.roundhouse.proxy.testing;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Clients sending GETs to a URL back to back on keep-alive connections (the JDK client, HTTP/1.1),
 * each on its own thread, until {@link #close()} or a deadline. Every exchange is recorded with its
 * start and end times, so a test can tell which pool was live while it ran.
 */
public final class Traffic implements AutoCloseable {

    /** One request: times from {@link System#nanoTime()}; status -1 and error set when it failed. */
    public record Exchange(long startNanos, long endNanos, int status, String body, String error) {
        public boolean ok() {
            return status == 200 && error == null;
        }
    }

    private final URI uri;
    private final long deadlineNanos;
    private final int maxRequestsPerClient;
    private final ConcurrentLinkedQueue<Exchange> exchanges = new ConcurrentLinkedQueue<>();
    private final AtomicInteger completed = new AtomicInteger();
    private final List<Thread> clients = new ArrayList<>();
    private volatile boolean stopped;

    private Traffic(String url, int clientCount, Duration atMost, int maxRequestsPerClient) {
        this.uri = URI.create(url);
        this.deadlineNanos = System.nanoTime() + atMost.toNanos();
        this.maxRequestsPerClient = maxRequestsPerClient;
        for (int i = 0; i < clientCount; i++) {
            Thread t = new Thread(this::run, "traffic-" + i);
            t.setDaemon(true);
            clients.add(t);
        }
    }

    /** Starts {@code clientCount} clients; each stops after {@code atMost} or 200,000 requests at the latest. */
    public static Traffic start(String url, int clientCount, Duration atMost) {
        Traffic traffic = new Traffic(url, clientCount, atMost, 200_000);
        traffic.clients.forEach(Thread::start);
        return traffic;
    }

    private void run() {
        for (int i = 0; i < maxRequestsPerClient && !stopped && System.nanoTime() < deadlineNanos; i++) {
            HttpRequest request = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(10)).GET().build();
            long start = System.nanoTime();
            try {
                HttpResponse<String> response = Http.client().send(request, HttpResponse.BodyHandlers.ofString());
                exchanges.add(new Exchange(start, System.nanoTime(), response.statusCode(), response.body(), null));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } catch (Exception e) {
                exchanges.add(new Exchange(start, System.nanoTime(), -1, null, e.toString()));
            }
            completed.incrementAndGet();
        }
    }

    public int clientCount() {
        return clients.size();
    }

    /** Requests answered (or failed) so far. */
    public int completed() {
        return completed.get();
    }

    /** True while at least one client still sends (none has hit the deadline or its request budget). */
    public boolean running() {
        return clients.stream().anyMatch(Thread::isAlive);
    }

    /** Stops the clients after their current request and waits for them. */
    public List<Exchange> stop() {
        stopped = true;
        for (Thread t : clients) {
            try {
                t.join(Duration.ofSeconds(15).toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        return List.copyOf(exchanges);
    }

    public List<Exchange> exchanges() {
        return List.copyOf(exchanges);
    }

    @Override
    public void close() {
        stop();
    }
}
