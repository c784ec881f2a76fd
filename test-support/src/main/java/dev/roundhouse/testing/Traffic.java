package dev.roundhouse.testing;

import java.net.URI;
import java.net.http.HttpClient;
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

    /** Starts {@code clientCount} clients for at most two minutes (a failed test cannot leave them running). */
    public static Traffic start(URI target, int clientCount) {
        return start(target.toString(), clientCount, Duration.ofMinutes(2));
    }

    /** Starts {@code clientCount} clients; each stops after {@code atMost} or 200,000 requests at the latest. */
    public static Traffic start(String url, int clientCount, Duration atMost) {
        Traffic traffic = new Traffic(url, clientCount, atMost, 200_000);
        traffic.clients.forEach(Thread::start);
        return traffic;
    }

    private void run() {
        // A client of its own per thread: its own connections, as separate clients have.
        HttpClient client = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(2))
                .build();
        for (int i = 0; i < maxRequestsPerClient && !stopped && System.nanoTime() < deadlineNanos; i++) {
            HttpRequest request = HttpRequest.newBuilder(uri)
                    .timeout(Duration.ofSeconds(10))
                    .GET()
                    .build();
            long start = System.nanoTime();
            try {
                HttpResponse<String> response = client.send(request, HttpResponse.BodyHandlers.ofString());
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

    /** Requests answered with {@code body}. */
    public long answeredBy(String body) {
        return exchanges.stream().filter(e -> body.equals(e.body())).count();
    }

    @Override
    public void close() {
        stop();
    }
}
