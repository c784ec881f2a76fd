package dev.roundhouse.testing;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/** A small HTTP client for tests. */
public final class Http {

    private static final HttpClient CLIENT = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5))
            .build();

    private Http() {}

    public static HttpClient client() {
        return CLIENT;
    }

    public static HttpResponse<String> get(String url) {
        return send(HttpRequest.newBuilder(URI.create(url))
                .timeout(Duration.ofSeconds(20))
                .GET()
                .build());
    }

    /** A client of its own (its own connections) that trusts the one certificate in {@code pem}; HTTP/1.1. */
    public static HttpClient trusting(String pem) {
        return trusting(pem, HttpClient.Version.HTTP_1_1);
    }

    public static HttpClient trusting(String pem, HttpClient.Version version) {
        return HttpClient.newBuilder()
                .sslContext(ServerPem.trusting(pem))
                .version(version)
                .connectTimeout(Duration.ofSeconds(5))
                .build();
    }

    /** GET with {@code client}, the body as text. */
    public static HttpResponse<String> get(HttpClient client, String url) {
        try {
            return client.send(
                    HttpRequest.newBuilder(URI.create(url))
                            .timeout(Duration.ofSeconds(10))
                            .build(),
                    HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    public static HttpResponse<String> send(HttpRequest request) {
        try {
            return CLIENT.send(request, HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
