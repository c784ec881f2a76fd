package dev.roundhouse.e2e.testing;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Clients sending GET requests through the proxy without pause, each on its keep-alive connection, recording
 * every exchange, until {@link #close()} (or a time limit, so that a failed test cannot leave it running).
 */
public final class Traffic implements AutoCloseable {

    /** One exchange: when it was sent and answered ({@link System#nanoTime()}), and how. */
    public record Exchange(long sentNanos, long answeredNanos, int status, String body, String error) {
        public boolean ok() {
            return error == null && status == 200;
        }
    }

    private static final Duration LIMIT = Duration.ofMinutes(2);

    private final ConcurrentLinkedQueue<Exchange> exchanges = new ConcurrentLinkedQueue<>();
    private final List<Thread> threads = new ArrayList<>();
    private final CountDownLatch done;
    private volatile boolean stopping;

    private Traffic(URI target, int clients) {
        done = new CountDownLatch(clients);
        long end = System.nanoTime() + LIMIT.toNanos();
        for (int i = 0; i < clients; i++) {
            Thread thread = new Thread(() -> {
                HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                        .connectTimeout(Duration.ofSeconds(2)).build();
                HttpRequest request = HttpRequest.newBuilder(target).timeout(Duration.ofSeconds(10)).GET().build();
                try {
                    while (!stopping && System.nanoTime() < end) {
                        long sent = System.nanoTime();
                        try {
                            HttpResponse<String> response = client.send(request, HttpResponse.BodyHandlers.ofString());
                            exchanges.add(new Exchange(sent, System.nanoTime(), response.statusCode(), response.body(), null));
                        } catch (IOException e) {
                            exchanges.add(new Exchange(sent, System.nanoTime(), 0, null, e.toString()));
                        }
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                } finally {
                    done.countDown();
                }
            }, "traffic-" + i);
            thread.setDaemon(true);
            threads.add(thread);
        }
    }

    /** Starts {@code clients} clients sending to {@code target}. */
    public static Traffic start(URI target, int clients) {
        Traffic traffic = new Traffic(target, clients);
        traffic.threads.forEach(Thread::start);
        return traffic;
    }

    /** The exchanges so far, in no particular order. */
    public List<Exchange> exchanges() {
        return List.copyOf(exchanges);
    }

    public long answeredBy(String body) {
        return exchanges.stream().filter(e -> body.equals(e.body())).count();
    }

    /** Stops the clients and waits for their last exchanges. */
    @Override
    public void close() throws InterruptedException {
        stopping = true;
        if (!done.await(15, TimeUnit.SECONDS)) {
            threads.forEach(Thread::interrupt);
        }
    }
}
