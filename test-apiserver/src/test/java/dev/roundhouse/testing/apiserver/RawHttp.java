package dev.roundhouse.testing.apiserver;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;

/** Plain HTTP requests, for what the Fabric8 client does not send (YAML apply bodies, Table Accept headers). */
final class RawHttp {

    record Response(int code, String contentType, String body, List<String> warnings) {
        JsonNode json() {
            try {
                return new ObjectMapper().readTree(body);
            } catch (IOException e) {
                throw new AssertionError("not JSON: " + body, e);
            }
        }
    }

    private static final HttpClient HTTP = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(10))
            .build();

    private RawHttp() {}

    static Response get(EmbeddedApiServer server, String path, String accept) {
        HttpRequest.Builder request =
                HttpRequest.newBuilder(URI.create(server.url() + path)).GET();
        if (accept != null) {
            request.header("Accept", accept);
        }
        return send(request);
    }

    static Response post(EmbeddedApiServer server, String path, String contentType, String body) {
        return send(HttpRequest.newBuilder(URI.create(server.url() + path))
                .POST(HttpRequest.BodyPublishers.ofString(body))
                .header("Content-Type", contentType));
    }

    static Response put(EmbeddedApiServer server, String path, String contentType, String body) {
        return send(HttpRequest.newBuilder(URI.create(server.url() + path))
                .PUT(HttpRequest.BodyPublishers.ofString(body))
                .header("Content-Type", contentType));
    }

    static Response patch(EmbeddedApiServer server, String path, String contentType, String body) {
        return send(HttpRequest.newBuilder(URI.create(server.url() + path))
                .method("PATCH", HttpRequest.BodyPublishers.ofString(body))
                .header("Content-Type", contentType));
    }

    private static Response send(HttpRequest.Builder request) {
        try {
            HttpResponse<String> response =
                    HTTP.send(request.timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
            return new Response(
                    response.statusCode(),
                    response.headers().firstValue("Content-Type").orElse(null),
                    response.body(),
                    response.headers().allValues("Warning"));
        } catch (IOException e) {
            throw new AssertionError(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }
}
