package dev.roundhouse.e2e.demo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The local mode's way to take a demo backend down and bring it back: POST stop, POST start, on loopback. */
class DemoControlTest {

    private final HttpClient http = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(2))
            .build();
    private DemoBackends backends;
    private DemoControl control;

    @BeforeEach
    void start() throws IOException {
        backends = DemoBackends.start(List.of(0, 0, 0));
        control = DemoControl.start(backends, 0);
    }

    @AfterEach
    void stop() {
        control.close();
        backends.close();
    }

    @Test
    void aStoppedBackendRefusesConnectionsAndAStartedOneAnswersOnItsPortAgain() throws Exception {
        int port = backends.backend("demo-backend-2").orElseThrow().port();
        assertThat(get("http://127.0.0.1:" + port + "/").body()).startsWith("Hello from demo-backend-2");

        HttpResponse<String> stopped = post(control.url("demo-backend-2", "stop"));
        assertThat(stopped.statusCode()).as(stopped.body()).isEqualTo(200);
        assertThatThrownBy(() -> new Socket(InetAddress.getLoopbackAddress(), port).close())
                .as("a connection to the stopped backend's port")
                .isInstanceOf(ConnectException.class);
        int other = backends.backend("demo-backend-1").orElseThrow().port();
        assertThat(get("http://127.0.0.1:" + other + "/").statusCode())
                .as("the others run on")
                .isEqualTo(200);
        assertThat(get("http://127.0.0.1:" + control.port() + "/demo-backends").body())
                .contains(
                        "demo-backend-2 127.0.0.1:" + port + " stopped",
                        "demo-backend-1 127.0.0.1:" + other + " running");
        assertThat(post(control.url("demo-backend-2", "stop")).statusCode())
                .as("stopping a stopped backend")
                .isEqualTo(200);

        HttpResponse<String> started = post(control.url("demo-backend-2", "start"));
        assertThat(started.statusCode()).as(started.body()).isEqualTo(200);
        HttpResponse<String> answer = get("http://127.0.0.1:" + port + "/");
        assertThat(answer.statusCode()).isEqualTo(200);
        assertThat(answer.body()).startsWith("Hello from demo-backend-2");
        assertThat(get("http://127.0.0.1:" + port + "/healthz").statusCode()).isEqualTo(200);
    }

    @Test
    void anUnknownBackendIsNotFoundAndTheAnswerNamesTheOthers() throws Exception {
        HttpResponse<String> response = post(control.url("demo-backend-9", "stop"));
        assertThat(response.statusCode()).isEqualTo(404);
        assertThat(response.body()).contains("demo-backend-1", "demo-backend-2", "demo-backend-3");
        assertThat(post("http://127.0.0.1:" + control.port() + "/elsewhere").statusCode())
                .isEqualTo(404);
    }

    @Test
    void onlyAPostStopsOrStarts() throws Exception {
        HttpResponse<String> response = get(control.url("demo-backend-2", "stop"));
        assertThat(response.statusCode()).isEqualTo(405);
        assertThat(response.headers().firstValue("Allow")).contains("POST");
        assertThat(backends.backend("demo-backend-2").orElseThrow().running()).isTrue();
    }

    private HttpResponse<String> get(String uri) throws IOException, InterruptedException {
        return http.send(
                HttpRequest.newBuilder(URI.create(uri))
                        .timeout(Duration.ofSeconds(10))
                        .GET()
                        .build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private HttpResponse<String> post(String uri) throws IOException, InterruptedException {
        return http.send(
                HttpRequest.newBuilder(URI.create(uri))
                        .timeout(Duration.ofSeconds(10))
                        .POST(HttpRequest.BodyPublishers.noBody())
                        .build(),
                HttpResponse.BodyHandlers.ofString());
    }
}
